"""DEA-Net (Chen et al., TIP 2024) in both forms of the official code (cecret3350/DEA-Net).

- training form (``deploy=False``): each block's first conv is a DEConv, the sum of a vanilla,
  a central-, an angular-, a horizontal- and a vertical-difference convolution;
- deployed form (``deploy=True``, the default): that DEConv re-parameterised into one 3x3 conv.

Module names equal the official ``DEANet`` / ``Backbone`` classes, so their state dicts load
without key conversion (the deployed model has 3,653,377 parameters). ``reparameterize_dea_net``
converts a training-form state dict (or an official training checkpoint) into the deployed form.
Inputs and outputs are RGB in [0, 1] as in the official code (data preprocessor mean 0, std 255).
"""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmengine.model import BaseModule

from ..utils.padding import reflect_pad

# Index map of the angular-difference conv: w_ad = w - w[..., ANGULAR_ORDER] (3x3 flattened).
ANGULAR_ORDER = [3, 0, 1, 6, 4, 2, 7, 8, 5]


def central_difference_weight(w: torch.Tensor) -> torch.Tensor:
    """(O, I, 3, 3) -> same, centre tap replaced by ``centre - sum(all taps)``."""
    flat = w.flatten(2).clone()
    flat[:, :, 4] = flat[:, :, 4] - w.flatten(2).sum(2)
    return flat.view_as(w)


def angular_difference_weight(w: torch.Tensor) -> torch.Tensor:
    """(O, I, 3, 3) -> ``w - w`` permuted clockwise around the centre."""
    flat = w.flatten(2)
    return (flat - flat[:, :, ANGULAR_ORDER]).view_as(w)


def horizontal_difference_weight(w1d: torch.Tensor) -> torch.Tensor:
    """(O, I, 3) 1-D taps -> (O, I, 3, 3): left column +w, right column -w."""
    out = w1d.new_zeros(w1d.shape[0], w1d.shape[1], 9)
    out[:, :, [0, 3, 6]] = w1d
    out[:, :, [2, 5, 8]] = -w1d
    return out.view(w1d.shape[0], w1d.shape[1], 3, 3)


def vertical_difference_weight(w1d: torch.Tensor) -> torch.Tensor:
    """(O, I, 3) 1-D taps -> (O, I, 3, 3): top row +w, bottom row -w."""
    out = w1d.new_zeros(w1d.shape[0], w1d.shape[1], 9)
    out[:, :, [0, 1, 2]] = w1d
    out[:, :, [6, 7, 8]] = -w1d
    return out.view(w1d.shape[0], w1d.shape[1], 3, 3)


class _DifferenceConv(nn.Module):
    """Holder of one DEConv branch's learnable conv (``.conv``), as in the official code."""

    def __init__(self, dim: int, one_dimensional: bool = False):
        super().__init__()
        self.conv = (nn.Conv1d(dim, dim, 3, padding=1, bias=True) if one_dimensional else
                     nn.Conv2d(dim, dim, 3, padding=1, bias=True))


class DEConv(nn.Module):
    """Detail-enhanced convolution: five 3x3 branches summed into one kernel at every call."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv1_1 = _DifferenceConv(dim)  # central difference
        self.conv1_2 = _DifferenceConv(dim, one_dimensional=True)  # horizontal difference
        self.conv1_3 = _DifferenceConv(dim, one_dimensional=True)  # vertical difference
        self.conv1_4 = _DifferenceConv(dim)  # angular difference
        self.conv1_5 = nn.Conv2d(dim, dim, 3, padding=1, bias=True)  # vanilla

    def equivalent_kernel(self):
        """The single 3x3 (weight, bias) this DEConv computes."""
        weight = (central_difference_weight(self.conv1_1.conv.weight)
                  + horizontal_difference_weight(self.conv1_2.conv.weight)
                  + vertical_difference_weight(self.conv1_3.conv.weight)
                  + angular_difference_weight(self.conv1_4.conv.weight)
                  + self.conv1_5.weight)
        bias = (self.conv1_1.conv.bias + self.conv1_2.conv.bias + self.conv1_3.conv.bias
                + self.conv1_4.conv.bias + self.conv1_5.bias)
        return weight, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.equivalent_kernel()
        return F.conv2d(x, weight, bias, stride=1, padding=1)


def _conv3x3(dim: int) -> nn.Conv2d:
    return nn.Conv2d(dim, dim, 3, padding=1, bias=True)


class SpatialAttention(nn.Module):

    def __init__(self):
        super().__init__()
        self.sa = nn.Conv2d(2, 1, 7, padding=3, padding_mode='reflect', bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sa(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1))


class ChannelAttention(nn.Module):

    def __init__(self, dim: int, reduction: int = 8):
        super().__init__()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.ca = nn.Sequential(
            nn.Conv2d(dim, dim // reduction, 1, bias=True), nn.ReLU(inplace=True),
            nn.Conv2d(dim // reduction, dim, 1, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ca(self.gap(x))


class PixelAttention(nn.Module):
    """Grouped 7x7 conv over interleaved (feature, coarse attention) channel pairs."""

    def __init__(self, dim: int):
        super().__init__()
        self.pa2 = nn.Conv2d(2 * dim, dim, 7, padding=3, padding_mode='reflect', groups=dim,
                             bias=True)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor, pattn1: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        pattn1 = pattn1.expand(b, c, h, w)
        pairs = torch.stack([x, pattn1], dim=2).reshape(b, 2 * c, h, w)
        return self.sigmoid(self.pa2(pairs))


class CGAFusion(nn.Module):
    """Content-guided attention fusion of a skip feature ``x`` and a decoder feature ``y``."""

    def __init__(self, dim: int, reduction: int = 8):
        super().__init__()
        self.sa = SpatialAttention()
        self.ca = ChannelAttention(dim, reduction)
        self.pa = PixelAttention(dim)
        self.conv = nn.Conv2d(dim, dim, 1, bias=True)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        initial = x + y
        pattn1 = self.sa(initial) + self.ca(initial)
        pattn2 = self.sigmoid(self.pa(initial, pattn1))
        return self.conv(initial + pattn2 * x + (1 - pattn2) * y)


class DEBlock(nn.Module):
    """conv1 (DEConv or its 3x3 equivalent) -> ReLU -> +x -> conv2 -> +x."""

    def __init__(self, dim: int, deploy: bool = True):
        super().__init__()
        self.conv1 = _conv3x3(dim) if deploy else DEConv(dim)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.conv2(self.act1(self.conv1(x)) + x)
        return res + x


class DEABlock(DEBlock):
    """DEBlock whose second residual is gated by content-guided attention."""

    def __init__(self, dim: int, reduction: int = 8, deploy: bool = True):
        super().__init__(dim, deploy)
        self.sa = SpatialAttention()
        self.ca = ChannelAttention(dim, reduction)
        self.pa = PixelAttention(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.conv2(self.act1(self.conv1(x)) + x)
        pattn1 = self.sa(res) + self.ca(res)
        return res * self.pa(res, pattn1) + x


@MODELS.register_module()
class DEANet(BaseModule):
    """DEA-Net generator: (N, 3, H, W) in [0, 1] -> (N, 3, H, W) (``in_chans`` / ``out_chans``
    channels when given).

    Any H, W: the input is reflection-padded to a multiple of 4 (two stride-2 stages) and to at
    least 16 pixels (the 7x7 reflect-padded attention convs need 4 pixels at 1/4 scale), and the
    output cropped back.

    Args:
        base_dim: channels of the first level (32 in the paper).
        in_chans / out_chans: channels of the input and of the output (3 and 3 in the paper;
            ``in_chans=6, out_chans=4`` predicts K and B inside ``PriorRefinedDehazer``).
        deploy: True for the re-parameterised (deployed) form, False for the training form.
        init_cfg: mmengine init config (e.g. a pretrained checkpoint of the same form).
    """

    def __init__(self, base_dim: int = 32, deploy: bool = True, in_chans: int = 3,
                 out_chans: int = 3, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.deploy = deploy
        d1, d2, d3 = base_dim, base_dim * 2, base_dim * 4
        self.down1 = nn.Sequential(nn.Conv2d(in_chans, d1, 3, stride=1, padding=1))
        self.down2 = nn.Sequential(nn.Conv2d(d1, d2, 3, stride=2, padding=1), nn.ReLU(True))
        self.down3 = nn.Sequential(nn.Conv2d(d2, d3, 3, stride=2, padding=1), nn.ReLU(True))
        for i in range(1, 5):
            setattr(self, f'down_level1_block{i}', DEBlock(d1, deploy))
        for i in range(1, 5):
            setattr(self, f'up_level1_block{i}', DEBlock(d1, deploy))
        self.fe_level_2 = nn.Conv2d(d2, d2, 3, stride=1, padding=1)
        for i in range(1, 5):
            setattr(self, f'down_level2_block{i}', DEBlock(d2, deploy))
        for i in range(1, 5):
            setattr(self, f'up_level2_block{i}', DEBlock(d2, deploy))
        self.fe_level_3 = nn.Conv2d(d3, d3, 3, stride=1, padding=1)
        for i in range(1, 9):
            setattr(self, f'level3_block{i}', DEABlock(d3, deploy=deploy))
        self.up1 = nn.Sequential(
            nn.ConvTranspose2d(d3, d2, 3, stride=2, padding=1, output_padding=1), nn.ReLU(True))
        self.up2 = nn.Sequential(
            nn.ConvTranspose2d(d2, d1, 3, stride=2, padding=1, output_padding=1), nn.ReLU(True))
        self.up3 = nn.Sequential(nn.Conv2d(d1, out_chans, 3, stride=1, padding=1))
        self.mix1 = CGAFusion(d3, reduction=8)
        self.mix2 = CGAFusion(d2, reduction=4)

    def _blocks(self, prefix: str, count: int, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, count + 1):
            x = getattr(self, f'{prefix}{i}')(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = reflect_pad(x, (0, max(-(-w // 4) * 4, 16) - w, 0, max(-(-h // 4) * 4, 16) - h))
        x_down1 = self._blocks('down_level1_block', 4, self.down1(x))
        x_down2 = self.down2(x_down1)
        x_down2_init = self._blocks('down_level2_block', 4, self.fe_level_2(x_down2))
        x_down3 = self.down3(x_down2_init)
        x8 = self._blocks('level3_block', 8, self.fe_level_3(x_down3))
        x_up1 = self._blocks('up_level2_block', 4, self.up1(self.mix1(x_down3, x8)))
        x_up2 = self._blocks('up_level1_block', 4, self.up2(self.mix2(x_down2, x_up1)))
        return self.up3(x_up2)[..., :h, :w]

    @torch.no_grad()
    def reparameterize(self) -> 'DEANet':
        """Turn a training-form model into the deployed form in place (same outputs)."""
        for name, module in list(self.named_modules()):
            if isinstance(module, DEBlock) and isinstance(module.conv1, DEConv):
                weight, bias = module.conv1.equivalent_kernel()
                conv = _conv3x3(weight.shape[0]).to(weight.device, weight.dtype)
                conv.weight.copy_(weight)
                conv.bias.copy_(bias)
                module.conv1 = conv
        self.deploy = True
        return self


DECONV_BRANCHES = {
    'conv1_1.conv': central_difference_weight,
    'conv1_2.conv': horizontal_difference_weight,
    'conv1_3.conv': vertical_difference_weight,
    'conv1_4.conv': angular_difference_weight,
    'conv1_5': lambda w: w,
}


@torch.no_grad()
def reparameterize_dea_net(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Training-form DEA-Net state dict -> deployed-form state dict (any key prefix kept).

    Every ``<p>.conv1.conv1_k...`` group of a DEConv becomes ``<p>.conv1.weight`` /
    ``<p>.conv1.bias``; all other entries are copied.
    """
    out: Dict[str, torch.Tensor] = {}
    groups: Dict[str, Dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        branch = next((b for b in DECONV_BRANCHES if f'.{b}.' in key), None)
        if branch is None:
            out[key] = value
            continue
        prefix, leaf = key.split(f'.{branch}.')
        groups.setdefault(prefix, {})[f'{branch}.{leaf}'] = value
    for prefix, params in groups.items():
        missing = [f'{b}.{p}' for b in DECONV_BRANCHES for p in ('weight', 'bias')
                   if f'{b}.{p}' not in params]
        if missing:
            raise KeyError(f'DEConv {prefix!r} lacks {missing} in the training-form state dict.')
        out[f'{prefix}.weight'] = sum(fn(params[f'{b}.weight'].float())
                                      for b, fn in DECONV_BRANCHES.items())
        out[f'{prefix}.bias'] = sum(params[f'{b}.bias'].float() for b in DECONV_BRANCHES)
    return out
