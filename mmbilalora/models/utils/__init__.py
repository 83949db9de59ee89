from .dark_channel_prior import (DarkChannelPrior, dark_channel, estimate_airlight,
                                 holding_image_statistics)
from .guided_filter import box_mean, guided_filter
from .padding import pad_to_multiple, reflect_pad
from .resize import resize_bicubic, resize_to_multiple

__all__ = ['DarkChannelPrior', 'box_mean', 'dark_channel', 'estimate_airlight', 'guided_filter',
           'holding_image_statistics', 'pad_to_multiple', 'reflect_pad', 'resize_bicubic',
           'resize_to_multiple']
