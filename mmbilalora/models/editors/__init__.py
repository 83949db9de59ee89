from .bilalora_dehazer import BiLaLoRADehazer
from .dea_net import DEANet, reparameterize_dea_net
from .dehaze_edit_model import DehazeEditModel
from .dehazeformer import DehazeFormer
from .prior_refined_dehazer import PriorRefinedDehazer

__all__ = ['BiLaLoRADehazer', 'DEANet', 'DehazeEditModel', 'DehazeFormer', 'PriorRefinedDehazer',
           'reparameterize_dea_net']
