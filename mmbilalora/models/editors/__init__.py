from .bilalora_dehazer import BiLaLoRADehazer
from .dea_net import DEANet, reparameterize_dea_net
from .dehazeformer import DehazeFormer

__all__ = ['BiLaLoRADehazer', 'DEANet', 'DehazeFormer', 'reparameterize_dea_net']
