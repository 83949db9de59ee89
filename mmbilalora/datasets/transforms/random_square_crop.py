"""RandomSquareCrop: the authors' training crop for unlabeled hazy photos."""
from typing import Dict, Sequence

import cv2
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class RandomSquareCrop(BaseTransform):
    """Crop a random square of side ``min(size, H, W)`` and resize it to ``size`` x ``size``.

    Images at least ``size`` on both sides are cropped without resampling; smaller ones give
    their largest random square, upscaled (bicubic), so every sample has the same shape.

    Args:
        keys: results keys of (H, W, C) images to crop (same window for all).
        size: output side (pixels).
    """

    def __init__(self, keys: Sequence[str] = ('img', ), size: int = 224):
        self.keys = list(keys)
        self.size = size

    def transform(self, results: Dict) -> Dict:
        h, w = results[self.keys[0]].shape[:2]
        side = min(self.size, h, w)
        top = np.random.randint(0, h - side + 1)
        left = np.random.randint(0, w - side + 1)
        for key in self.keys:
            crop = results[key][top:top + side, left:left + side]
            if side != self.size:
                crop = cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_CUBIC)
            results[key] = crop
        results['crop_bbox'] = [left, top, side, side]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys}, size={self.size})'
