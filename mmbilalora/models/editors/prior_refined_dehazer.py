"""PriorRefinedDehazer: a network refining a physical prior's dehazing, composed from parts."""
import math
from typing import Dict, Optional, Union

import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmengine.model import BaseModule

from ..utils.padding import pad_to_multiple


@MODELS.register_module()
class PriorRefinedDehazer(BaseModule):
    """Hazy image (N, 3, H, W) -> dehazed image, same shape and value range, in five steps:

    1. ``prior`` dehazes the image with its image-global airlight (e.g.
       :class:`~mmbilalora.models.archs.DarkChannelPrior`): ``p``;
    2. ``network`` sees ``p`` and the hazy image stacked (N, 6, H, W; ``p`` first) and predicts
       K (1 channel) and B (3 channels), DehazeFormer's output form;
    3. ``output_filter`` (optional, e.g. :class:`~mmbilalora.models.archs.GuidedFilter`) filters
       K and B under ``p``'s grey, so the output's detail is ``p``'s;
    4. ``haze_gate`` (optional, :class:`~mmbilalora.models.archs.HazeStrengthGate`) gives each
       image a haze strength ``s`` in [0, 1] that scales the prior's ``omega`` and K and B: a
       photo the gate calls haze-free (``s = 0``) comes out exactly as it went in;
       the output is ``K * p - B + p``;
    5. ``exposure`` (optional, :class:`~mmbilalora.models.archs.ExposureFloor`) re-meters the
       output against the hazy image.

    The airlight, the haze strength and the exposure strength are image-global: each is an
    argument of :meth:`forward` (None: computed from the image given), so that the tiles of a
    large photo are dehazed with the whole photo's values (:meth:`image_statistics` before the
    tiles, :meth:`exposure_strength` and :meth:`expose` on the assembled output; see
    :func:`mmbilalora.apis.dehaze_array`). Only ``network`` has parameters; its state-dict keys
    are ``network.<the network's own keys>``.

    The fast path (``network_pixels``): the network is by far the dearest step, and the output
    filter smooths K and B anyway. An image of more than ``network_pixels`` pixels is resized
    for the network (by :meth:`network_scale`, bilinear, antialiased), and the output filter
    brings its K and B back to full resolution under the prior's full-resolution grey (a fast
    guided filter), so that the output keeps the prior's full-resolution detail; the prior, its
    airlight, the haze strength and the output are computed at full resolution. The scale is
    image-global too (a tile of a large photo is resized by the whole photo's scale).

    Args:
        network: a MODELS config of the network, e.g. ``dict(type='DehazeFormer',
            arch='t-conv', in_chans=6)``; it maps (N, 6, H, W) to K and B (N, 4, H, W) through
            its method ``network_method``.
        prior / haze_gate / output_filter / exposure: MODELS configs of the parts (None: the
            step is left out; ``prior`` is required).
        network_method: the network's method that predicts K and B: ``'forward'`` (a network
            whose output is (N, 4, H, W), e.g. ``DEANet(in_chans=6, out_chans=4)``) or
            ``'forward_features'`` (DehazeFormer, whose own ``forward`` applies K and B to its
            input).
        pad_multiple: the image is reflection-padded to a multiple of this (pixels) before the
            prior and the network, and the output cropped back (32: every window of
            DehazeFormer's stages full).
        network_pixels: the most pixels the network sees of one image (the fast path, see
            above; needs ``output_filter``); None: the network sees every image at full
            resolution (the exact path).
        network_tile: on the fast path, the side at which the network sees each tile of a
            photo dehazed in tiles (:func:`mmbilalora.apis.dehaze_array`; 256: on CPUs a
            256-pixel tile runs about twice as fast per pixel as a 512-pixel one, its activations
            staying in cache).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 network: dict,
                 prior: dict,
                 haze_gate: Optional[dict] = None,
                 output_filter: Optional[dict] = None,
                 exposure: Optional[dict] = None,
                 network_method: str = 'forward',
                 pad_multiple: int = 32,
                 network_pixels: Optional[int] = None,
                 network_tile: int = 256,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.network = MODELS.build(network)
        if not callable(getattr(self.network, network_method, None)):
            raise ValueError(f'{type(self.network).__name__} has no method {network_method!r} '
                             "(network_method: 'forward' or 'forward_features').")
        self.network_method = network_method
        self.prior = MODELS.build(prior)
        self.haze_gate = MODELS.build(haze_gate) if haze_gate is not None else None
        self.output_filter = MODELS.build(output_filter) if output_filter is not None else None
        self.exposure = MODELS.build(exposure) if exposure is not None else None
        if pad_multiple < 1:
            raise ValueError(f'pad_multiple must be >= 1, got {pad_multiple}')
        self.pad_multiple = pad_multiple
        if network_pixels is not None and (network_pixels < 1 or self.output_filter is None):
            raise ValueError('network_pixels must be >= 1 and needs an output_filter (it brings '
                             f'K and B to full resolution), got {network_pixels}')
        self.network_pixels = network_pixels
        self.network_tile = network_tile

    def network_scale(self, height: int, width: int) -> float:
        """The factor by which a height x width image is resized for the network: 1 up to
        ``network_pixels`` pixels (or without it), else ``sqrt(network_pixels / pixels)``."""
        if self.network_pixels is None or height * width <= self.network_pixels:
            return 1.0
        return math.sqrt(self.network_pixels / (height * width))

    @torch.no_grad()
    def image_statistics(self, x: torch.Tensor) -> Dict[str, Union[torch.Tensor, float]]:
        """The image-global values of ``x`` (N, 3, H, W) that its tiles share, as
        :meth:`forward`'s keyword arguments: ``airlight`` (N, 3, 1, 1, [0, 1] units),
        ``haze_strength`` (N, 1, 1, 1; 1 without a haze gate) and ``network_scale`` (see
        :meth:`network_scale`). The airlight and the haze strength are read at full resolution
        on either path (read from ``x`` resized by ``network_scale`` they move a 5-megapixel
        photo's output by 1.8 grey levels on average: docs/models.md)."""
        scale = self.network_scale(*x.shape[-2:])
        airlight = self.prior.airlight(x)
        strength = (torch.ones_like(airlight[:, :1]) if self.haze_gate is None else
                    self.haze_gate(self.prior.normalised_dark_channel(x, airlight)))
        return dict(airlight=airlight, haze_strength=strength, network_scale=scale)

    def predict_maps(self, stack: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """K and B (N, 4, h, w) of the network for ``stack`` (N, 6, H, W: the prior's image and
        the hazy image), resized by ``scale`` for the network (h, w = H, W at scale 1)."""
        if scale < 1:
            size = (max(1, round(stack.shape[-2] * scale)), max(1, round(stack.shape[-1] * scale)))
            stack = pad_to_multiple(F.interpolate(stack, size=size, mode='bilinear',
                                                  align_corners=False, antialias=True),
                                    self.pad_multiple)
        else:
            size = stack.shape[-2:]
        maps = getattr(self.network, self.network_method)(stack)
        if maps.shape[1] != 4 or maps.shape[-2:] != stack.shape[-2:]:
            raise ValueError(f'{type(self.network).__name__}.{self.network_method} must return '
                             f'K and B (N, 4, {stack.shape[-2]}, {stack.shape[-1]}), got '
                             f'{tuple(maps.shape)}')
        return maps[..., :size[0], :size[1]]

    def forward(self, x: torch.Tensor, airlight: Optional[torch.Tensor] = None,
                haze_strength: Optional[torch.Tensor] = None,
                exposure_strength: Optional[torch.Tensor] = None,
                network_scale: Optional[float] = None) -> torch.Tensor:
        """(N, 3, H, W) -> (N, 3, H, W). ``airlight`` (N, 3, 1, 1), ``haze_strength`` and
        ``exposure_strength`` (N, 1, 1, 1), ``network_scale``: the whole image's values for a
        tile (None: computed from ``x``; ``exposure_strength`` 0 leaves the exposure as it
        is)."""
        h, w = x.shape[-2:]
        if network_scale is None:
            network_scale = self.network_scale(h, w)
        hazy = x
        x = pad_to_multiple(x, self.pad_multiple)
        if airlight is None:
            airlight = self.prior.airlight(x)
        normalised_dark = None
        if haze_strength is None and self.haze_gate is not None:
            normalised_dark = self.prior.normalised_dark_channel(x, airlight)
            haze_strength = self.haze_gate(normalised_dark)
        prior = self.prior(x, airlight, haze_strength, normalised_dark)
        maps = self.predict_maps(torch.cat([prior, x], dim=1), network_scale)
        if self.output_filter is not None:
            maps = self.output_filter(prior, maps)
        if self.haze_gate is not None:
            maps = maps * haze_strength
        k, b = torch.split(maps, (1, 3), dim=1)
        out = (k * prior - b + prior)[:, :, :h, :w]
        if exposure_strength is None:
            exposure_strength = self.exposure_strength(out, hazy)
        return self.expose(out, exposure_strength)

    def exposure_strength(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 1, 1) strength of the exposure step for ``output`` of ``x`` (0 without
        one); on the fast path read from a regular subsample of ``network_pixels`` pixels."""
        if self.exposure is None:
            return output.new_zeros(output.shape[0], 1, 1, 1)
        return self.exposure.strength(output, x, pixels=self.network_pixels)

    def expose(self, output: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
        """The exposure step at ``strength`` (N, 1, 1, 1); ``output`` as it is without one."""
        return output if self.exposure is None else self.exposure(output, strength=strength)
