"""Captioned degradations of clear photos, for training the compact haze-aware CLIP.

All images are float32 (H, W, 3) RGB in [0, 1]. Three families:

- haze (the scattering model with :class:`SyntheticHaze`'s layouts and airlights, named by
  density and, for yellowish / bluish / coloured airlight, by colour);
- distractors a dehazer should not be rewarded for removing or adding: noise, blur, darkness,
  low contrast (alone or on top of haze);
- over-processing, what an over-eager dehazer produces from a clear or partly dehazed photo:
  darkening, crushed contrast, a colour cast, over-saturation.

:func:`caption_sample` draws one (image, caption) pair for the contrastive objective;
:func:`direction_set` draws the images of the direction-ranking objective.
"""
from typing import Tuple

import cv2
import numpy as np

from .synthetic_haze import DEPTH_MODES, apply_scattering_model, pseudo_depth

HAZY_CAPTION = 'a photo with haze'
CLEAR_CAPTION = 'a clear photo'
CLEAR_CAPTIONS = (CLEAR_CAPTION, 'a sharp clear photo', 'a photo on a clear day')
NAMED_AIRLIGHTS = {'yellowish': (1.0, 0.9, 0.7), 'bluish': (0.8, 0.9, 1.0), '': (1.0, 1.0, 1.0)}
DISTRACTORS = {'noise': 'noisy', 'blur': 'blurry', 'dark': 'dark', 'low contrast': 'low contrast'}
OVER_PROCESSING = {'dark': 'a dark photo', 'contrast': 'a photo with too much contrast',
                   'cast': 'a photo with a colour cast', 'saturation': 'an oversaturated photo'}
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


def add_haze(img: np.ndarray, rng: np.random.Generator,
             beta: float) -> Tuple[np.ndarray, str]:
    """Haze of extinction ``beta`` with a random layout; airlight grey, yellowish, bluish (named
    in the caption) or, one time in four, of a random hue ('coloured haze')."""
    level = rng.uniform(0.6, 1.0)
    if rng.random() < 0.25:
        tint, word = 1.0 + rng.uniform(-0.2, 0.2, 3), 'coloured'
    else:
        word = list(NAMED_AIRLIGHTS)[rng.integers(len(NAMED_AIRLIGHTS))]
        tint = np.asarray(NAMED_AIRLIGHTS[word])
    airlight = np.clip(level * tint, 0, 1).astype(np.float32)
    depth = pseudo_depth(DEPTH_MODES[rng.integers(len(DEPTH_MODES))], img.shape[:2], rng)
    hazy = apply_scattering_model(img, np.exp(-beta * depth).astype(np.float32), airlight)
    density = 'thick haze' if beta > 1.6 else ('light haze' if beta < 0.9 else 'haze')
    return hazy, f'a photo with {word} {density}'.replace('  ', ' ')


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


def over_process(img: np.ndarray, rng: np.random.Generator,
                 kind: str = None) -> Tuple[np.ndarray, str]:
    """What an over-eager dehazer does to ``img``: one of :data:`OVER_PROCESSING` (random when
    ``kind`` is None), with its caption."""
    kind = kind or list(OVER_PROCESSING)[rng.integers(len(OVER_PROCESSING))]
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
    else:
        raise ValueError(f'Unknown over-processing {kind!r}; choose from {list(OVER_PROCESSING)}')
    return np.clip(out, 0, 1).astype(np.float32), OVER_PROCESSING[kind]


def caption_sample(photo: np.ndarray, size: int,
                   rng: np.random.Generator) -> Tuple[np.ndarray, str]:
    """One degraded crop (size, size, 3) and its caption: clear 25 %, haze 30 %, distractor
    15 %, haze + distractor 15 %, over-processed 15 %."""
    img = random_square_crop(photo, size, rng)
    kind = rng.choice(['clear', 'haze', 'distractor', 'haze+distractor', 'over'],
                      p=[.25, .30, .15, .15, .15])
    if kind == 'clear':
        return img, CLEAR_CAPTIONS[rng.integers(len(CLEAR_CAPTIONS))]
    if kind == 'over':
        return over_process(img, rng)
    distractor = list(DISTRACTORS)[rng.integers(len(DISTRACTORS))]
    if kind == 'distractor':
        return (add_distractor(img, distractor, rng).astype(np.float32),
                f'a {DISTRACTORS[distractor]} photo')
    hazy, caption = add_haze(img, rng, rng.uniform(0.5, 2.5))
    if kind == 'haze':
        return hazy, caption
    return (add_distractor(hazy, distractor, rng).astype(np.float32),
            f'a {DISTRACTORS[distractor]} ' + caption[2:])


def direction_set(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """(5, size, size, 3): the crops named in :data:`DIRECTION_SET` -- a clear crop, the same
    crop hazy, the clear crop over-processed, the half-dehazed crop (mean of clear and hazy) and
    the half-dehazed crop over-processed."""
    clear = random_square_crop(photo, size, rng)
    hazy, _ = add_haze(clear, rng, float(np.exp(rng.uniform(np.log(0.3), np.log(2.5)))))
    half = (0.5 * (clear + hazy)).astype(np.float32)
    return np.stack([clear, hazy, over_process(clear, rng)[0], half, over_process(half, rng)[0]])
