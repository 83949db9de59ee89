"""CaptionDegradationDataset: captioned degradations of clear photos, made on the fly."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmagic.registry import DATASETS
from torch.utils.data import Dataset

from ..utils.image_io import read_rgb, resize_shorter_side
from .image_folder import scan_images
from .transforms.caption_degradations import (FIRST_OVER_PROCESSINGS, OVER_PROCESSING,
                                              caption_sample, direction_set)


def load_photos(paths: Sequence[str], short_side: int) -> list:
    """Photos as float32 RGB in [0, 1], the shorter side resized to ``short_side``."""
    return [resize_shorter_side(read_rgb(path), short_side).astype(np.float32) / 255.0
            for path in paths]


@DATASETS.register_module()
class CaptionDegradationDataset(Dataset):
    """Samples for the compact haze-aware CLIP, drawn from a folder of clear photos.

    Each item is ``dict(image=(3, S, S), caption=str, direction=(5, 3, S, S))``, float in
    [0, 1]: one captioned degradation (:func:`caption_sample`) and one direction set
    (:func:`direction_set`), each from a random photo. The photos are loaded once (shorter side
    ``short_side``); every call draws new degradations from a generator seeded by the worker's
    torch seed (set by mmengine's ``randomness``), the index and a call counter.

    Args:
        data_root: folder of clear photos.
        indices: which of the sorted photos to use (None: all).
        image_size: side S of the crops (the CLIP input size).
        short_side: shorter side the photos are resized to before cropping.
        length: items per epoch (the draws are random, so this only sets the epoch length).
        over_processings: the kinds of :data:`OVER_PROCESSING` drawn (default: the first
            guide's four, without 'noise').
        night_haze: probability that darkness on top of haze is night haze.
        airlight_casts: probability that a direction set with tinted airlight uses the haze's
            colour as its over-processing.
        dim_scenes: probability that a direction set's clear crop is a dim scene
            (:func:`direction_set`).
    """

    def __init__(self, data_root: str, indices: Optional[Sequence[int]] = None,
                 image_size: int = 64, short_side: int = 192, length: int = 100_000,
                 over_processings: Sequence[str] = FIRST_OVER_PROCESSINGS,
                 night_haze: float = 0.0, airlight_casts: float = 0.0, dim_scenes: float = 0.0):
        unknown = set(over_processings) - set(OVER_PROCESSING)
        if unknown or not over_processings:
            raise ValueError(f'CaptionDegradationDataset: over_processings must be a non-empty '
                             f'subset of {list(OVER_PROCESSING)}, got {list(over_processings)}')
        paths = scan_images(data_root)
        if indices is not None:
            paths = [paths[i] for i in indices]
        if not paths:
            raise ValueError(f'CaptionDegradationDataset: no photos selected in {data_root!r}.')
        self.photos = load_photos(paths, short_side)
        self.image_size = image_size
        self.length = length
        self.over_processings = tuple(over_processings)
        self.night_haze = night_haze
        self.airlight_casts = airlight_casts
        self.dim_scenes = dim_scenes
        self._calls = 0

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Dict:
        self._calls += 1
        rng = np.random.default_rng([torch.initial_seed() % 2**32, index, self._calls])
        image, caption = caption_sample(self.photos[rng.integers(len(self.photos))],
                                        self.image_size, rng, self.over_processings,
                                        self.night_haze)
        direction = direction_set(self.photos[rng.integers(len(self.photos))], self.image_size,
                                  rng, self.over_processings, self.airlight_casts,
                                  self.dim_scenes)
        return dict(image=torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1),
                    caption=caption,
                    direction=torch.from_numpy(np.ascontiguousarray(direction)).permute(
                        0, 3, 1, 2))
