"""CLIPHazeClearLoss: the haze-to-clear (H2C) text-directed CLIP loss of BiLaLoRA.

``L = 1 - cos(d_img, d_txt)`` averaged over the batch and the prompt pairs (weighted by
``prompt_weights``, equal by default), with

- ``d_img = n(n(E(pred)) - n(E(inp)))``  (E: frozen CLIP image encoder, n: L2 normalisation)
- ``d_txt = n(n(T(clear)) - n(T(hazy)))`` (T: frozen CLIP text encoder, computed once).

Value range: ``inp`` is the (N, 3, H, W) RGB network input, in ``input_range`` -- the range the
dehazer sees after the data preprocessor ((-1, 1) for DehazeFormer's mean = std = 127.5, (0, 1)
for mean 0 / std 255, per channel for the authors' CLIP-normalised DEA-Net input); ``pred`` is
the network output, in ``pred_range`` (default: ``input_range``; (0, 1) for the authors'
DEA-Net). ``BiLaLoRADehazer`` fills both from its data preprocessor. Inside the loss both are
mapped to [0, 1], ``pred`` is clamped to [0, 1] (``clamp_pred``), resized to the CLIP image size
(bicubic, antialiased; ``resize_mode``) and normalised with the CLIP mean/std of the loaded
weights.

Differences from the authors' code (documented deviations):
- they feed CLIP the dehazer's input *already* CLIP-normalised and normalise it again (double
  normalisation), and feed the dehazer output unclamped; here both images are mapped from the
  preprocessor's range to [0, 1] and normalised once, and the output is clamped
  (``clamp_pred=False`` keeps it unclamped).
- they run the input branch with autograd and re-encode the prompts every call; here the input
  branch runs under ``torch.no_grad()`` and the text direction is a cached buffer (same values,
  less time and memory: see ``benchmarks/h2c_loss.py``).

Option (off by default; changes values): ``clip_precision='bfloat16'`` or ``'float16'`` runs the
frozen CLIP image tower under ``torch.autocast`` at that precision (faster where the hardware has
such matrix units); resizing, normalisation and the loss arithmetic stay float32. See the README
for the measured speed and the change of loss and gradient.

Option (off by default; not in the paper): ``augment_views=K > 0`` scores K random views instead
of the whole image -- each view one crop box (side ``augment_scale`` of the image side, the same
box for ``pred`` and ``inp`` and for the whole batch) with a random horizontal flip -- and
averages the K losses. This is the view augmentation that CLIP-guided image editing uses
(CLIPstyler's patch augmentation) against adversarial, non-semantic gradients; it matters most
with a weak guide such as the compact CLIP.

Option (not in the paper, which uses one pair): more prompt pairs with ``prompt_weights``, e.g.
``('a dark photo', 'a clear photo')`` beside the haze pair, so that darkening, which a weak guide
reads as less haze, points away from "clear" (measured on the demo: see the README).
"""
from typing import Dict, Iterator, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmengine.logging import print_log

from ..guidance.clip_weights import load_clip_source, resolve_clip_source
from ..guidance.prompts import CLEAR_PROMPT, HAZY_PROMPT

DEFAULT_PROMPTS = ((HAZY_PROMPT, CLEAR_PROMPT), )
LAZY_BUFFERS = ('clip_mean', 'clip_std', 'text_direction')
CLIP_PRECISIONS = ('float32', 'bfloat16', 'float16')


@MODELS.register_module()
class CLIPHazeClearLoss(nn.Module):
    """Haze-to-clear CLIP direction loss (see module docstring).

    Args:
        clip_model: open_clip architecture name.
        pretrained: open_clip tag, weights file, ``'local-dir:FOLDER'`` or None (random, tests
            only); see :func:`mmbilalora.models.guidance.build_frozen_clip`. Names and
            files are checked when the loss is built; the weights are loaded (a tag's file
            fetched) when a loss value is first needed.
        prompts: (hazy prompt, clear prompt) pairs; the loss averages over them.
        prompt_weights: one weight >= 0 per pair (normalised to sum 1; default: equal).
        loss_weight: multiplier of the loss.
        input_range: value range (low, high) of ``inp`` (pixels 0 and 255); each bound a number
            or one number per channel.
        pred_range: value range of ``pred`` in the same form (default: ``input_range``).
        clamp_pred: clamp ``pred`` to the valid range before CLIP.
        resize_mode: ``'squash'`` resizes the whole image to the CLIP size; ``'shortest'``
            resizes the shorter side and centre-crops (CLIP's own eval transform).
        quick_gelu: see ``build_frozen_clip``.
        augment_views: number of random views (0: the whole image, as in the paper).
        augment_scale: (min, max) side of a view's crop box as a fraction of the image side.
        clip_precision: ``'float32'`` (default), or ``'bfloat16'`` / ``'float16'``: the CLIP
            image tower under autocast at that precision.

    The CLIP model is frozen, always in eval mode, not a registered sub-module (so it is neither
    among the parent's parameters nor in its checkpoints) and follows ``.to()`` / ``.cuda()``. It
    is loaded when a loss value is first needed (:meth:`load_clip`): building a model that holds
    this loss -- for testing, inference or the tools -- never reads or downloads CLIP weights.
    """

    def __init__(self,
                 clip_model: str = 'ViT-B-32',
                 pretrained: Optional[str] = 'openai',
                 prompts: Sequence[Tuple[str, str]] = DEFAULT_PROMPTS,
                 prompt_weights: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 input_range: Tuple = (-1.0, 1.0),
                 pred_range: Optional[Tuple] = None,
                 clamp_pred: bool = True,
                 resize_mode: str = 'squash',
                 quick_gelu: Optional[bool] = None,
                 augment_views: int = 0,
                 augment_scale: Tuple[float, float] = (0.5, 1.0),
                 clip_precision: str = 'float32'):
        super().__init__()
        if clip_precision not in CLIP_PRECISIONS:
            raise ValueError(f'clip_precision must be one of {CLIP_PRECISIONS}, got '
                             f'{clip_precision!r}')
        if augment_views < 0:
            raise ValueError(f'augment_views must be >= 0, got {augment_views}')
        if not 0 < augment_scale[0] <= augment_scale[1] <= 1:
            raise ValueError(f'augment_scale must satisfy 0 < min <= max <= 1, got '
                             f'{augment_scale!r}')
        if resize_mode not in ('squash', 'shortest'):
            raise ValueError(f"resize_mode must be 'squash' or 'shortest', got {resize_mode!r}")
        if not prompts or any(len(p) != 2 for p in prompts):
            raise ValueError(f'prompts must be (hazy, clear) pairs, got {prompts!r}')
        weights = [1.0] * len(prompts) if prompt_weights is None else list(prompt_weights)
        if len(weights) != len(prompts) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f'prompt_weights must be one weight >= 0 per prompt pair '
                             f'({len(prompts)}), not all 0, got {prompt_weights!r}')
        self.loss_weight = loss_weight
        self.input_range = self._as_range(input_range, 'input_range')
        self.pred_range = (self.input_range if pred_range is None else
                           self._as_range(pred_range, 'pred_range'))
        self.clamp_pred = clamp_pred
        self.resize_mode = resize_mode
        self.prompts = tuple(tuple(p) for p in prompts)
        self.augment_views = augment_views
        self.augment_scale = tuple(float(v) for v in augment_scale)
        self.clip_precision = clip_precision

        # checked now (names, files), loaded at the first loss value (load_clip)
        self.clip_source = resolve_clip_source(clip_model, pretrained, quick_gelu)
        self._clip: Optional[nn.Module] = None
        self._clip_info: Dict = {}
        # Follows .to() / .half() so that the CLIP tower, built later, lands on the same device
        # and dtype as the loss.
        self.register_buffer('_placement', torch.zeros(()), persistent=False)
        self.register_buffer('prompt_weights', torch.tensor(weights) / sum(weights),
                             persistent=False)
        for name, (low, high) in (('inp', self.input_range), ('pred', self.pred_range)):
            self.register_buffer(f'{name}_low', torch.tensor(low).view(1, -1, 1, 1),
                                 persistent=False)
            self.register_buffer(f'{name}_high', torch.tensor(high).view(1, -1, 1, 1),
                                 persistent=False)

    @property
    def clip(self) -> nn.Module:
        """The frozen CLIP model (built on first use)."""
        self.load_clip()
        return self._clip

    @property
    def image_size(self) -> Tuple[int, int]:
        self.load_clip()
        return self._clip_info['image_size']

    @property
    def weights_source(self) -> str:
        self.load_clip()
        return self._clip_info['source']

    @property
    def clip_loaded(self) -> bool:
        return self._clip is not None

    def __getattr__(self, name: str):
        if name in LAZY_BUFFERS and self.__dict__.get('_clip', False) is None:
            self.load_clip()
        return super().__getattr__(name)

    def load_clip(self) -> None:
        """Build the CLIP tower and the text directions, once: the loss is built with the model
        (also for testing and inference), but its weights are loaded only when a loss value is
        first needed, so testing never loads (or downloads) them."""
        if self._clip is not None:
            return
        bundle = load_clip_source(self.clip_source)
        placement = self._placement
        model = bundle.model.to(device=placement.device, dtype=placement.dtype)
        object.__setattr__(self, '_clip', model)
        self._clip_info = dict(image_size=bundle.image_size, source=bundle.source)
        self.register_buffer('clip_mean', placement.new_tensor(bundle.mean).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('clip_std', placement.new_tensor(bundle.std).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('text_direction',
                             self._text_directions(bundle.tokenizer).to(placement.dtype),
                             persistent=False)
        print_log(f'CLIPHazeClearLoss guidance weights: {bundle.source}', logger='current')

    @staticmethod
    def _as_range(value_range, name: str) -> Tuple:
        """(low, high), each a float or a tuple of per-channel floats; checks low < high."""
        if len(value_range) != 2:
            raise ValueError(f'{name} must be (low, high), got {value_range!r}')
        bounds = tuple(tuple(float(v) for v in b) if isinstance(b, (list, tuple)) else float(b)
                       for b in value_range)
        lows, highs = (b if isinstance(b, tuple) else (b, ) for b in bounds)
        if len(lows) not in (1, 3) or len(highs) not in (1, 3) or any(
                lo >= hi for lo, hi in zip(lows * (3 // len(lows)), highs * (3 // len(highs)))):
            raise ValueError(f'{name} needs low < high (a number or 3 per-channel numbers each), '
                             f'got {value_range!r}')
        return bounds

    @torch.no_grad()
    def _text_directions(self, tokenizer) -> torch.Tensor:
        """(P, D): n(n(T(clear)) - n(T(hazy))) for each prompt pair."""
        hazy = F.normalize(self.clip.encode_text(tokenizer([p[0] for p in self.prompts])).float(),
                           dim=-1)
        clear = F.normalize(self.clip.encode_text(tokenizer([p[1] for p in self.prompts])).float(),
                            dim=-1)
        return F.normalize(clear - hazy, dim=-1)

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        if self._clip is not None:
            self._clip._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True) -> 'CLIPHazeClearLoss':
        super().train(mode)
        if self._clip is not None:
            self._clip.eval()
        return self

    def to_clip_input(self, x: torch.Tensor, clamp: bool, is_pred: bool = False) -> torch.Tensor:
        """(N, 3, H, W) in ``input_range`` (``pred_range`` if ``is_pred``) -> (N, 3, S, S)
        CLIP-normalised."""
        low, high = ((self.pred_low, self.pred_high) if is_pred else (self.inp_low, self.inp_high))
        x = (x - low.to(x.dtype)) / (high - low).to(x.dtype)
        if clamp:
            x = x.clamp(0.0, 1.0)
        if self.resize_mode == 'shortest':
            h, w = x.shape[-2:]
            scale = max(self.image_size[0] / h, self.image_size[1] / w)
            size = (max(round(h * scale), self.image_size[0]),
                    max(round(w * scale), self.image_size[1]))
        else:
            size = self.image_size
        if tuple(x.shape[-2:]) != tuple(size):
            if x.dtype in (torch.float16, torch.bfloat16):  # under AMP: no reduced-precision
                x = x.float()  # antialiased bicubic kernel on CPU; float32 from here on
            x = F.interpolate(x, size=size, mode='bicubic', align_corners=False, antialias=True)
        if self.resize_mode == 'shortest':
            top = (x.shape[-2] - self.image_size[0]) // 2
            left = (x.shape[-1] - self.image_size[1]) // 2
            x = x[..., top:top + self.image_size[0], left:left + self.image_size[1]]
        return (x - self.clip_mean.to(x.dtype)) / self.clip_std.to(x.dtype)

    def encode_image(self, x: torch.Tensor, clamp: bool, is_pred: bool = False) -> torch.Tensor:
        """L2-normalised CLIP embedding (N, D), float32."""
        x = self.to_clip_input(x, clamp, is_pred)
        if self.clip_precision == 'float32':
            return F.normalize(self.clip.encode_image(x).float(), dim=-1)
        with torch.autocast(x.device.type, dtype=getattr(torch, self.clip_precision)):
            embedding = self.clip.encode_image(x)
        return F.normalize(embedding.float(), dim=-1)

    def random_views(self, pred: torch.Tensor,
                     inp: torch.Tensor) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        """``augment_views`` aligned (pred, inp) crops with random horizontal flips; without
        augmentation, the whole images once."""
        if self.augment_views == 0:
            yield pred, inp
            return
        h, w = pred.shape[-2:]
        low, high = self.augment_scale
        for _ in range(self.augment_views):
            side = low + (high - low) * float(torch.rand(()))
            ch, cw = max(1, round(h * side)), max(1, round(w * side))
            top = int(torch.randint(0, h - ch + 1, ()))
            left = int(torch.randint(0, w - cw + 1, ()))
            view_pred = pred[..., top:top + ch, left:left + cw]
            view_inp = inp[..., top:top + ch, left:left + cw]
            if float(torch.rand(())) < 0.5:
                view_pred, view_inp = view_pred.flip(-1), view_inp.flip(-1)
            yield view_pred, view_inp

    def forward(self, pred: torch.Tensor, inp: torch.Tensor) -> torch.Tensor:
        """Loss (0-dim) for dehazed ``pred`` and network input ``inp``, both (N, 3, H, W)."""
        if pred.shape[0] != inp.shape[0] or pred.shape[1] != 3 or inp.shape[1] != 3:
            raise ValueError(f'CLIPHazeClearLoss expects pred and inp of shape (N, 3, H, W) with '
                             f'the same N, got {tuple(pred.shape)} and {tuple(inp.shape)}')
        if pred.shape[-2:] != inp.shape[-2:]:
            raise ValueError(f'CLIPHazeClearLoss expects pred and inp of the same size, got '
                             f'{tuple(pred.shape)} and {tuple(inp.shape)}')
        losses = []
        for view_pred, view_inp in self.random_views(pred, inp):
            with torch.no_grad():
                inp_emb = self.encode_image(view_inp, clamp=True)
            pred_emb = self.encode_image(view_pred, clamp=self.clamp_pred, is_pred=True)
            image_direction = F.normalize(pred_emb - inp_emb, dim=-1)
            cosine = image_direction @ self.text_direction.t()
            losses.append(((1.0 - cosine) @ self.prompt_weights.to(cosine.dtype)).mean())
        return self.loss_weight * torch.stack(losses).mean()
