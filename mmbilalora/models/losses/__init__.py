from .clip_haze_clear_loss import CLIPHazeClearLoss
from .clip_weights import CLIPWeightsUnavailable, build_frozen_clip

__all__ = ['CLIPHazeClearLoss', 'CLIPWeightsUnavailable', 'build_frozen_clip']
