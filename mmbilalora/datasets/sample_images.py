"""Clear sample photos that ship with scikit-image, split into disjoint train / val regions, and
the images made from them: the demo's embedded target set, day and night haze for routing.

Used by the demo and the tests so that neither needs downloaded data: each photo's left 2/3 is a
training image and its right 1/3 a validation image (no pixel is in both).
"""
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np

SKIMAGE_PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'motorcycle_left')


def load_skimage_photos() -> Dict[str, np.ndarray]:
    """``{name: (H, W, 3) uint8 RGB}`` of scikit-image's bundled colour photos."""
    from skimage import data
    photos = {}
    for name in SKIMAGE_PHOTOS:
        if name == 'motorcycle_left':
            image = data.stereo_motorcycle()[0]
        else:
            image = getattr(data, name)()
        photos[name] = np.ascontiguousarray(image[..., :3])
    return photos


def write_sample_split(out_dir: str) -> Dict[str, List[str]]:
    """Write ``out_dir/train/*.png`` and ``out_dir/val/*.png``; returns the written paths."""
    import cv2
    written = {'train': [], 'val': []}
    for split in written:
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
    for name, image in load_skimage_photos().items():
        cut = image.shape[1] * 2 // 3
        for split, part in (('train', image[:, :cut]), ('val', image[:, cut:])):
            path = osp.join(out_dir, split, f'{name}.png')
            if not cv2.imwrite(path, cv2.cvtColor(part, cv2.COLOR_RGB2BGR)):
                raise OSError(f'Could not write {path!r}')
            written[split].append(path)
    return written


# Haze of the demo's target domain: coloured, finely non-homogeneous, with sensor noise and JPEG
# (the base was pretrained on grey, bluish or yellowish airlight, smoother, milder noise).
TARGET_HAZE = dict(type='SyntheticHaze', beta_range=(1.0, 2.2), airlight_range=(0.6, 0.9),
                   airlight_tint=0.25, depth_modes=('nonhomogeneous', 'mixed'), field_grid=8)
TARGET_NOISE = dict(type='SensorNoiseJPEG', noise_std=(0.01, 0.03), jpeg_quality=(50, 80))


def degrade_to_target(clear: np.ndarray, name: str, seed: int) -> np.ndarray:
    """(H, W, 3) uint8 clear photo -> uint8 photo with the target domain's haze, noise and JPEG
    (deterministic in ``name`` and ``seed``)."""
    from mmagic.registry import TRANSFORMS
    from mmengine.registry import init_default_scope
    init_default_scope('mmagic')
    results = dict(gt=clear, gt_path=name)
    results = TRANSFORMS.build(dict(TARGET_HAZE, seed=seed))(results)
    results['img'] = np.clip(np.round(results['img']), 0, 255).astype(np.uint8)
    return TRANSFORMS.build(dict(TARGET_NOISE, seed=seed))(results)['img']


def write_target_set(out_dir: str, realizations: int = 4, max_side: int = 320,
                     seed: int = 7) -> Dict[str, str]:
    """The demo's embedded target set, from scikit-image's photos (unseen in pretraining).

    Writes ``train/`` (``realizations`` hazy versions of each photo; no references used) and
    ``eval/hazy`` + ``eval/clear`` (one further hazy version of each photo and its clear
    reference). Images are resized so that their longer side is ``max_side`` pixels.
    """
    import cv2
    folders = {k: osp.join(out_dir, *k.split('/')) for k in ('train', 'eval/hazy', 'eval/clear')}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)

    def save(path, rgb):
        if not cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OSError(f'Could not write {path!r}')

    for name, image in load_skimage_photos().items():
        scale = max_side / max(image.shape[:2])
        size = (round(image.shape[1] * scale) // 4 * 4, round(image.shape[0] * scale) // 4 * 4)
        clear = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        for k in range(realizations):
            save(osp.join(folders['train'], f'{name}_{k}.png'),
                 degrade_to_target(clear, f'{name}_{k}', seed))
        save(osp.join(folders['eval/hazy'], f'{name}.png'),
             degrade_to_target(clear, f'{name}_eval', seed))
        save(osp.join(folders['eval/clear'], f'{name}.png'), clear)
    return folders


def day_and_night_images(size: int = 224) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """The same scenes (scikit-image's photos), ``size`` x ``size`` uint8 RGB, in daytime haze
    (bright, near-white airlight) and in nighttime haze (the scene at 15-25 % of its
    brightness, a dim orange airlight); uniform transmission 0.35-0.5, fixed seed."""
    import cv2

    from .transforms.synthetic_haze import apply_scattering_model
    rng = np.random.default_rng(0)
    day, night = [], []
    for photo in load_skimage_photos().values():
        clear = cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA) / 255.0
        t = np.full((size, size), rng.uniform(0.35, 0.5), np.float32)
        airlight = np.float32(rng.uniform(0.8, 0.95)) * np.ones(3, np.float32)
        day.append(apply_scattering_model(clear.astype(np.float32), t, airlight))
        dark = (clear * rng.uniform(0.15, 0.25)).astype(np.float32)
        glow = np.array([0.3, 0.2, 0.1], np.float32) * rng.uniform(0.8, 1.2)
        night.append(apply_scattering_model(dark, t, glow))

    def to_uint8(img):
        return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return [to_uint8(i) for i in day], [to_uint8(i) for i in night]
