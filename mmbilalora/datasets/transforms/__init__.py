from .loading import LoadImageFromFileChecked
from .random_square_crop import RandomSquareCrop
from .synthetic_haze import SyntheticHaze

__all__ = ['LoadImageFromFileChecked', 'RandomSquareCrop', 'SyntheticHaze']
