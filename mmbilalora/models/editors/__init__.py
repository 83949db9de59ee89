from .bilalora_dehazer import BiLaLoRADehazer
from .dea_net import DEANet, reparameterize_dea_net
from .dehaze_edit_model import DehazeEditModel
from .dehazeformer import DehazeFormer

__all__ = ['BiLaLoRADehazer', 'DEANet', 'DehazeEditModel', 'DehazeFormer', 'reparameterize_dea_net']
