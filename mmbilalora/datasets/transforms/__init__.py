from .loading import LoadImageFromFileChecked
from .synthetic_haze import SyntheticHaze

__all__ = ['LoadImageFromFileChecked', 'SyntheticHaze']
