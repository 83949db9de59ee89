"""Inference: build a dehazer from a config + checkpoint (+ adapter), dehaze images in tiles."""
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmagic.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ..models.data_preprocessors import PixelConvention, pixel_convention
from ..models.lora import load_adapter, set_adapter
from ..models.utils import (deferring_exposure_floors, holding_image_statistics,
                            pad_to_multiple, resize_bicubic, resize_to_multiple)
from ..utils.checkpoint_io import read_checkpoint


@dataclass
class Dehazer:
    """A generator with the pixel convention of its data preprocessor (per channel):
    ``network input = (rgb_uint8 - input_mean) / input_std`` and
    ``rgb = output * output_std + output_mean``.
    """
    generator: nn.Module
    pixels: PixelConvention
    device: str = 'cpu'

    def _view(self, values) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)

    def to_network(self, rgb: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float pixels in [0, 255] -> network input."""
        return (rgb - self._view(self.pixels.input_mean)) / self._view(self.pixels.input_std)

    def to_pixels(self, output: torch.Tensor) -> torch.Tensor:
        """Network output -> (N, 3, H, W) float pixels clamped to [0, 255]."""
        return (output * self._view(self.pixels.output_std)
                + self._view(self.pixels.output_mean)).clamp(0, 255)


def _generator_state(checkpoint: dict, path: str) -> dict:
    state = checkpoint.get('state_dict', checkpoint)
    if any(k.startswith('generator.') for k in state):
        state = {k[len('generator.'):]: v for k, v in state.items() if k.startswith('generator.')}
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    if any(k.endswith(('lora_A', 'lora_B', 'lora_gate.alpha')) for k in state):
        raise ValueError(f'{path!r} is a BiLaLoRA training checkpoint; dehaze with its merged '
                         'checkpoint (bilalora_merged.pth) or with the base checkpoint plus '
                         '--adapter bilalora_adapter.pth.')
    return state


def load_dehazer(config: str, checkpoint: Optional[str], adapter: Optional[str] = None,
                 device: str = 'cpu', adapters: Optional[Dict[str, str]] = None) -> Dehazer:
    """Build ``cfg.model.generator`` and load a base / merged / official checkpoint into it.

    Args:
        config: any config whose ``model`` has ``generator`` and ``data_preprocessor``.
        checkpoint: BaseEditModel, merged BiLaLoRA or official (``module.``-prefixed) weights.
        adapter: optional BiLaLoRA adapter file attached on top.
        adapters: ``{name: adapter file}`` put into the generator's adapter bank (switch with
            ``set_adapter(dehazer.generator, name)``); the base is active after loading.
    """
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    generator = MODELS.build(cfg.model.generator)
    if checkpoint:
        loaded = read_checkpoint(checkpoint, map_location='cpu')
        missing, unexpected = generator.load_state_dict(_generator_state(loaded, checkpoint),
                                                        strict=False)
        if missing or unexpected:
            raise ValueError(f'Checkpoint {checkpoint!r} does not fit {type(generator).__name__}'
                             f': missing {missing[:5]}, unexpected {unexpected[:5]}.')
    if adapter:
        load_adapter(generator, adapter)
    for name, path in (adapters or {}).items():
        load_adapter(generator, path, name=name)
    if adapters:
        set_adapter(generator, None)
    preprocessor = MODELS.build(cfg.model.get('data_preprocessor') or dict(
        type='DataPreprocessor', mean=[0.0] * 3, std=[255.0] * 3))
    return Dehazer(generator.to(device).eval(), pixel_convention(preprocessor), device)


def tile_windows(size: int, tile: int, overlap: int) -> Iterator[Tuple[int, int]]:
    """Start/stop pairs covering ``range(size)`` with tiles of ``tile`` overlapping ``overlap``."""
    if size <= tile:
        yield 0, size
        return
    step = tile - overlap
    starts = list(range(0, size - tile, step)) + [size - tile]
    for start in starts:
        yield start, start + tile


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    """Blending weights along one tile axis.

    Inside an overlap the outer quarter of each tile (reflection-padded, so its pixels lack
    their true neighbours) gets weight 0, the middle half a linear ramp, so the two tiles'
    weights sum to 1 there; image borders keep weight 1.
    """
    weights = np.ones(length, np.float32)
    if overlap:
        margin = overlap // 4
        i = np.arange(overlap, dtype=np.float32)
        rise = np.clip((i - margin + 1) / (overlap - 2 * margin + 1), 0, 1)
        if not at_start:
            weights[:overlap] = rise
        if not at_end:
            weights[-overlap:] = rise[::-1]
    return weights


@torch.no_grad()
def dehaze_array(dehazer: Dehazer, rgb: np.ndarray, tile: Optional[int] = 512,
                 overlap: int = 32, pad_multiple: int = 32,
                 resize_multiple: int = 0) -> np.ndarray:
    """Dehaze an (H, W, 3) uint8 RGB image; the result has the same shape and dtype.

    Images larger than ``tile`` on a side are processed in overlapping tiles blended with linear
    ramps (see :func:`_ramp`), so the network's memory is bounded by the tile size; the input
    tensor and a ``DarkChannelPrior``'s statistics are whole-image (networks with image-global
    statistics, such as DehazeFormer's RLN and SKFusion pooling, see each tile's statistics
    instead of the whole image's; ``tile=None`` processes the image at once; a
    ``DarkChannelPrior`` inside the generator estimates its airlight and haze gate on the whole
    image, see :func:`~mmbilalora.models.utils.holding_image_statistics`, and an
    ``ExposureFloor`` lifts the assembled image by the whole image's strength, see
    :func:`~mmbilalora.models.utils.deferring_exposure_floors`). Each tile is
    reflection-padded to ``pad_multiple`` and cropped back. ``resize_multiple=N > 0`` reproduces
    the authors' test-time sizing instead of padding: the network input is resized (bicubic,
    antialiased) to the largest multiple of N on each side, given to the network as it is, and
    the output resized back to the tile's size (see
    ``mmbilalora.models.utils.resize_to_multiple``).
    """
    h, w = rgb.shape[:2]
    out = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w, 1), np.float32)
    tile_h = tile or h
    tile_w = tile or w
    rows = list(tile_windows(h, tile_h, overlap))
    cols = list(tile_windows(w, tile_w, overlap))
    pixels = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float()
    whole = dehazer.to_network(pixels.to(dehazer.device))
    with holding_image_statistics(dehazer.generator, whole), \
            deferring_exposure_floors(dehazer.generator) as floors:
        for top, bottom in rows:
            for left, right in cols:
                x = whole[..., top:bottom, left:right]
                ph, pw = x.shape[-2:]
                if resize_multiple:
                    y = resize_bicubic(dehazer.generator(resize_to_multiple(x, resize_multiple)),
                                       (ph, pw))
                else:
                    y = dehazer.generator(pad_to_multiple(x, pad_multiple))[..., :ph, :pw]
                y = dehazer.to_pixels(y)[0].permute(1, 2, 0).cpu().numpy()
                wy = _ramp(ph, overlap, top == 0, bottom == h)
                wx = _ramp(pw, overlap, left == 0, right == w)
                blend = (wy[:, None] * wx[None, :])[..., None]
                out[top:bottom, left:right] += y * blend
                weight[top:bottom, left:right] += blend
    out = np.clip(out / weight, 0, 255)
    if floors:
        lifted = torch.from_numpy(out).permute(2, 0, 1)[None] / 255
        for floor in floors:
            lifted = floor.lift_whole(lifted, pixels / 255)
        out = lifted[0].permute(1, 2, 0).numpy() * 255
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
