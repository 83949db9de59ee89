"""PriorRefinedDehazer: a network refining a physical prior's dehazing, composed from parts."""
from typing import Dict, Optional

import torch
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

    @torch.no_grad()
    def image_statistics(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The image-global values of ``x`` (N, 3, H, W) that its tiles share:
        ``airlight`` (N, 3, 1, 1, [0, 1] units) and ``haze_strength`` (N, 1, 1, 1; 1 without a
        haze gate), as :meth:`forward`'s keyword arguments."""
        airlight = self.prior.airlight(x)
        if self.haze_gate is None:
            return dict(airlight=airlight, haze_strength=torch.ones_like(airlight[:, :1]))
        return dict(airlight=airlight,
                    haze_strength=self.haze_gate(self.prior.normalised_dark_channel(x, airlight)))

    def predict_maps(self, prior: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(N, 4, H, W) K and B of the network for the prior's image and the hazy image."""
        maps = getattr(self.network, self.network_method)(torch.cat([prior, x], dim=1))
        if maps.shape[1] != 4 or maps.shape[-2:] != x.shape[-2:]:
            raise ValueError(f'{type(self.network).__name__}.{self.network_method} must return '
                             f'K and B (N, 4, {x.shape[-2]}, {x.shape[-1]}), got '
                             f'{tuple(maps.shape)}')
        return maps

    def forward(self, x: torch.Tensor, airlight: Optional[torch.Tensor] = None,
                haze_strength: Optional[torch.Tensor] = None,
                exposure_strength: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(N, 3, H, W) -> (N, 3, H, W). ``airlight`` (N, 3, 1, 1), ``haze_strength`` and
        ``exposure_strength`` (N, 1, 1, 1): the whole image's values for a tile (None:
        computed from ``x``; ``exposure_strength`` 0 leaves the exposure as it is)."""
        h, w = x.shape[-2:]
        hazy = x
        x = pad_to_multiple(x, self.pad_multiple)
        if airlight is None:
            airlight = self.prior.airlight(x)
        normalised_dark = None
        if haze_strength is None and self.haze_gate is not None:
            normalised_dark = self.prior.normalised_dark_channel(x, airlight)
            haze_strength = self.haze_gate(normalised_dark)
        prior = self.prior(x, airlight, haze_strength, normalised_dark)
        maps = self.predict_maps(prior, x)
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
        one)."""
        if self.exposure is None:
            return output.new_zeros(output.shape[0], 1, 1, 1)
        return self.exposure.strength(output, x)

    def expose(self, output: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
        """The exposure step at ``strength`` (N, 1, 1, 1); ``output`` as it is without one."""
        return output if self.exposure is None else self.exposure(output, strength=strength)
