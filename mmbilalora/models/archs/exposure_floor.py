"""Re-metering a dehazed image's exposure: a floor on its mean luma relative to the input's."""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmagic.registry import MODELS

from ...utils.colour import LUMA_WEIGHTS


def mean_luma(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N,) mean BT.601 luma, the luma ``BrightnessRatio`` scores."""
    weights = x.new_tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    return (x * weights).sum(dim=1).flatten(1).mean(dim=1)


def lift_curve(x: torch.Tensor, strength: torch.Tensor, shoulder: float = 4.0) -> torch.Tensor:
    """Each channel of ``x`` (N, 3, H, W, [0, 1]) through an exposure gain ``g = 1 + k``
    (``k`` = ``strength``, (N, 1, 1, 1), >= 0) with a soft shoulder:
    ``v -> g v / (1 + (g^n - 1) v^n)^(1 / n)``, ``n`` = ``shoulder``. Dark and mid tones are
    multiplied by about ``g`` (a camera's exposure change), highlights roll off so that white
    stays white and nothing clips; ``n = 1`` is the rational curve ``g v / (1 + k v)``, a large
    ``n`` a plain gain clipped at 1."""
    gain = 1 + strength
    return gain * x / (1 + (gain ** shoulder - 1) * x ** shoulder) ** (1 / shoulder)


def regular_subsample(x: torch.Tensor, pixels: Optional[int]) -> torch.Tensor:
    """``x`` (N, C, H, W), or every s-th pixel of every s-th row of it, the smallest stride s
    that keeps at most about ``pixels`` pixels (None: ``x`` as it is)."""
    if pixels is None or x.shape[-2] * x.shape[-1] <= pixels:
        return x
    stride = math.ceil(math.sqrt(x.shape[-2] * x.shape[-1] / pixels))
    return x[..., ::stride, ::stride]


@torch.no_grad()
def lift_strength(output: torch.Tensor, input: torch.Tensor, floor: float,
                  max_strength: float, shoulder: float = 4.0, steps: int = 30) -> torch.Tensor:
    """(N, 1, 1, 1): per image, the smallest ``k`` in ``[0, max_strength]`` whose
    :func:`lift_curve` brings the mean luma of ``output`` (N, 3, H, W, [0, 1]) to ``floor``
    times that of ``input`` (any size); 0 where it is there already (bisection: the mean luma
    rises with ``k``)."""
    target = floor * mean_luma(input)
    low = torch.zeros_like(target)
    high = torch.full_like(target, max_strength)
    for _ in range(steps):
        middle = (low + high) / 2
        lifted = lift_curve(output, middle.view(-1, 1, 1, 1), shoulder)
        short = mean_luma(lifted) < target
        low = torch.where(short, middle, low)
        high = torch.where(short, high, middle)
    high = torch.where(mean_luma(output) >= target, torch.zeros_like(high), high)
    return high.view(-1, 1, 1, 1)


@MODELS.register_module()
class ExposureFloor(nn.Module):
    """Lifts a dehazed image (N, 3, H, W) whose mean luma fell under ``floor`` times its hazy
    input's back to that floor, through :func:`lift_curve` on each channel with the smallest
    strength that reaches it (:func:`lift_strength`; exposure gain at most
    ``1 + max_strength``, highlights rolled off by the ``shoulder`` exponent).

    Removing haze removes its airlight, so a dehazed scene is darker than the hazy photo; a
    camera would meter the clear scene's exposure anew. The floor is that re-metering: images
    that stay bright enough (haze-free photos, thin haze) are returned as they are. The strength
    is image-global (:meth:`strength`, held out of the gradient; the curve itself passes it) and
    an argument of :meth:`forward`, so that a photo dehazed in tiles is lifted once assembled,
    by the whole photo's strength.

    The bisection evaluates the curve on every pixel 30 times (8 s for a 3-megapixel photo on two
    CPU cores); :meth:`strength` with ``pixels=P`` evaluates it on a regular subsample of at
    most about P pixels of a larger output and of its input (every s-th pixel of every s-th row),
    an unbiased sample of their values, in a fraction of the time.

    Args:
        floor: smallest output / input mean-luma ratio kept (0 < floor <= 1).
        max_strength: largest curve strength ``k`` (the exposure gain is at most 1 + k).
        shoulder: the curve's shoulder exponent ``n`` (see :func:`lift_curve`; >= 1).
        value_range: the (low, high) pixel values of input and output, e.g. (-1, 1).
    """

    def __init__(self, floor: float = 0.85, max_strength: float = 4.0, shoulder: float = 4.0,
                 value_range: Tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        if not 0 < floor <= 1 or max_strength <= 0 or shoulder < 1:
            raise ValueError(f'ExposureFloor needs 0 < floor <= 1, max_strength > 0 and '
                             f'shoulder >= 1, got floor={floor}, max_strength={max_strength}, '
                             f'shoulder={shoulder}')
        if value_range[1] <= value_range[0]:
            raise ValueError(f'value_range must be (low, high) with low < high, got {value_range}')
        self.floor, self.max_strength, self.shoulder = floor, max_strength, shoulder
        self.value_range = tuple(value_range)

    def _unit(self, x: torch.Tensor) -> torch.Tensor:
        low, high = self.value_range
        return (x - low) / (high - low)

    def strength(self, output: torch.Tensor, input: torch.Tensor,
                 pixels: Optional[int] = None) -> torch.Tensor:
        """(N, 1, 1, 1) curve strength that lifts ``output`` (N, 3, H, W) of ``input``
        (N, 3, H', W'; both in ``value_range``, clipped to it) to the floor; 0 where it is
        there already. ``pixels``: read from a regular subsample of at most about this many
        pixels of each (None: every pixel)."""
        return lift_strength(self._unit(regular_subsample(output, pixels)).clamp(0, 1),
                             self._unit(regular_subsample(input, pixels)).clamp(0, 1),
                             self.floor, self.max_strength, self.shoulder)

    def forward(self, output: torch.Tensor, input: Optional[torch.Tensor] = None,
                strength: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``output`` (N, 3, H, W, ``value_range``) lifted by ``strength`` (N, 1, 1, 1; default:
        :meth:`strength` of ``output`` and its ``input``), same range: the images with strength
        0 unchanged, the others clipped to the range and lifted."""
        if strength is None:
            if input is None:
                raise ValueError('ExposureFloor needs the input image or the strength.')
            strength = self.strength(output, input)
        low, high = self.value_range
        unit = self._unit(output)
        clipped = unit.clamp(0, 1)
        lifted = torch.where(strength > 0, lift_curve(clipped, strength, self.shoulder), unit)
        return lifted * (high - low) + low

    def extra_repr(self) -> str:
        return (f'floor={self.floor}, max_strength={self.max_strength}, '
                f'shoulder={self.shoulder}, value_range={self.value_range}')
