"""Reflection padding of image tensors to a size multiple, valid for any input size."""
from typing import Tuple

import torch
import torch.nn.functional as F


def reflect_pad(x: torch.Tensor, pad: Tuple[int, int, int, int]) -> torch.Tensor:
    """Reflection-pad ``x`` (N, C, H, W) by ``pad`` = (left, right, top, bottom) pixels.

    ``F.pad(mode='reflect')`` needs every pad to be smaller than the padded dimension; larger pads
    (tiny images) are applied in several reflections, which is what mirroring an image repeatedly
    gives. A 1-pixel dimension cannot be reflected and is replicated instead.
    """
    left, right, top, bottom = pad
    while left or right or top or bottom:
        h, w = x.shape[-2:]
        if min(h, w) < 2:
            return F.pad(x, (left, right, top, bottom), mode='replicate')
        step = (min(left, w - 1), min(right, w - 1), min(top, h - 1), min(bottom, h - 1))
        x = F.pad(x, step, mode='reflect')
        left, right, top, bottom = (left - step[0], right - step[1], top - step[2],
                                    bottom - step[3])
    return x


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflection-pad ``x`` (N, C, H, W) on the bottom/right so H and W are multiples of ``multiple``."""
    h, w = x.shape[-2:]
    pad_h = (multiple - h % multiple) % multiple
    pad_w = (multiple - w % multiple) % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    return reflect_pad(x, (0, pad_w, 0, pad_h))
