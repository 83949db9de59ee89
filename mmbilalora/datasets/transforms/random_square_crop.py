"""RandomSquareCrop: the authors' training crop for unlabeled hazy photos."""
from typing import Dict, Sequence

import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image

INTERPOLATIONS = {'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC}


@TRANSFORMS.register_module()
class RandomSquareCrop(BaseTransform):
    """Crop a random square of side ``min(size, H, W)`` and resize it to ``size`` x ``size``.

    Images at least ``size`` on both sides are cropped without resampling; smaller ones give
    their largest random square, upscaled with Pillow's ``interpolation`` (antialiased), so every
    sample has the same shape. The default, ``'bilinear'``, is what the authors' loader does
    (torchvision ``Resize`` on a PIL image, default interpolation); ``'bicubic'`` is an option.

    Args:
        keys: results keys of (H, W, C) uint8 images to crop (same window for all).
        size: output side (pixels).
        interpolation: ``'bilinear'`` or ``'bicubic'``.
    """

    def __init__(self, keys: Sequence[str] = ('img', ), size: int = 224,
                 interpolation: str = 'bilinear'):
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f'interpolation must be one of {sorted(INTERPOLATIONS)}, got '
                             f'{interpolation!r}')
        self.keys = list(keys)
        self.size = size
        self.interpolation = interpolation

    def _upscale(self, crop: np.ndarray) -> np.ndarray:
        squeeze = crop.ndim == 3 and crop.shape[2] == 1
        image = Image.fromarray(crop[..., 0] if squeeze else crop)
        # np.array, not np.asarray: Pillow's buffer is read-only and the transforms after this
        # one (MMagic's Flip) work in place
        out = np.array(image.resize((self.size, self.size), INTERPOLATIONS[self.interpolation]))
        return out[..., None] if squeeze else out

    def transform(self, results: Dict) -> Dict:
        h, w = results[self.keys[0]].shape[:2]
        side = min(self.size, h, w)
        top = np.random.randint(0, h - side + 1)
        left = np.random.randint(0, w - side + 1)
        for key in self.keys:
            crop = results[key][top:top + side, left:left + side]
            results[key] = self._upscale(crop) if side != self.size else crop
        results['crop_bbox'] = [left, top, side, side]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(keys={self.keys}, size={self.size}, '
                f'interpolation={self.interpolation!r})')
