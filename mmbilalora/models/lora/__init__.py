from .gate import LayerGate
from .inject import (InjectionReport, block_of, find_target_layers, inject_lora, layer_gates,
                     lora_layers, remove_lora, resolve_search_space)
from .layers import LoRAConv2d, LoRALayerMixin, LoRALinear, LoRAMultiheadAttention
from .merge import (architecture_fingerprint, attach_adapter, extract_adapter, load_adapter,
                    merge_lora, read_adapter, save_adapter, save_merged_checkpoint)
from .bank import (AdapterBank, active_adapter, adapter_bank, adapter_info, add_adapter,
                   list_adapters, set_adapter)

__all__ = [
    'LayerGate', 'LoRAConv2d', 'LoRALinear', 'LoRAMultiheadAttention', 'LoRALayerMixin',
    'InjectionReport', 'inject_lora', 'block_of', 'resolve_search_space', 'find_target_layers',
    'lora_layers', 'layer_gates', 'remove_lora', 'merge_lora', 'extract_adapter', 'save_adapter',
    'read_adapter', 'load_adapter', 'attach_adapter', 'architecture_fingerprint',
    'save_merged_checkpoint', 'AdapterBank', 'adapter_bank', 'add_adapter', 'set_adapter',
    'active_adapter', 'list_adapters', 'adapter_info'
]
