"""The dark channel prior (He, Sun and Tang, CVPR 2009 / TPAMI 2011) as a parameter-free layer."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from .guided_filter import guided_filter


def dark_channel(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, 1, H, W): the minimum over channels and over each ``patch`` x ``patch``
    window (clipped at the border)."""
    return -F.max_pool2d(-x.amin(dim=1, keepdim=True), patch, stride=1, padding=patch // 2)


def estimate_airlight(x: torch.Tensor, dark: torch.Tensor, top_fraction: float) -> torch.Tensor:
    """Airlight (N, 3, 1, 1): per image, the mean colour of ``x`` (N, 3, H, W) at the
    ``top_fraction`` of pixels with the brightest dark channel ``dark`` (N, 1, H, W)."""
    n, c = x.shape[:2]
    count = max(1, int(dark[0].numel() * top_fraction))
    index = dark.flatten(1).topk(count, dim=1).indices  # (N, count)
    picked = x.flatten(2).gather(2, index[:, None].expand(n, c, count))
    return picked.mean(dim=2)[..., None, None]


@MODELS.register_module()
class DarkChannelPrior(nn.Module):
    """He et al.'s dehazing of an (N, 3, H, W) image, same shape and value range: airlight from the
    brightest dark-channel pixels, transmission ``1 - omega * dark_channel(x / A)`` refined by a
    guided filter under the image's grey and floored at ``t_min``, then
    ``J = (x - A) / t + A`` clipped to the value range. No parameters; no gradient reaches the
    input (the prior is a fixed function of the image it is given).

    Pixels close to the airlight colour (sky, bright fog) break the prior: their dark channel is
    high whatever the scene, so ``t`` is small and ``1 / t`` amplifies their noise and JPEG steps
    into rings and colour blotches. ``airlight_tolerance=K > 0`` raises the transmission of a
    pixel whose largest channel distance to the airlight ``d`` is under ``K`` to ``t * K / d``
    (at most 1), so such pixels are left nearly as they are; 0 (default) is He et al.'s prior.

    Args:
        omega: fraction of the haze removed (He et al.: 0.95; 1 removes all of it).
        patch: dark-channel window side (pixels; He et al.: 15).
        t_min: lower bound of the transmission (He et al.: 0.1).
        top_fraction: share of pixels whose colours give the airlight (He et al.: 0.001).
        refine_radius / refine_eps: guided filter of the transmission (pixels; eps in squared
            [0, 1] units).
        airlight_tolerance: see above ([0, 1] units; 0: off).
        value_range: the (low, high) pixel values of the image, e.g. (-1, 1) for a network input
            normalised with mean = std = 127.5.
    """

    def __init__(self, omega: float = 0.95, patch: int = 15, t_min: float = 0.1,
                 top_fraction: float = 1e-3, refine_radius: int = 30, refine_eps: float = 1e-3,
                 airlight_tolerance: float = 0.0,
                 value_range: Tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        if not 0 < omega <= 1 or not 0 < t_min < 1 or patch < 1 or patch % 2 == 0:
            raise ValueError('DarkChannelPrior needs 0 < omega <= 1, 0 < t_min < 1 and an odd '
                             f'patch >= 1; got omega={omega}, t_min={t_min}, patch={patch}.')
        if airlight_tolerance < 0:
            raise ValueError(f'airlight_tolerance must be >= 0, got {airlight_tolerance}')
        if value_range[1] <= value_range[0]:
            raise ValueError(f'value_range must be (low, high) with low < high, got {value_range}')
        self.omega, self.patch, self.t_min = omega, patch, t_min
        self.top_fraction = top_fraction
        self.refine_radius, self.refine_eps = refine_radius, refine_eps
        self.airlight_tolerance = airlight_tolerance
        self.value_range = tuple(value_range)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low, high = self.value_range
        unit = ((x - low) / (high - low)).clamp(0, 1)
        airlight = estimate_airlight(unit, dark_channel(unit, self.patch), self.top_fraction)
        airlight = airlight.clamp(min=1e-3)
        raw = 1 - self.omega * dark_channel(unit / airlight, self.patch)
        transmission = guided_filter(unit.mean(dim=1, keepdim=True), raw, self.refine_radius,
                                     self.refine_eps).clamp(min=self.t_min)
        if self.airlight_tolerance > 0:
            distance = (unit - airlight).abs().amax(dim=1, keepdim=True).clamp(min=1e-3)
            raise_to = (self.airlight_tolerance / distance).clamp(min=1)
            transmission = (transmission * raise_to).clamp(max=1)
        clear = ((unit - airlight) / transmission + airlight).clamp(0, 1)
        return clear * (high - low) + low
