"""SensorNoiseJPEG: Gaussian sensor noise followed by JPEG compression."""
import hashlib
from typing import Dict, Optional, Sequence

import cv2
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class SensorNoiseJPEG(BaseTransform):
    """Add Gaussian noise (std drawn from ``noise_std``, fraction of white) to ``results[key]``
    ((H, W, C) in [0, 255]), then JPEG-compress it at a quality drawn from ``jpeg_quality``.

    With ``seed`` set the degradation depends only on (seed, image path), as in
    ``SyntheticHaze``. ``prob`` is the probability of degrading at all (otherwise the image is
    only rounded to uint8). Output: uint8 (H, W, C).
    """

    def __init__(self, key: str = 'img', noise_std: Sequence[float] = (0.01, 0.03),
                 jpeg_quality: Sequence[int] = (50, 80), seed: Optional[int] = None,
                 prob: float = 1.0):
        if not 0 <= noise_std[0] <= noise_std[1]:
            raise ValueError(f'noise_std must be 0 <= low <= high, got {noise_std}')
        if not 1 <= jpeg_quality[0] <= jpeg_quality[1] <= 100:
            raise ValueError(f'jpeg_quality must lie in [1, 100], got {jpeg_quality}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must lie in [0, 1], got {prob}')
        self.prob = prob
        self.key = key
        self.noise_std = tuple(noise_std)
        self.jpeg_quality = tuple(jpeg_quality)
        self.seed = seed

    def _rng(self, results: Dict) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng()
        name = str(results.get('gt_path', results.get(f'{self.key}_path', '')))
        digest = hashlib.sha256(f'noise-jpeg:{self.seed}:{name}'.encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], 'little'))

    def transform(self, results: Dict) -> Dict:
        rng = self._rng(results)
        image = results[self.key].astype(np.float32)
        if self.prob < 1 and rng.uniform() >= self.prob:
            results[self.key] = np.clip(np.round(image), 0, 255).astype(np.uint8)
            results['noise_jpeg_params'] = None
            return results
        std = rng.uniform(*self.noise_std) * 255
        noisy = np.clip(image + rng.normal(0, std, image.shape), 0, 255).astype(np.uint8)
        quality = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1))
        ok, encoded = cv2.imencode('.jpg', noisy, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError('JPEG encoding failed')
        results[self.key] = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
        results['noise_jpeg_params'] = dict(noise_std=std / 255, jpeg_quality=quality)
        return results
