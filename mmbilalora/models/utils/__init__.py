from .padding import pad_to_multiple, reflect_pad

__all__ = ['pad_to_multiple', 'reflect_pad']
