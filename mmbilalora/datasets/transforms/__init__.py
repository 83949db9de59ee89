from .loading import LoadImageFromFileChecked
from .random_square_crop import RandomSquareCrop
from .sensor_noise_jpeg import SensorNoiseJPEG
from .synthetic_haze import SyntheticHaze

__all__ = ['LoadImageFromFileChecked', 'RandomSquareCrop', 'SensorNoiseJPEG', 'SyntheticHaze']
