"""The dark channel prior (He, Sun and Tang, CVPR 2009 / TPAMI 2011) as a parameter-free layer."""
from contextlib import ExitStack, contextmanager
from typing import Dict, Iterator, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from .guided_filter import box_mean, guided_filter


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

    The prior cannot tell a haze-free photo from a hazy one: it removes "haze" wherever the dark
    channel is high (bright, pale surfaces too). ``haze_gate=(low, high)`` scales ``omega`` per
    image by ``clip((m - low) / (high - low), 0, 1)``, ``m`` the image's median of
    ``dark_channel(x / A)``: an image whose median is that of a typical haze-free photo (``low``)
    or below is left as it is, one above ``high`` is dehazed with the full ``omega``. None
    (default): He et al.'s prior, ``omega`` on every image.

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

    Airlight and gate strength are image-global (:meth:`image_statistics`); to dehaze an image
    in tiles with the whole image's values, run the tiles inside
    :meth:`holding_statistics` (see :func:`holding_image_statistics`).

    Args:
        omega: fraction of the haze removed (He et al.: 0.95; 1 removes all of it).
        patch: dark-channel window side (pixels; He et al.: 15).
        t_min: lower bound of the transmission (He et al.: 0.1).
        top_fraction: share of pixels whose colours give the airlight (He et al.: 0.001).
        refine_radius / refine_eps: guided filter of the transmission (pixels; eps in squared
            [0, 1] units).
        airlight_tolerance: see above ([0, 1] units; 0: off).
        detail_layer: ``dict(radius, eps, max_gain[, noise])`` (see above) or None.
        haze_gate: ``(low, high)`` medians of the airlight-normalised dark channel (see above;
            ``0 <= low < high <= 1``), or None.
        value_range: the (low, high) pixel values of the image, e.g. (-1, 1) for a network input
            normalised with mean = std = 127.5.
    """

    def __init__(self, omega: float = 0.95, patch: int = 15, t_min: float = 0.1,
                 top_fraction: float = 1e-3, refine_radius: int = 30, refine_eps: float = 1e-3,
                 airlight_tolerance: float = 0.0,
                 haze_gate: Optional[Tuple[float, float]] = None,
                 detail_layer: Optional[dict] = None,
                 value_range: Tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        if not 0 < omega <= 1 or not 0 < t_min < 1 or patch < 1 or patch % 2 == 0:
            raise ValueError('DarkChannelPrior needs 0 < omega <= 1, 0 < t_min < 1 and an odd '
                             f'patch >= 1; got omega={omega}, t_min={t_min}, patch={patch}.')
        if airlight_tolerance < 0:
            raise ValueError(f'airlight_tolerance must be >= 0, got {airlight_tolerance}')
        if haze_gate is not None and not (len(haze_gate) == 2
                                          and 0 <= haze_gate[0] < haze_gate[1] <= 1):
            raise ValueError(f'haze_gate must be (low, high) with 0 <= low < high <= 1, '
                             f'got {haze_gate}')
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
        self.haze_gate = tuple(haze_gate) if haze_gate is not None else None
        self.detail_layer = dict(detail_layer) if detail_layer is not None else None
        self.value_range = tuple(value_range)
        self._held: Optional[Dict[str, torch.Tensor]] = None

    def _unit(self, x: torch.Tensor) -> torch.Tensor:
        low, high = self.value_range
        return ((x - low) / (high - low)).clamp(0, 1)

    def _statistics(self, unit: torch.Tensor) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
        """:meth:`image_statistics` of ``unit`` ([0, 1] units), and ``dark_channel(unit / A)``
        (N, 1, H, W) that they were computed from."""
        airlight = estimate_airlight(unit, dark_channel(unit, self.patch),
                                     self.top_fraction).clamp(min=1e-3)
        normalised = dark_channel(unit / airlight, self.patch)
        median = normalised.flatten(1).median(dim=1).values
        strength = torch.ones_like(airlight[:, :1])
        if self.haze_gate is not None:
            low, high = self.haze_gate
            strength = ((median - low) / (high - low)).clamp(0, 1).view_as(strength)
        return dict(airlight=airlight, dark_median=median, strength=strength), normalised

    @torch.no_grad()
    def image_statistics(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Per image of ``x`` (N, 3, H, W): ``airlight`` (N, 3, 1, 1, [0, 1] units),
        ``dark_median`` (N,): the median of ``dark_channel(x / A)``, and ``strength``
        (N, 1, 1, 1): the share of ``omega`` applied (1 without ``haze_gate``)."""
        return self._statistics(self._unit(x))[0]

    @contextmanager
    def holding_statistics(self, x: torch.Tensor) -> Iterator[None]:
        """Within the block, every call uses the :meth:`image_statistics` of ``x`` (the whole
        image, in the prior's value range) instead of those of the tensor it is given."""
        self._held = self.image_statistics(x)
        try:
            yield
        finally:
            self._held = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> the dehazed image, same shape and value range."""
        return self.dehaze(x)[0]

    @torch.no_grad()
    def dehaze(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(N, 3, H, W) -> (the dehazed image, same shape and value range; the gate strength
        used per image, (N, 1, 1, 1))."""
        low, high = self.value_range
        unit = self._unit(x)
        if self._held is None:
            stats, normalised = self._statistics(unit)
        else:
            stats = self._held
            if stats['airlight'].shape[0] != unit.shape[0]:
                raise ValueError(f'held statistics are for {stats["airlight"].shape[0]} '
                                 f'image(s), the input has {unit.shape[0]}')
            normalised = dark_channel(unit / stats['airlight'], self.patch)
        airlight = stats['airlight']
        raw = 1 - self.omega * stats['strength'] * normalised
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
        return clear.clamp(0, 1) * (high - low) + low, stats['strength']


@contextmanager
def holding_image_statistics(model: nn.Module, x: torch.Tensor) -> Iterator[None]:
    """Every :class:`DarkChannelPrior` in ``model`` holds the image statistics of ``x`` (the
    whole image as the model's input, (N, 3, H, W)) within the block, so tiles of ``x`` are
    dehazed with the whole image's airlight and gate."""
    with ExitStack() as stack:
        for module in model.modules():
            if isinstance(module, DarkChannelPrior):
                stack.enter_context(module.holding_statistics(x))
        yield
