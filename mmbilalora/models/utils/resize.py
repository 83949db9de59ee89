"""Bicubic antialiased resizing as the authors' test script does it (torchvision ``Resize``)."""
from typing import Tuple

import torch
import torch.nn.functional as F


def resize_bicubic(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Resize (N, C, H, W) float to ``size`` (bicubic, antialiased, ``align_corners=False``):
    what torchvision's ``Resize(size, BICUBIC, antialias=True)`` does on a float tensor,
    including returning the input unchanged when it already has that size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bicubic', align_corners=False,
                         antialias=True)


def resize_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Resize (N, C, H, W) to (H // multiple * multiple, W // multiple * multiple) with
    :func:`resize_bicubic` (the authors' test-time sizing for ``multiple=16``)."""
    h, w = x.shape[-2:]
    size = (h // multiple * multiple, w // multiple * multiple)
    if min(size) == 0:
        raise ValueError(f'An image of {h}x{w} pixels is smaller than the resize multiple '
                         f'{multiple}.')
    return resize_bicubic(x, size)
