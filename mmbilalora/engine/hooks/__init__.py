from .bilalora_hook import BiLaLoRAHook, rank_gates

__all__ = ['BiLaLoRAHook', 'rank_gates']
