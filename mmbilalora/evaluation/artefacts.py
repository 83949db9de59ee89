"""Measures of the three ways a dehazer spoils a photo, none needing a reference.

All take (H, W, 3) RGB arrays with values in [0, 255] (uint8 or float).

- :func:`brightness_ratio`: mean luma of the output over that of the input (darkening < 1);
- :func:`colour_cast`: chroma of the image's mean colour in CIELAB (a grey-world cast, in
  CIELAB units; 0 for a neutral image);
- :func:`blockiness`: extra luma steps on a network's 4-pixel patch grid and its attention
  windows' grids against the steps between them, image edges excluded (grey levels; about 0 for
  a smooth image and for a JPEG's own 8x8 blocking).
"""
from typing import Sequence

import cv2
import numpy as np

from ..utils.colour import LUMA_WEIGHTS


def luma(image: np.ndarray) -> np.ndarray:
    """(H, W) float64 luma in [0, 255] of an (H, W, 3) RGB image."""
    return np.asarray(image, np.float64)[..., :3] @ np.asarray(LUMA_WEIGHTS)


def brightness_ratio(output: np.ndarray, input: np.ndarray) -> float:
    """Mean luma of ``output`` / mean luma of ``input`` (any sizes; 1 = brightness kept)."""
    return float(luma(output).mean() / max(luma(input).mean(), 1e-6))


def mean_abs_change(output: np.ndarray, input: np.ndarray) -> float:
    """Mean absolute difference of two same-size RGB images, in grey levels."""
    if output.shape != input.shape:
        raise ValueError(f'mean_abs_change needs same-size images, got {output.shape} and '
                         f'{input.shape}')
    return float(np.abs(np.asarray(output, np.float64) - np.asarray(input, np.float64)).mean())


def colour_cast(image: np.ndarray, dark: float = 5.0, bright: float = 250.0) -> float:
    """Chroma ``sqrt(mean(a*)^2 + mean(b*)^2)`` of the mean colour in CIELAB (D65), over the
    pixels whose luma lies in (``dark``, ``bright``) (clipped pixels carry no colour).

    A neutral image scores 0; a uniform tint of chroma C scores about C. Scenes dominated by one
    colour (foliage, sunsets) score high too: compare an output with its input.
    """
    rgb = np.clip(np.asarray(image, np.float32)[..., :3] / 255.0, 0, 1)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)
    y = luma(image).ravel()
    keep = (y > dark) & (y < bright)
    if not keep.any():
        return 0.0
    a, b = lab[keep, 1].mean(), lab[keep, 2].mean()
    return float(np.hypot(a, b))


def _boundary_steps(y: np.ndarray, span: int, edge: float) -> np.ndarray:
    """Mean luma step across each column boundary of ``y`` (H, W).

    The step at boundary x (between columns x-1 and x) is ``|mean(y[:, x:x+span]) -
    mean(y[:, x-span:x])|``; steps >= ``edge`` are image edges and left out of the mean over
    rows. Returns (W,) float64, NaN where undefined (borders, or edges only).
    """
    h, w = y.shape
    cumulative = np.concatenate([np.zeros((h, 1)), np.cumsum(y, axis=1)], axis=1)
    x = np.arange(span, w - span + 1)
    right = cumulative[:, x + span] - cumulative[:, x]
    left = cumulative[:, x] - cumulative[:, x - span]
    step = np.abs(right - left) / span
    keep = step < edge
    counts = keep.sum(0)
    out = np.full(w, np.nan)
    with np.errstate(invalid='ignore', divide='ignore'):
        out[x] = np.where(keep, step, 0.0).sum(0) / np.where(counts > 0, counts, np.nan)
    return out


def blockiness(image: np.ndarray, periods: Sequence[int] = (4, 16, 32), offset: int = 0,
               span: int = 2, along: int = 8, edge: float = 20.0) -> float:
    """GBIM-style blocking at a network's grids, robust to JPEG's 8x8 grid.

    Grid seams are soft steps (a few pixels wide after the decoder's upsampling) that run along
    whole block edges, so the luma is first averaged over ``along`` pixels along the seam
    direction (noise falls, seams stay); then the step across every column boundary (and, on the
    transposed image, row boundary) is the difference of the ``span``-pixel means on its two
    sides, image edges (steps >= ``edge`` grey levels) excluded, averaged along the boundary.
    For a period P the score is the mean step on the grid's boundaries minus the mean step on
    boundaries between them, chosen so that a JPEG's 8x8 blocks add the same steps to both sets:

    - P = 4, the grid of a network that downsamples by 4 (DehazeFormer's two patch merges):
      boundaries at ``offset + 4 + 8 k`` (the 4-pixel grid without JPEG's 8-pixel one) against
      ``offset + 2 + 4 k``;
    - P a multiple of 16, window-attention seams: boundaries at ``offset + k * P`` against the
      8-aligned boundaries that are not multiples of 16 (``offset + 8 + 16 k``).

    Returns the largest score over ``periods`` (grey levels; about 0 without a grid). ``offset``
    is where the network's grid starts (0 for whole-image inference, which pads at the bottom
    and right).
    """
    for period in periods:
        if period != 4 and period % 16:
            raise ValueError(f'blockiness periods must be 4 or multiples of 16, got {period}')
    y = luma(image).astype(np.float32)
    if min(y.shape) < 2 * max(periods) + 2 * span:
        raise ValueError(f'blockiness needs an image of at least {2 * max(periods) + 2 * span} '
                         f'pixels per side, got {y.shape}')
    profiles = [_boundary_steps(cv2.blur(y, (1, along)).astype(np.float64), span, edge),
                _boundary_steps(cv2.blur(y, (along, 1)).T.astype(np.float64), span, edge)]
    scores = []
    for period in periods:
        seam, between = [], []
        for profile in profiles:
            x = np.arange(profile.size) - offset
            if period == 4:
                seam.append(profile[x % 8 == 4])
                between.append(profile[x % 4 == 2])
            else:
                seam.append(profile[x % period == 0])
                between.append(profile[x % 16 == 8])
        seam, between = np.concatenate(seam), np.concatenate(between)
        if np.isnan(seam).all() or np.isnan(between).all():
            scores.append(0.0)
            continue
        scores.append(float(np.nanmean(seam) - np.nanmean(between)))
    return max(scores)
