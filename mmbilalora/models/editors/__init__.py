from .bilalora_dehazer import BiLaLoRADehazer
from .dehazeformer import DehazeFormer

__all__ = ['BiLaLoRADehazer', 'DehazeFormer']
