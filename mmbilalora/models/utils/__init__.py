from .padding import pad_to_multiple, reflect_pad
from .resize import resize_bicubic, resize_to_multiple

__all__ = ['pad_to_multiple', 'reflect_pad', 'resize_bicubic', 'resize_to_multiple']
