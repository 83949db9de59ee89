"""Clear sample photos that ship with scikit-image, split into disjoint train / val regions.

Used by the demo and the tests so that neither needs downloaded data: each photo's left 2/3 is a
training image and its right 1/3 a validation image (no pixel is in both).
"""
import os
import os.path as osp
from typing import Dict, List

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
