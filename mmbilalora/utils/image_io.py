"""Reading photos as 8-bit RGB, resizing them and writing results atomically.

Documented handling of unusual inputs (:func:`read_rgb`):

- EXIF orientation is applied (the photo is returned the way viewers show it);
- grayscale (L, I, I;16, F) is replicated to three channels;
- 16-bit images are scaled to 8 bits (value / 257, rounded);
- an alpha channel is dropped (RGBA, LA, palette with transparency);
- a file that is not an image, or is truncated, raises ``ValueError`` naming the file.

Outputs never replace their input (:func:`safe_output_path`).
"""
import os.path as osp
from typing import Optional

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .atomic_io import atomic_write_bytes


def read_rgb(path: str) -> np.ndarray:
    """The image at ``path`` as an (H, W, 3) uint8 RGB array (see module docstring)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file not found: {path!r}')
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            img.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f'Cannot read image file {path!r}: {err}') from err
    if img.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        array = np.asarray(img, dtype=np.float64)
        scale = 257.0 if array.max() > 255 or img.mode.startswith('I;16') else 1.0
        gray = np.clip(np.round(array / scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if img.mode == 'F':
        gray = np.clip(np.round(np.asarray(img, dtype=np.float64)), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    return np.asarray(img.convert('RGB'), dtype=np.uint8).copy()


def resize_shorter_side(rgb: np.ndarray, side: int) -> np.ndarray:
    """``rgb`` (H, W, C) resized (area interpolation, aspect kept) so that its shorter side is
    ``side`` pixels and neither side is below it."""
    scale = side / min(rgb.shape[:2])
    size = (max(round(rgb.shape[1] * scale), side), max(round(rgb.shape[0] * scale), side))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 RGB array."""
    ok, encoded = cv2.imencode('.png', np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError('PNG encoding failed')
    return encoded.tobytes()


def write_rgb(path: str, rgb: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB array as PNG (or JPEG for .jpg/.jpeg) atomically."""
    if path.lower().endswith(('.jpg', '.jpeg')):
        ok, encoded = cv2.imencode('.jpg', np.ascontiguousarray(rgb[..., ::-1]),
                                   [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise OSError(f'JPEG encoding failed for {path!r}')
        atomic_write_bytes(path, encoded.tobytes())
    else:
        atomic_write_bytes(path, encode_png(rgb))


def safe_output_path(out_root: str, relative: str, input_path: Optional[str]) -> str:
    """``out_root/relative`` with a .png suffix; refuses to point at the input file itself."""
    target = osp.join(out_root, osp.splitext(relative)[0] + '.png')
    if input_path and osp.realpath(target) == osp.realpath(input_path):
        raise ValueError(f'Refusing to overwrite the input image {input_path!r}; choose an output '
                         'folder outside the input folder.')
    return target
