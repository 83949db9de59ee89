"""Captioned degradations of clear photos, for training the compact haze-aware CLIP.

All images are float32 (H, W, 3) RGB in [0, 1]. Three families:

- haze (the scattering model with :class:`SyntheticHaze`'s layouts and airlights, named by
  density and, for yellowish / bluish / coloured airlight, by colour);
- distractors a dehazer should not be rewarded for removing or adding: noise, blur, darkness,
  low contrast (alone or on top of haze); darkness on top of haze can be night haze (a dim scene
  in haze lit by artificial light: a dim orange-to-yellow airlight);
- over-processing, what an over-eager dehazer produces from a clear or partly dehazed photo:
  darkening, crushed contrast, a colour cast, over-saturation, amplified noise (fine grain and
  blotches, what a dehazer's contrast gain makes of sensor noise and JPEG in flat regions),
  crushed shadows (a mild gamma above 1: mid-tones and shadows darker, highlights kept -- what
  an adapted dehazer did to dim real photos), stretched detail (the texture and faint grain of
  a photo stretched beyond their natural size, what a dehazer's extra contrast does to a noisy,
  compressed input), and the haze's own colour left in a dehazed photo
  (:func:`airlight_cast`). The first guide was trained on the first four
  (:data:`FIRST_OVER_PROCESSINGS`); the options that add the others default to off so that its
  config still reproduces it.

:func:`caption_sample` draws one (image, caption) pair for the contrastive objective;
:func:`direction_set` draws the images of the direction-ranking objective.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from .synthetic_haze import DEPTH_MODES, apply_scattering_model, pseudo_depth

HAZY_CAPTION = 'a photo with haze'
CLEAR_CAPTION = 'a clear photo'
CLEAR_CAPTIONS = (CLEAR_CAPTION, 'a sharp clear photo', 'a photo on a clear day')
NAMED_AIRLIGHTS = {'yellowish': (1.0, 0.9, 0.7), 'bluish': (0.8, 0.9, 1.0), '': (1.0, 1.0, 1.0)}
DISTRACTORS = {'noise': 'noisy', 'blur': 'blurry', 'dark': 'dark', 'low contrast': 'low contrast'}
OVER_PROCESSING = {'dark': 'a dark photo', 'contrast': 'a photo with too much contrast',
                   'cast': 'a photo with a colour cast', 'saturation': 'an oversaturated photo',
                   'noise': 'a noisy photo', 'shadows': 'a photo with crushed shadows',
                   'sharpened': 'an oversharpened photo'}
FIRST_OVER_PROCESSINGS = ('dark', 'contrast', 'cast', 'saturation')  # the first guide's
DIRECTION_SET = ('clear', 'hazy', 'over-processed clear', 'half dehazed',
                 'over-processed half dehazed')


def random_square_crop(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square of ``photo`` (side between ``size`` and the shorter side), randomly
    mirrored, resized to ``size`` x ``size`` (area interpolation)."""
    h, w = photo.shape[:2]
    side = int(rng.integers(size, min(h, w) + 1))
    top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = photo[top:top + side, left:left + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=cv2.INTER_AREA)


def random_transmission(shape: Tuple[int, int], beta: float,
                        rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 transmission ``exp(-beta * depth)`` of a random :data:`DEPTH_MODES`
    layout."""
    depth = pseudo_depth(DEPTH_MODES[rng.integers(len(DEPTH_MODES))], shape, rng)
    return np.exp(-beta * depth).astype(np.float32)


def density_words(beta: float) -> str:
    """How a caption names haze of extinction ``beta``: 'light haze', 'haze' or 'thick haze'."""
    return 'thick haze' if beta > 1.6 else ('light haze' if beta < 0.9 else 'haze')


def add_haze_with_airlight(img: np.ndarray, rng: np.random.Generator,
                           beta: float) -> Tuple[np.ndarray, str, np.ndarray]:
    """Haze of extinction ``beta`` with a random layout; airlight grey, yellowish, bluish (named
    in the caption) or, one time in four, of a random hue ('coloured haze'). Returns the hazy
    image, its caption and the airlight (3,)."""
    level = rng.uniform(0.6, 1.0)
    if rng.random() < 0.25:
        tint, word = 1.0 + rng.uniform(-0.2, 0.2, 3), 'coloured'
    else:
        word = list(NAMED_AIRLIGHTS)[rng.integers(len(NAMED_AIRLIGHTS))]
        tint = np.asarray(NAMED_AIRLIGHTS[word])
    airlight = np.clip(level * tint, 0, 1).astype(np.float32)
    hazy = apply_scattering_model(img, random_transmission(img.shape[:2], beta, rng), airlight)
    return hazy, f'a photo with {word} {density_words(beta)}'.replace('  ', ' '), airlight


def add_haze(img: np.ndarray, rng: np.random.Generator,
             beta: float) -> Tuple[np.ndarray, str]:
    """:func:`add_haze_with_airlight` without the airlight."""
    return add_haze_with_airlight(img, rng, beta)[:2]


def is_tinted(airlight: np.ndarray, tolerance: float = 0.05) -> bool:
    """Whether ``airlight`` (3,) is coloured: its channels differ by more than ``tolerance`` of
    their mean."""
    return bool(np.ptp(airlight) > tolerance * airlight.mean())


def airlight_cast(img: np.ndarray, airlight: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``img`` tinted with the colour of ``airlight`` (3,): what a dehazer that lifts the veil
    but keeps the haze's colour produces. Channel gains ``(airlight / mean) ** s``, s uniform in
    0.5-1."""
    gains = (airlight / airlight.mean()) ** rng.uniform(0.5, 1.0)
    return np.clip(img * gains, 0, 1).astype(np.float32)


def add_night_haze(img: np.ndarray, rng: np.random.Generator,
                   beta: float) -> Tuple[np.ndarray, str]:
    """Night haze of extinction ``beta``: ``img`` dimmed to 15-45 % under a random haze layout
    whose airlight is the glow of artificial light (red 1, green 0.55-0.85, blue 0.2-0.6 of a
    level 0.15-0.45); captioned as darkness on top of haze ('a dark photo with thick haze')."""
    glow = np.array([1.0, rng.uniform(0.55, 0.85), rng.uniform(0.2, 0.6)], np.float32)
    airlight = (rng.uniform(0.15, 0.45) * glow).astype(np.float32)
    transmission = random_transmission(img.shape[:2], beta, rng)
    dim = (img * rng.uniform(0.15, 0.45)).astype(np.float32)
    hazy = apply_scattering_model(dim, transmission, airlight)
    return hazy, f'a dark photo with {density_words(beta)}'


def add_distractor(img: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One of :data:`DISTRACTORS` applied to ``img``."""
    if kind == 'noise':
        return np.clip(img + rng.normal(0, rng.uniform(0.04, 0.12), img.shape), 0, 1)
    if kind == 'blur':
        return cv2.GaussianBlur(img, (0, 0), rng.uniform(1.2, 3.0))
    if kind == 'dark':
        return img * rng.uniform(0.15, 0.45)
    mean = img.mean()
    return mean + (img - mean) * rng.uniform(0.25, 0.5)


def amplify_noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``img`` with fine grain (per-pixel Gaussian, std 0.02-0.08) and blotches (a smooth
    multiplicative field from a 3x3 to 8x8 grid of Gaussian values, std 0.04-0.12)."""
    h, w = img.shape[:2]
    cells = int(rng.integers(3, 9))
    field = rng.normal(0, rng.uniform(0.04, 0.12), (cells, cells)).astype(np.float32)
    blotches = cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    grain = rng.normal(0, rng.uniform(0.02, 0.08), img.shape)
    return img * (1.0 + blotches) + grain


def scale_fine_detail(img: np.ndarray, sigma: float, gain: float) -> np.ndarray:
    """(H, W, 3) float32 ``img`` with its fine detail (the difference from a Gaussian blur of
    ``sigma`` px) times ``gain``; any value range, not clipped."""
    smooth = cv2.GaussianBlur(img, (0, 0), sigma)
    return smooth + gain * (img - smooth)


def stretch_detail(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``img`` with faint grain (per-pixel Gaussian, std 0.003-0.015) whose fine detail (sigma
    0.7-1.5 px, :func:`scale_fine_detail`) is then stretched 1.3-2.5 times."""
    noisy = (img + rng.normal(0, rng.uniform(0.003, 0.015), img.shape)).astype(np.float32)
    return scale_fine_detail(noisy, rng.uniform(0.7, 1.5), rng.uniform(1.3, 2.5))


def over_process(img: np.ndarray, rng: np.random.Generator, kind: Optional[str] = None,
                 kinds: Sequence[str] = tuple(OVER_PROCESSING)) -> Tuple[np.ndarray, str]:
    """What an over-eager dehazer does to ``img``: one of :data:`OVER_PROCESSING` (``kind``, or
    a random one of ``kinds`` when ``kind`` is None), with its caption."""
    kind = kind or kinds[rng.integers(len(kinds))]
    if kind == 'dark':
        out = img * rng.uniform(0.45, 0.85) if rng.random() < 0.5 else img**rng.uniform(1.3, 2.2)
    elif kind == 'contrast':
        mean = img.mean()
        out = (img - mean) * rng.uniform(1.4, 2.0) + mean - rng.uniform(0.0, 0.15)
    elif kind == 'cast':
        tint = 1.0 + rng.uniform(-0.18, 0.18, 3)
        out = img * (tint / tint.mean())
    elif kind == 'saturation':
        grey = img.mean(-1, keepdims=True)
        out = grey + (img - grey) * rng.uniform(1.5, 2.2)
    elif kind == 'noise':
        out = amplify_noise(img, rng)
    elif kind == 'shadows':
        out = img**rng.uniform(1.15, 1.6)
    elif kind == 'sharpened':
        out = stretch_detail(img, rng)
    else:
        raise ValueError(f'Unknown over-processing {kind!r}; choose from {list(OVER_PROCESSING)}')
    return np.clip(out, 0, 1).astype(np.float32), OVER_PROCESSING[kind]


def caption_sample(photo: np.ndarray, size: int, rng: np.random.Generator,
                   kinds: Sequence[str] = FIRST_OVER_PROCESSINGS,
                   night_haze: float = 0.0) -> Tuple[np.ndarray, str]:
    """One degraded crop (size, size, 3) and its caption: clear 25 %, haze 30 %, distractor
    15 %, haze + distractor 15 %, over-processed 15 % (one of ``kinds``). Darkness on top of haze
    is, with probability ``night_haze``, :func:`add_night_haze`."""
    img = random_square_crop(photo, size, rng)
    kind = rng.choice(['clear', 'haze', 'distractor', 'haze+distractor', 'over'],
                      p=[.25, .30, .15, .15, .15])
    if kind == 'clear':
        return img, CLEAR_CAPTIONS[rng.integers(len(CLEAR_CAPTIONS))]
    if kind == 'over':
        return over_process(img, rng, kinds=kinds)
    distractor = list(DISTRACTORS)[rng.integers(len(DISTRACTORS))]
    if kind == 'distractor':
        return (add_distractor(img, distractor, rng).astype(np.float32),
                f'a {DISTRACTORS[distractor]} photo')
    if (night_haze and kind == 'haze+distractor' and distractor == 'dark'
            and rng.random() < night_haze):
        return add_night_haze(img, rng, rng.uniform(0.5, 2.5))
    hazy, caption = add_haze(img, rng, rng.uniform(0.5, 2.5))
    if kind == 'haze':
        return hazy, caption
    return (add_distractor(hazy, distractor, rng).astype(np.float32),
            f'a {DISTRACTORS[distractor]} ' + caption[2:])


def direction_set(photo: np.ndarray, size: int, rng: np.random.Generator,
                  kinds: Sequence[str] = FIRST_OVER_PROCESSINGS,
                  airlight_casts: float = 0.0, dim_scenes: float = 0.0) -> np.ndarray:
    """(5, size, size, 3): the crops named in :data:`DIRECTION_SET` -- a clear crop, the same
    crop hazy, the clear crop over-processed, the half-dehazed crop (mean of clear and hazy) and
    the half-dehazed crop over-processed. When the airlight is tinted, with probability
    ``airlight_casts`` both over-processings are :func:`airlight_cast` (the haze's colour left in
    the dehazed photo) instead of a random one of ``kinds``. With probability ``dim_scenes`` the
    clear crop is a dim scene (dusk, overcast: the photo at 35-70 % of its brightness) under
    haze of the usual airlight, so that darkening a dim scene further is ranked below it."""
    clear = random_square_crop(photo, size, rng)
    if dim_scenes and rng.random() < dim_scenes:
        clear = (clear * rng.uniform(0.35, 0.7)).astype(np.float32)
    beta = float(np.exp(rng.uniform(np.log(0.3), np.log(2.5))))
    hazy, _, airlight = add_haze_with_airlight(clear, rng, beta)
    half = (0.5 * (clear + hazy)).astype(np.float32)
    if airlight_casts and is_tinted(airlight) and rng.random() < airlight_casts:
        return np.stack([clear, hazy, airlight_cast(clear, airlight, rng), half,
                         airlight_cast(half, airlight, rng)])
    return np.stack([clear, hazy, over_process(clear, rng, kinds=kinds)[0], half,
                     over_process(half, rng, kinds=kinds)[0]])
