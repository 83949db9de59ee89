from .dark_channel_prior import (DarkChannelPrior, dark_channel, estimate_airlight,
                                 holding_image_statistics)
from .exposure_floor import (ExposureFloor, deferring_exposure_floors, lift_curve,
                             lift_strength)
from .guided_filter import box_mean, guided_filter
from .padding import pad_to_multiple, reflect_pad
from .resize import resize_bicubic, resize_to_multiple

__all__ = ['DarkChannelPrior', 'ExposureFloor', 'box_mean', 'dark_channel',
           'deferring_exposure_floors', 'estimate_airlight', 'guided_filter',
           'holding_image_statistics', 'lift_curve', 'lift_strength', 'pad_to_multiple',
           'reflect_pad', 'resize_bicubic', 'resize_to_multiple']
