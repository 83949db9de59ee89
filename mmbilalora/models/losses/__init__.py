from .clip_haze_clear_loss import CLIPHazeClearLoss

__all__ = ['CLIPHazeClearLoss']
