"""The dark channel prior (He, Sun and Tang, CVPR 2009 / TPAMI 2011) as a parameter-free layer."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from .guided_filter import box_mean, guided_filter


def window_min(x: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """The minimum of ``x`` over the ``size`` values (odd) centred on each position along
    ``dim`` (-1 or -2), the window clipped at the ends. By doubling: minima over 2, 4, 8, ...
    values, then over ``size`` as the minimum of two overlapping ones (log2(size) + 1 passes
    instead of ``size``)."""
    length = x.shape[dim]
    half = size // 2
    pad = (half, half, 0, 0) if dim == -1 else (0, 0, half, half)
    out = F.pad(x, pad, value=float('inf'))
    width = 1
    while 2 * width <= size:
        out = torch.minimum(out.narrow(dim, 0, out.shape[dim] - width),
                            out.narrow(dim, width, out.shape[dim] - width))
        width *= 2
    return torch.minimum(out.narrow(dim, 0, length), out.narrow(dim, size - width, length))


def dark_channel(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, 1, H, W): the minimum over channels and over each ``patch`` x ``patch``
    window (clipped at the border), as a column's minimum then a row's."""
    return window_min(window_min(x.amin(dim=1, keepdim=True), patch, -2), patch, -1)


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

    The airlight is image-global: :meth:`airlight` estimates it on a whole image, and
    :meth:`forward` takes it as an argument, so that the tiles of a large photo are dehazed with
    the whole photo's airlight. ``omega_scale`` (N, 1, 1, 1) scales ``omega`` per image (the haze
    strength of :class:`~mmbilalora.models.archs.HazeStrengthGate`).

    Pixels close to the airlight colour (sky, bright fog) break the prior: their dark channel is
    high whatever the scene, so ``t`` is small and ``1 / t`` amplifies their noise and JPEG steps
    into rings and colour blotches. ``airlight_tolerance=K > 0`` raises the transmission of a
    pixel whose largest channel distance to the airlight ``d`` is under ``K`` to ``t * K / d``
    (at most 1), so such pixels are left nearly as they are; 0 (default) is He et al.'s prior.

    ``1 / t`` amplifies everything, the compression steps and sensor noise of a real photo as
    much as its scene. ``detail_layer=dict(radius=R, eps=E, max_gain=G)`` splits the image into
    a base layer (each channel guided-filtered under the image's grey, R pixels, E in squared
    [0, 1] units: edges stronger than about sqrt(E) stay in it) and the detail left over, and
    stretches the detail by at most G: ``J = (base - A) / t + A + min(1 / t, G) * detail``. None
    (default): He et al.'s ``J = (x - A) / t + A``. With ``noise=S`` in the dict (a standard
    deviation, [0, 1] units) the detail gain follows its local signal-to-noise ratio instead:
    ``gain = 1 + (min(1 / t, G) - 1) * w``, ``w = clip(1 - S^2 / e, 0, 1)`` the Wiener weight of
    the detail's local energy ``e`` (the channel-mean of ``detail^2`` over each
    ``(2R + 1)^2`` window), so detail at the level of the compression steps and sensor noise
    (``e <= S^2``) keeps its size and texture well above it is stretched as the scene.

    Args:
        omega: fraction of the haze removed (He et al.: 0.95; 1 removes all of it).
        patch: dark-channel window side (pixels; He et al.: 15).
        t_min: lower bound of the transmission (He et al.: 0.1).
        top_fraction: share of pixels whose colours give the airlight (He et al.: 0.001).
        refine_radius / refine_eps: guided filter of the transmission (pixels; eps in squared
            [0, 1] units).
        airlight_tolerance: see above ([0, 1] units; 0: off).
        detail_layer: ``dict(radius, eps, max_gain[, noise])`` (see above) or None.
        value_range: the (low, high) pixel values of the image, e.g. (-1, 1) for a network input
            normalised with mean = std = 127.5.
    """

    def __init__(self, omega: float = 0.95, patch: int = 15, t_min: float = 0.1,
                 top_fraction: float = 1e-3, refine_radius: int = 30, refine_eps: float = 1e-3,
                 airlight_tolerance: float = 0.0, detail_layer: Optional[dict] = None,
                 value_range: Tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        if not 0 < omega <= 1 or not 0 < t_min < 1 or patch < 1 or patch % 2 == 0:
            raise ValueError('DarkChannelPrior needs 0 < omega <= 1, 0 < t_min < 1 and an odd '
                             f'patch >= 1; got omega={omega}, t_min={t_min}, patch={patch}.')
        if airlight_tolerance < 0:
            raise ValueError(f'airlight_tolerance must be >= 0, got {airlight_tolerance}')
        if detail_layer is not None and (
                not {'radius', 'eps', 'max_gain'} <= set(detail_layer)
                <= {'radius', 'eps', 'max_gain', 'noise'}
                or detail_layer['max_gain'] < 1 or detail_layer.get('noise', 0) < 0):
            raise ValueError('detail_layer must be dict(radius=..., eps=..., max_gain=...[, '
                             f'noise=...]) with max_gain >= 1 and noise >= 0, got {detail_layer}')
        if value_range[1] <= value_range[0]:
            raise ValueError(f'value_range must be (low, high) with low < high, got {value_range}')
        self.omega, self.patch, self.t_min = omega, patch, t_min
        self.top_fraction = top_fraction
        self.refine_radius, self.refine_eps = refine_radius, refine_eps
        self.airlight_tolerance = airlight_tolerance
        self.detail_layer = dict(detail_layer) if detail_layer is not None else None
        self.value_range = tuple(value_range)

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` in ``value_range`` -> [0, 1] (clipped)."""
        low, high = self.value_range
        return ((x - low) / (high - low)).clamp(0, 1)

    @torch.no_grad()
    def airlight(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 1, 1) airlight of ``x`` (N, 3, H, W, ``value_range``), in [0, 1] units."""
        unit = self.to_unit(x)
        return estimate_airlight(unit, dark_channel(unit, self.patch),
                                 self.top_fraction).clamp(min=1e-3)

    @torch.no_grad()
    def normalised_dark_channel(self, x: torch.Tensor, airlight: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) ``dark_channel(x / A)`` of ``x`` (N, 3, H, W, ``value_range``) with the
        airlight ``A`` (N, 3, 1, 1, [0, 1] units): the haze's opacity where the prior holds."""
        return dark_channel(self.to_unit(x) / airlight, self.patch)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, airlight: Optional[torch.Tensor] = None,
                omega_scale: Optional[torch.Tensor] = None,
                normalised_dark: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(N, 3, H, W) -> the dehazed image, same shape and value range.

        Args:
            airlight: (N, 3, 1, 1) in [0, 1] units (default: :meth:`airlight` of ``x``).
            omega_scale: (N, 1, 1, 1) factor on ``omega`` (default 1).
            normalised_dark: :meth:`normalised_dark_channel` of ``x`` with that airlight, when
                the caller has it already (default: computed).
        """
        if airlight is None:
            airlight = self.airlight(x)
        if airlight.shape[0] != x.shape[0]:
            raise ValueError(f'the airlight is for {airlight.shape[0]} image(s), the input has '
                             f'{x.shape[0]}')
        if normalised_dark is None:
            normalised_dark = self.normalised_dark_channel(x, airlight)
        if omega_scale is None:
            omega_scale = torch.ones_like(airlight[:, :1])
        low, high = self.value_range
        unit = self.to_unit(x)
        raw = 1 - self.omega * omega_scale * normalised_dark
        grey = unit.mean(dim=1, keepdim=True)
        transmission = guided_filter(grey, raw, self.refine_radius,
                                     self.refine_eps).clamp(min=self.t_min)
        if self.airlight_tolerance > 0:
            distance = (unit - airlight).abs().amax(dim=1, keepdim=True).clamp(min=1e-3)
            raise_to = (self.airlight_tolerance / distance).clamp(min=1)
            transmission = (transmission * raise_to).clamp(max=1)
        if self.detail_layer is None:
            clear = (unit - airlight) / transmission + airlight
        else:
            base = guided_filter(grey, unit, self.detail_layer['radius'],
                                 self.detail_layer['eps'])
            detail = unit - base
            gain = transmission.reciprocal().clamp(max=self.detail_layer['max_gain'])
            noise = self.detail_layer.get('noise', 0)
            if noise > 0:
                energy = box_mean(detail.square().mean(dim=1, keepdim=True),
                                  self.detail_layer['radius'])
                weight = (1 - noise ** 2 / energy.clamp(min=1e-12)).clamp(min=0)
                gain = 1 + (gain - 1) * weight
            clear = (base - airlight) / transmission + airlight + gain * detail
        return clear.clamp(0, 1) * (high - low) + low
