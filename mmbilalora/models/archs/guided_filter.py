"""Differentiable guided filter (He et al., TPAMI 2013) on image tensors, and as a module."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean of ``x`` (N, C, H, W) over each (2 * radius + 1)^2 window, the window clipped at the
    image border (so the mean is over the pixels inside it); integral image, O(1) per pixel."""
    for dim in (-2, -1):
        size = x.shape[dim]
        r = min(radius, size - 1)  # a larger window covers the whole line all the same
        idx = torch.arange(size, device=x.device)
        counts = ((idx + r + 1).clamp(max=size) - (idx - r).clamp(min=0)).to(x.dtype)
        if dim == -2:
            counts = counts[:, None]
        # cum[j] = sum of x before j, for j = 0..size, then repeated at both ends: a window's
        # sum is cum[min(i + r + 1, size)] - cum[max(i - r, 0)]
        first, ends = ((0, 0, 1, 0), (0, 0, r, r)) if dim == -2 else ((1, 0), (r, r, 0, 0))
        cum = F.pad(F.pad(torch.cumsum(x, dim=dim), first), ends, mode='replicate')
        x = (cum.narrow(dim, 2 * r + 1, size) - cum.narrow(dim, 0, size)) / counts
    return x


def _coefficients(guide: torch.Tensor, src: torch.Tensor, radius: int,
                  eps: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """The window-averaged coefficients (A, B) of the guided filter: ``src ~ A * guide + B``."""
    mean_i = box_mean(guide, radius)
    mean_p = box_mean(src, radius)
    cov_ip = box_mean(guide * src, radius) - mean_i * mean_p
    var_i = box_mean(guide * guide, radius) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius), box_mean(b, radius)


def guided_filter(guide: torch.Tensor, src: torch.Tensor, radius: int,
                  eps: float) -> torch.Tensor:
    """``src`` (N, C, H, W) filtered under the grey ``guide`` (N, 1, H, W): in each window the
    output is the least-squares linear function of the guide that fits ``src`` (regularised by
    ``eps``, in the guide's units squared), averaged over the windows covering a pixel. Structure
    of ``src`` that the guide does not have (blocks, grids) is smoothed away; its edges are kept."""
    a, b = _coefficients(guide, src, radius, eps)
    return a * guide + b


def fast_guided_filter(guide: torch.Tensor, src: torch.Tensor, radius: int,
                       eps: float) -> torch.Tensor:
    """``src`` (N, C, h, w) of a lower resolution than the grey ``guide`` (N, 1, H, W), filtered
    under it and brought to its resolution (He and Sun's fast guided filter, 2015): the
    coefficients of :func:`guided_filter` are computed at ``src``'s resolution, under the guide
    resized to it (bilinear, antialiased; ``radius`` in the guide's pixels, scaled to at least
    1), resized bilinearly to the guide's resolution and applied to the full-resolution guide,
    so the output follows the guide's edges at full resolution."""
    size = src.shape[-2:]
    low = F.interpolate(guide, size=size, mode='bilinear', align_corners=False, antialias=True)
    a, b = _coefficients(low, src, max(1, round(radius * size[0] / guide.shape[-2])), eps)
    full = guide.shape[-2:]
    return (F.interpolate(a, size=full, mode='bilinear', align_corners=False) * guide
            + F.interpolate(b, size=full, mode='bilinear', align_corners=False))


@MODELS.register_module()
class GuidedFilter(nn.Module):
    """Maps (N, C, H, W) filtered under the grey (channel mean) of an image (N, C', H, W):
    :func:`guided_filter` as a parameter-free layer.

    :class:`~mmbilalora.models.editors.PriorRefinedDehazer` uses it as its output filter: the
    network's K and B maps follow the edges of the image they act on, so the output's detail is
    that image's and the network cannot add blocks or grids of its own. Maps of a lower
    resolution than the image are brought to its resolution by :func:`fast_guided_filter`.

    Args:
        radius: window radius (pixels).
        eps: regulariser, in the guide's units squared (a guide in [-1, 1]: edges weaker than
            about ``sqrt(eps)`` are smoothed).
    """

    def __init__(self, radius: int, eps: float):
        super().__init__()
        if radius < 1 or eps <= 0:
            raise ValueError(f'GuidedFilter needs radius >= 1 and eps > 0, got radius={radius}, '
                             f'eps={eps}')
        self.radius, self.eps = radius, eps

    def forward(self, image: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """``maps`` (N, C, h, w) filtered under the grey of ``image`` (N, C', H, W), at the
        image's resolution."""
        guide = image.mean(dim=1, keepdim=True)
        if maps.shape[-2:] == guide.shape[-2:]:
            return guided_filter(guide, maps, self.radius, self.eps)
        return fast_guided_filter(guide, maps, self.radius, self.eps)

    def extra_repr(self) -> str:
        return f'radius={self.radius}, eps={self.eps}'
