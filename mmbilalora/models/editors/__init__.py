from .dehazeformer import DehazeFormer

__all__ = ['DehazeFormer']
