"""Inference: build a dehazer from a config + checkpoint (+ adapters), dehaze images in tiles."""
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmagic.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ..models.data_preprocessors import PixelConvention, pixel_convention
from ..models.lora import AdapterBank
from ..models.utils import pad_to_multiple, resize_bicubic, resize_to_multiple
from ..utils import model_zoo
from ..utils.checkpoint_io import read_checkpoint
from .conversion import network_state


@dataclass
class Dehazer:
    """A generator, the pixel convention of its data preprocessor (per channel):
    ``network input = (rgb_uint8 - input_mean) / input_std`` and
    ``rgb = output * output_std + output_mean``, and its bank of adapters (``activate`` one,
    or None for the base).
    """
    generator: nn.Module
    pixels: PixelConvention
    device: str = 'cpu'
    adapters: Optional[AdapterBank] = None

    def __post_init__(self):
        if self.adapters is None:
            self.adapters = AdapterBank(self.generator)

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
    state = network_state(checkpoint)
    if any(k.endswith(('lora_A', 'lora_B', 'lora_gate.alpha')) for k in state):
        raise ValueError(f'{path!r} is a BiLaLoRA training checkpoint; dehaze with its merged '
                         'checkpoint (bilalora_merged.pth) or with the base checkpoint plus '
                         '--adapter bilalora_adapter.pth.')
    return state


def _first_mismatch(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor]) -> str:
    """What keeps ``state`` from loading into a model whose state is ``expected`` ('' if
    nothing): the first missing, unexpected or differently shaped key."""
    for key, value in expected.items():
        if key not in state:
            return f'{key} is missing'
        if tuple(state[key].shape) != tuple(value.shape):
            return (f'{key} has shape {tuple(state[key].shape)}, the config builds '
                    f'{tuple(value.shape)}')
    unexpected = [k for k in state if k not in expected]
    return f'{unexpected[0]} is not in the model' if unexpected else ''


def _layout_hint(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor]) -> str:
    """What a checkpoint of another generator layout is, when it is one ('' otherwise)."""
    if all(f'network.{k}' in expected for k in state):
        return (' It holds the network alone: tools/convert_dehazeformer_checkpoint.py converts '
                'it for a PriorRefinedDehazer.')
    if any(k.startswith('network.') for k in state) and not any(
            k.startswith('network.') for k in expected):
        return (' It holds a PriorRefinedDehazer (network.* keys): use its config, e.g. '
                f'{model_zoo.CONFIGS[model_zoo.SHIPPED_BASE]}.')
    return ''


def load_dehazer(config: Optional[str] = None, checkpoint: Optional[str] = None,
                 adapter: Optional[str] = None, device: str = 'cpu',
                 adapters: Optional[Dict[str, str]] = None,
                 cfg_options: Optional[dict] = None) -> Dehazer:
    """Build ``cfg.model.generator`` and load a base / merged / official checkpoint into it.

    Args:
        config: any config whose ``model`` has ``generator`` and ``data_preprocessor``
            (default: the shipped base's, with the shipped base's weights).
        checkpoint: BaseEditModel, merged BiLaLoRA or official (``module.``-prefixed) weights,
            or ``mmbilalora://NAME`` (see :mod:`mmbilalora.utils.model_zoo`); None: the
            network as initialised.
        adapter: a BiLaLoRA adapter file put in the bank and activated (named by its file).
        adapters: ``{name: adapter file}`` put in the bank (``dehazer.adapters.activate(name)``
            switches); the base is active after loading unless ``adapter`` is given.
        cfg_options: settings merged into the config (``--cfg-options``' form), e.g.
            ``{'model.generator.network_pixels': None}`` for the shipped base's exact path.

    Raises:
        ValueError: the checkpoint does not fit the config (one line naming both files and the
            first mismatching key).
    """
    if config is None:
        config = model_zoo.config_path(model_zoo.SHIPPED_BASE)
        checkpoint = checkpoint or model_zoo.SCHEME + model_zoo.SHIPPED_BASE
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    generator = MODELS.build(cfg.model.generator)
    if checkpoint:
        path = model_zoo.resolve(checkpoint)
        state = _generator_state(read_checkpoint(path, map_location='cpu'), path)
        mismatch = _first_mismatch(state, generator.state_dict())
        if mismatch:
            raise ValueError(f'Checkpoint {path!r} does not fit the model of config {config!r} '
                             f'({type(generator).__name__}): {mismatch}.'
                             + _layout_hint(state, generator.state_dict()))
        generator.load_state_dict(state)
    bank = AdapterBank(generator.to(device).eval())
    for name, path in (adapters or {}).items():
        bank.add(name, path)
    if adapter:
        bank.add(osp.splitext(osp.basename(adapter))[0], adapter, activate=True)
    preprocessor = MODELS.build(cfg.model.get('data_preprocessor') or dict(
        type='DataPreprocessor', mean=[0.0] * 3, std=[255.0] * 3))
    return Dehazer(generator, pixel_convention(preprocessor), device, bank)


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
                 overlap: int = 32, pad_multiple: int = 32, resize_multiple: int = 0,
                 progress: Optional[Callable[[int, int], None]] = None) -> np.ndarray:
    """Dehaze an (H, W, 3) uint8 RGB image; the result has the same shape and dtype.

    Images larger than ``tile`` on a side are processed in overlapping tiles blended with linear
    ramps (see :func:`_ramp`), so the network's memory is bounded by the tile size (``tile=None``
    processes the image at once). A generator with image-global values
    (:class:`~mmbilalora.models.editors.PriorRefinedDehazer`) dehazes every tile with the whole
    image's: its ``image_statistics`` of the whole image are passed to each tile, and its
    exposure step runs once, on the assembled image (``exposure_strength`` and ``expose``); on
    its fast path the network sees each tile resized by the whole photo's ``network_scale``,
    and a tile covers ``network_tile / network_scale`` pixels of the photo instead of
    ``tile``. Networks with statistics of their own (DehazeFormer's RLN and SKFusion pooling)
    see each tile's. Each tile is reflection-padded to ``pad_multiple`` and cropped back.
    ``resize_multiple=N > 0`` reproduces the authors' test-time sizing instead of padding: the
    network input is resized (bicubic, antialiased) to the largest multiple of N on each side,
    given to the network as it is, and the output resized back to the tile's size (see
    :func:`~mmbilalora.models.utils.resize_to_multiple`). ``progress(done, total)`` is called
    after each tile.
    """
    generator = dehazer.generator
    device = dehazer.device
    h, w = rgb.shape[:2]
    out = torch.zeros(1, 3, h, w, device=device)
    weight = torch.zeros(1, 1, h, w, device=device)
    pixels = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float()
    whole = dehazer.to_network(pixels.to(device))
    whole_image = hasattr(generator, 'image_statistics')
    shared = {}
    if whole_image:
        shared = generator.image_statistics(whole)
        shared['exposure_strength'] = torch.zeros_like(shared['haze_strength'])
        if tile and shared['network_scale'] < 1:
            tile = round(generator.network_tile / shared['network_scale'])
    tiles = [(row, col) for row in tile_windows(h, tile or h, overlap)
             for col in tile_windows(w, tile or w, overlap)]
    for done, ((top, bottom), (left, right)) in enumerate(tiles, 1):
        x = whole[..., top:bottom, left:right]
        ph, pw = x.shape[-2:]
        if resize_multiple:
            y = resize_bicubic(generator(resize_to_multiple(x, resize_multiple), **shared),
                               (ph, pw))
        else:
            y = generator(pad_to_multiple(x, pad_multiple), **shared)[..., :ph, :pw]
        wy = _ramp(ph, overlap, top == 0, bottom == h)
        wx = _ramp(pw, overlap, left == 0, right == w)
        blend = torch.from_numpy(wy[:, None] * wx[None, :]).to(device)
        out[..., top:bottom, left:right] += dehazer.to_pixels(y) * blend
        weight[..., top:bottom, left:right] += blend
        if progress is not None:
            progress(done, len(tiles))
    out = (out / weight).clamp(0, 255)
    if whole_image:
        assembled = dehazer.to_network(out)
        out = dehazer.to_pixels(generator.expose(assembled,
                                                 generator.exposure_strength(assembled, whole)))
    return out.round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).cpu().numpy()
