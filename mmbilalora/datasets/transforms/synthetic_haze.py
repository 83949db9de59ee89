"""Synthetic haze by the atmospheric scattering model, without depth maps.

``I = J * t + A * (1 - t)``, ``t = exp(-beta * d)``, where J is the clear image in [0, 1], A the
atmospheric light (a level times a colour tint, per channel) and d a *pseudo-depth* in [0, 1]:

- ``'homogeneous'``: d = 1 everywhere (uniform haze);
- ``'gradient'``: a linear ramp in a random direction (haze thickening towards one side, as with
  distance in a landscape);
- ``'nonhomogeneous'``: a smooth random field (bicubic upsampling of a coarse Gaussian grid),
  giving patchy haze like NH-HAZE / real fog banks;
- ``'mixed'``: the ramp blended with the random field.

The transmission therefore lies in [exp(-beta_max), 1] subset of (0, 1]. With ``seed`` set, the haze of
each image is a deterministic function of (seed, image path), so a validation set is fixed
regardless of worker count or order.
"""
import hashlib
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

DEPTH_MODES = ('homogeneous', 'gradient', 'nonhomogeneous', 'mixed')


def smooth_random_field(shape: Tuple[int, int], rng: np.random.Generator,
                        grid: int = 4) -> np.ndarray:
    """A smooth field of ``shape`` (H, W), values in [0, 1]: a ``grid`` x ``grid`` Gaussian
    lattice upsampled bicubically and min-max normalised."""
    h, w = shape
    coarse = rng.standard_normal((grid, grid)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    span = field.max() - field.min()
    return (field - field.min()) / span if span > 0 else np.full(shape, 0.5, np.float32)


def linear_ramp(shape: Tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A linear ramp over (H, W) in a random direction, values in [0, 1]."""
    h, w = shape
    theta = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = np.cos(theta) * xx / max(w - 1, 1) + np.sin(theta) * yy / max(h - 1, 1)
    span = ramp.max() - ramp.min()
    return (ramp - ramp.min()) / span if span > 0 else np.ones(shape, np.float32)


def pseudo_depth(mode: str, shape: Tuple[int, int], rng: np.random.Generator,
                 grid: int = 4) -> np.ndarray:
    """Pseudo-depth (H, W) in [0, 1] for one of :data:`DEPTH_MODES`."""
    if mode == 'homogeneous':
        return np.ones(shape, np.float32)
    if mode == 'gradient':
        return linear_ramp(shape, rng)
    if mode == 'nonhomogeneous':
        return smooth_random_field(shape, rng, grid)
    if mode == 'mixed':
        weight = rng.uniform(0.3, 0.7)
        return weight * linear_ramp(shape, rng) + (1 - weight) * smooth_random_field(
            shape, rng, grid)
    raise ValueError(f'Unknown depth mode {mode!r}; choose from {DEPTH_MODES}.')


def apply_scattering_model(clear: np.ndarray, transmission: np.ndarray,
                           airlight: np.ndarray) -> np.ndarray:
    """I = J t + A (1 - t) for J (H, W, C) in [0, 1], t (H, W), A (C,); returns float32 (H, W, C)."""
    t = transmission[..., None]
    return (clear * t + airlight[None, None, :] * (1 - t)).astype(np.float32)


@TRANSFORMS.register_module()
class SyntheticHaze(BaseTransform):
    """Make a hazy ``results[out_key]`` from the clear ``results[in_key]``.

    The clear image is an (H, W, C) array in [0, 255] (uint8 or float, as loaded by
    ``LoadImageFromFile``); the hazy output has the same range and dtype float32, and inherits
    the clear image's ``<key>_channel_order`` / ``<key>_color_type`` (MMagic's data preprocessor
    reads them to keep inputs, outputs and references in one channel order). The haze
    parameters are written to ``results['haze_params']`` (beta, airlight, depth mode).

    Args:
        in_key / out_key: clear-image key and hazy-image key (MMagic's ``'gt'`` and ``'img'``).
        beta_range: extinction coefficient range (uniform).
        airlight_range: atmospheric light level range, as a fraction of white.
        airlight_tint: maximum per-channel deviation of the airlight colour from grey (0 = grey;
            0.1 lets e.g. yellowish or bluish haze appear).
        depth_modes: pseudo-depth modes drawn uniformly (see :data:`DEPTH_MODES`).
        field_grid: coarse-lattice size of the random field (larger = patchier haze).
        seed: None for fresh randomness each call; an int for haze that depends only on
            (seed, image path), e.g. for a fixed validation set.
        keep_transmission: also store the (H, W) transmission map in
            ``results['transmission']``.
    """

    def __init__(self,
                 in_key: str = 'gt',
                 out_key: str = 'img',
                 beta_range: Sequence[float] = (0.6, 2.0),
                 airlight_range: Sequence[float] = (0.7, 1.0),
                 airlight_tint: float = 0.05,
                 depth_modes: Sequence[str] = ('homogeneous', 'gradient', 'nonhomogeneous',
                                               'mixed'),
                 field_grid: int = 4,
                 seed: Optional[int] = None,
                 keep_transmission: bool = False):
        unknown = set(depth_modes) - set(DEPTH_MODES)
        if unknown:
            raise ValueError(f'Unknown depth modes {sorted(unknown)}; choose from {DEPTH_MODES}.')
        if not 0 <= beta_range[0] <= beta_range[1]:
            raise ValueError(f'beta_range must be 0 <= low <= high, got {beta_range}')
        if not 0 <= airlight_range[0] <= airlight_range[1] <= 1:
            raise ValueError(f'airlight_range must lie in [0, 1], got {airlight_range}')
        self.in_key = in_key
        self.out_key = out_key
        self.beta_range = tuple(beta_range)
        self.airlight_range = tuple(airlight_range)
        self.airlight_tint = airlight_tint
        self.depth_modes = tuple(depth_modes)
        self.field_grid = field_grid
        self.seed = seed
        self.keep_transmission = keep_transmission

    def _rng(self, results: Dict) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng()
        key = str(results.get(f'{self.in_key}_path', results.get('sample_idx', '')))
        digest = hashlib.sha256(f'{self.seed}:{key}'.encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], 'little'))

    def transform(self, results: Dict) -> Dict:
        clear = results[self.in_key]
        if clear.ndim != 3:
            raise ValueError(f'SyntheticHaze expects an (H, W, C) image in results[{self.in_key!r}],'
                             f' got shape {clear.shape}')
        rng = self._rng(results)
        mode = self.depth_modes[rng.integers(len(self.depth_modes))]
        beta = rng.uniform(*self.beta_range)
        level = rng.uniform(*self.airlight_range)
        tint = rng.uniform(-self.airlight_tint, self.airlight_tint, size=clear.shape[2])
        airlight = np.clip(level + tint, 0.0, 1.0).astype(np.float32)
        depth = pseudo_depth(mode, clear.shape[:2], rng, self.field_grid)
        transmission = np.exp(-beta * depth).astype(np.float32)
        hazy = apply_scattering_model(clear.astype(np.float32) / 255.0, transmission, airlight)
        results[self.out_key] = hazy * 255.0
        for meta in ('channel_order', 'color_type'):
            if f'{self.in_key}_{meta}' in results:
                results[f'{self.out_key}_{meta}'] = results[f'{self.in_key}_{meta}']
        results['haze_params'] = dict(beta=float(beta), airlight=airlight.tolist(), depth_mode=mode)
        if self.keep_transmission:
            results['transmission'] = transmission
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(beta_range={self.beta_range}, airlight_range='
                f'{self.airlight_range}, depth_modes={self.depth_modes}, seed={self.seed})')
