"""Synthetic haze by the atmospheric scattering model, without depth maps.

``I = J * t + A * (1 - t)``, ``t = exp(-beta * d)``, where J is the clear image in [0, 1], A the
atmospheric light (a level times a colour tint, per channel) and d a *pseudo-depth* in [0, 1]:

- ``'homogeneous'``: d = 1 everywhere (uniform haze);
- ``'gradient'``: a linear ramp in a random direction (haze thickening towards one side, as with
  distance in a landscape);
- ``'nonhomogeneous'``: a smooth random field (bicubic upsampling of a coarse Gaussian grid),
  giving patchy haze like NH-HAZE / real fog banks;
- ``'mixed'``: the ramp blended with the random field;
- ``'scene'``: a landscape-like layout: far (d = 1) above a random horizon, falling towards the
  bottom of the picture (near the camera) with a random curve, slightly tilted, modulated by a
  smooth random field, and never below a random near-haze floor.

The transmission therefore lies in [exp(-beta_max), 1] subset of (0, 1]. With ``seed`` set, the
haze of each image is a deterministic function of (seed, image path), so a validation set is fixed
regardless of worker count or order.

Options that bring the synthesis closer to real haze (all off by default, which reproduces the
original recipe): ``beta_sampling='log_uniform'`` (thin haze as common as dense),
``clear_prob`` (haze-free samples, so a network learns to leave clear photos alone),
``airlight_colour='natural'`` (airlight on the warm-cool axis of real haze: neutral, bluish,
yellowish smog; no green or magenta) and ``linear_light_prob`` (scattering applied to linear
light, as physics does, instead of to sRGB values).
"""
import hashlib
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

DEPTH_MODES = ('homogeneous', 'gradient', 'nonhomogeneous', 'mixed', 'scene')
BETA_SAMPLINGS = ('uniform', 'log_uniform')
AIRLIGHT_COLOURS = ('random', 'natural')
EXPOSURE_METERINGS = ('linear', 'display')


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


def scene_depth(shape: Tuple[int, int], rng: np.random.Generator, grid: int = 4) -> np.ndarray:
    """Landscape-like pseudo-depth (H, W) in [0, 1]: 1 above a random horizon (sky and far
    scenery), falling with a random power curve towards the bottom row, tilted by up to 10 % of
    the height, modulated by up to 40 % by a smooth random field, and lifted to a random floor
    in [0, 0.3] (near objects are never entirely haze-free)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    y = yy / max(h - 1, 1) + rng.uniform(-0.1, 0.1) * (xx / max(w - 1, 1) - 0.5)
    horizon = rng.uniform(0.15, 0.7)
    below = np.clip((1.0 - y) / (1.0 - horizon), 0.0, 1.0) ** rng.uniform(0.5, 2.0)
    depth = np.where(y < horizon, 1.0, below)
    modulation = rng.uniform(0.0, 0.4)
    depth = depth * (1.0 - modulation + modulation * smooth_random_field(shape, rng, grid))
    floor = rng.uniform(0.0, 0.3)
    return (floor + (1.0 - floor) * depth).astype(np.float32)


def natural_airlight(level: float, rng: np.random.Generator, warmth: float) -> np.ndarray:
    """RGB airlight of real haze: grey ``level`` moved along the warm-cool axis by up to
    ``warmth`` (R and B in opposite directions, G by 30 % of R's shift), plus a jitter of 1 %."""
    shift = rng.uniform(-warmth, warmth)
    colour = level * (1.0 + shift * np.array([1.0, 0.3, -1.0])) + rng.uniform(-0.01, 0.01, 3)
    return np.clip(colour, 0.0, 1.0).astype(np.float32)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB values in [0, 1] -> linear light in [0, 1] (IEC 61966-2-1)."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def display_metered_gain(linear: np.ndarray, target_mean: float, steps: int = 25) -> float:
    """The gain k in [1/64, 64] for which ``linear_to_srgb(clip(k * linear, 0, 1))`` has mean
    ``target_mean`` (sRGB, in [0, 1]), by bisection on log k (the mean grows with k); the bound
    is returned when the target lies beyond it."""
    low, high = np.log(1 / 64), np.log(64.0)
    for _ in range(steps):
        mid = 0.5 * (low + high)
        if linear_to_srgb(np.clip(linear * np.exp(mid), 0.0, 1.0)).mean() < target_mean:
            low = mid
        else:
            high = mid
    return float(np.exp(0.5 * (low + high)))


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] -> sRGB values in [0, 1] (IEC 61966-2-1)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92,
                    1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


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
    if mode == 'scene':
        return scene_depth(shape, rng, grid)
    raise ValueError(f'Unknown depth mode {mode!r}; choose from {DEPTH_MODES}.')


def apply_scattering_model(clear: np.ndarray, transmission: np.ndarray,
                           airlight: np.ndarray) -> np.ndarray:
    """I = J t + A (1 - t) for J (H, W, C) in [0, 1], t (H, W), A (C,); returns float32
    (H, W, C)."""
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
        airlight_tint: maximum deviation of the airlight colour from grey (0 = grey): per channel
            with ``airlight_colour='random'``, along the warm-cool axis with ``'natural'``.
        airlight_colour: ``'random'`` (independent per-channel tint, any hue) or ``'natural'``
            (see :func:`natural_airlight`).
        depth_modes: pseudo-depth modes drawn uniformly (see :data:`DEPTH_MODES`; repeat a mode
            to draw it more often).
        beta_sampling: ``'uniform'`` over ``beta_range`` or ``'log_uniform'`` (as many thin as
            dense hazes; needs ``beta_range[0] > 0``).
        clear_prob: probability of leaving the image haze-free (beta = 0, output = input).
        linear_light_prob: probability of applying the scattering model to linear light (input
            decoded from sRGB, airlight read as an sRGB colour, result encoded back) instead of
            to the sRGB values.
        field_grid: coarse-lattice size of the random field (larger = patchier haze).
        seed: None for fresh randomness each call; an int for haze that depends only on
            (seed, image path), e.g. for a fixed validation set.
        keep_transmission: also store the (H, W) transmission map in
            ``results['transmission']``.
        exposure_compensation: range of the strength ``g`` (drawn uniformly) of a camera's
            auto-exposure on the hazy capture: the hazy image is scaled in linear light by
            ``(mean(clear) / mean(hazy)) ** g`` (means of linear light; 0 = off, 1 = the hazy
            photo exposed to the clear photo's mean). Real hazy photos are exposed for the bright
            haze, so the scene under it is darker than in a synthetic hazy image; the clear
            reference is unchanged, so the network learns to restore its brightness. A haze-free
            sample has gain 1.
        exposure_metering: where the auto-exposure measures the means. ``'linear'``: means of
            linear light, as above. ``'display'``: means of the sRGB values -- the gain (still
            applied in linear light) brings the capture's mean sRGB value to ``m_h * (m_c /
            m_h) ** g`` (m_c, m_h: mean sRGB of clear and hazy), so with g = 1 the hazy capture
            and the clear reference look equally bright. Hazy images have less contrast than
            clear ones, so equal linear means leave the clear reference darker on screen (about
            0.87 of the capture's mean sRGB for haze of beta 1-2 over clear_pristine crops);
            a network trained on linear metering learns to darken by that much.
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
                 keep_transmission: bool = False,
                 airlight_colour: str = 'random',
                 beta_sampling: str = 'uniform',
                 clear_prob: float = 0.0,
                 linear_light_prob: float = 0.0,
                 exposure_compensation: Sequence[float] = (0.0, 0.0),
                 exposure_metering: str = 'linear'):
        unknown = set(depth_modes) - set(DEPTH_MODES)
        if unknown:
            raise ValueError(f'Unknown depth modes {sorted(unknown)}; choose from {DEPTH_MODES}.')
        if not 0 <= beta_range[0] <= beta_range[1]:
            raise ValueError(f'beta_range must be 0 <= low <= high, got {beta_range}')
        if not 0 <= airlight_range[0] <= airlight_range[1] <= 1:
            raise ValueError(f'airlight_range must lie in [0, 1], got {airlight_range}')
        if airlight_colour not in AIRLIGHT_COLOURS:
            raise ValueError(f'airlight_colour must be one of {AIRLIGHT_COLOURS}, '
                             f'got {airlight_colour!r}')
        if beta_sampling not in BETA_SAMPLINGS:
            raise ValueError(f'beta_sampling must be one of {BETA_SAMPLINGS}, '
                             f'got {beta_sampling!r}')
        if beta_sampling == 'log_uniform' and beta_range[0] <= 0:
            raise ValueError("beta_sampling='log_uniform' needs beta_range[0] > 0, "
                             f'got {beta_range}')
        for name, prob in (('clear_prob', clear_prob), ('linear_light_prob', linear_light_prob)):
            if not 0 <= prob <= 1:
                raise ValueError(f'{name} must lie in [0, 1], got {prob}')
        if not 0 <= exposure_compensation[0] <= exposure_compensation[1]:
            raise ValueError('exposure_compensation must be 0 <= low <= high, '
                             f'got {exposure_compensation}')
        if exposure_metering not in EXPOSURE_METERINGS:
            raise ValueError(f'exposure_metering must be one of {EXPOSURE_METERINGS}, '
                             f'got {exposure_metering!r}')
        self.in_key = in_key
        self.out_key = out_key
        self.beta_range = tuple(beta_range)
        self.airlight_range = tuple(airlight_range)
        self.airlight_tint = airlight_tint
        self.depth_modes = tuple(depth_modes)
        self.field_grid = field_grid
        self.seed = seed
        self.keep_transmission = keep_transmission
        self.airlight_colour = airlight_colour
        self.beta_sampling = beta_sampling
        self.clear_prob = clear_prob
        self.linear_light_prob = linear_light_prob
        self.exposure_compensation = tuple(exposure_compensation)
        self.exposure_metering = exposure_metering

    def _rng(self, results: Dict) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng()
        key = str(results.get(f'{self.in_key}_path', results.get('sample_idx', '')))
        digest = hashlib.sha256(f'{self.seed}:{key}'.encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], 'little'))

    def transform(self, results: Dict) -> Dict:
        clear = results[self.in_key]
        if clear.ndim != 3:
            raise ValueError('SyntheticHaze expects an (H, W, C) image in '
                             f'results[{self.in_key!r}],'
                             f' got shape {clear.shape}')
        rng = self._rng(results)
        mode = self.depth_modes[rng.integers(len(self.depth_modes))]
        beta = self._draw_beta(rng)
        airlight = self._draw_airlight(rng, clear.shape[2])
        depth = pseudo_depth(mode, clear.shape[:2], rng, self.field_grid)
        linear = self.linear_light_prob > 0 and rng.uniform() < self.linear_light_prob
        if self.clear_prob > 0 and rng.uniform() < self.clear_prob:
            beta = 0.0
        transmission = np.exp(-beta * depth).astype(np.float32)
        clear01 = clear.astype(np.float32) / 255.0
        if linear:
            hazy = linear_to_srgb(apply_scattering_model(
                srgb_to_linear(clear01), transmission, srgb_to_linear(airlight)))
        else:
            hazy = apply_scattering_model(clear01, transmission, airlight)
        gain = 1.0
        if self.exposure_compensation[1] > 0:
            hazy, gain = self._expose(hazy, clear01, rng.uniform(*self.exposure_compensation),
                                      self.exposure_metering)
        results[self.out_key] = hazy * 255.0
        for meta in ('channel_order', 'color_type'):
            if f'{self.in_key}_{meta}' in results:
                results[f'{self.out_key}_{meta}'] = results[f'{self.in_key}_{meta}']
        results['haze_params'] = dict(beta=float(beta), airlight=airlight.tolist(),
                                      depth_mode=mode, linear_light=bool(linear),
                                      exposure_gain=float(gain))
        if self.keep_transmission:
            results['transmission'] = transmission
        return results

    @staticmethod
    def _expose(hazy: np.ndarray, clear: np.ndarray, strength: float,
                metering: str = 'linear') -> Tuple[np.ndarray, float]:
        """``hazy`` (H, W, C) in [0, 1] sRGB scaled in linear light by the auto-exposure gain
        of ``strength`` and ``metering`` (see the class docstring); returns the image and the
        gain."""
        hazy_linear = srgb_to_linear(hazy)
        if metering == 'linear':
            gain = float((srgb_to_linear(clear).mean() / max(float(hazy_linear.mean()), 1e-6))
                         ** strength)
        else:
            hazy_mean = max(float(hazy.mean()), 1e-6)
            gain = display_metered_gain(hazy_linear,
                                        hazy_mean * (float(clear.mean()) / hazy_mean) ** strength)
        return linear_to_srgb(np.clip(hazy_linear * gain, 0.0, 1.0)), gain

    def _draw_beta(self, rng: np.random.Generator) -> float:
        low, high = self.beta_range
        if self.beta_sampling == 'log_uniform':
            return float(np.exp(rng.uniform(np.log(low), np.log(high))))
        return float(rng.uniform(low, high))

    def _draw_airlight(self, rng: np.random.Generator, channels: int) -> np.ndarray:
        level = rng.uniform(*self.airlight_range)
        if self.airlight_colour == 'natural' and channels == 3:
            return natural_airlight(level, rng, self.airlight_tint)
        tint = rng.uniform(-self.airlight_tint, self.airlight_tint, size=channels)
        return np.clip(level + tint, 0.0, 1.0).astype(np.float32)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(beta_range={self.beta_range}, airlight_range='
                f'{self.airlight_range}, depth_modes={self.depth_modes}, seed={self.seed})')
