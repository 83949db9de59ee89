"""LoRA for any MMagic network, split as PEFT splits it: the layers (:mod:`.layers`, :mod:`.gate`),
LoRA on a model (:mod:`.model`: injection, removal, merging), adapter files
(:mod:`.serialization`) and the adapter bank (:mod:`.bank`)."""
from .bank import AdapterBank
from .gate import LayerGate
from .layers import LoRAConv2d, LoRALayerMixin, LoRALinear, LoRAMultiheadAttention
from .model import (InjectionReport, architecture_fingerprint, block_of, find_target_layers,
                    inject_lora, layer_gates, lora_layers, merge_lora, remove_lora,
                    resolve_search_space)
from .serialization import (extract_adapter, fit_adapter, load_adapter, read_adapter,
                            save_adapter, save_merged_checkpoint)

__all__ = [
    'AdapterBank', 'LayerGate', 'LoRAConv2d', 'LoRALinear', 'LoRAMultiheadAttention',
    'LoRALayerMixin', 'InjectionReport', 'inject_lora', 'block_of', 'resolve_search_space',
    'find_target_layers', 'lora_layers', 'layer_gates', 'remove_lora', 'merge_lora',
    'architecture_fingerprint', 'extract_adapter', 'fit_adapter', 'save_adapter',
    'read_adapter', 'load_adapter', 'save_merged_checkpoint'
]
