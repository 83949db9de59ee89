"""DehazeFormer (Song et al., TIP 2023) with the parameter names of the official release.

Every sub-module keeps the attribute name of IDKiro/DehazeFormer ``models/dehazeformer.py``, so the
official checkpoints (``{'state_dict': {'module.<name>': ...}}``) load through mmengine's
``load_from`` / ``init_cfg=dict(type='Pretrained', ...)`` without conversion, and the parameter
counts are those of the paper: t 0.686 M, s 1.283 M, b 2.514 M, m 4.634 M, l 25.44 M.
"""
import math
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmagic.registry import MODELS
from mmengine.model import BaseModule

from ..utils.padding import pad_to_multiple, reflect_pad

ARCH_SETTINGS = {
    't': dict(embed_dims=[24, 48, 96, 48, 24], depths=[4, 4, 4, 2, 2],
              attn_ratio=[0, 1 / 2, 1, 0, 0], conv_type='DWConv'),
    # t's layout with every attention branch off: a convolutional network (no window seams)
    # whose state-dict names are a subset of t's.
    't-conv': dict(embed_dims=[24, 48, 96, 48, 24], depths=[4, 4, 4, 2, 2],
                   attn_ratio=[0, 0, 0, 0, 0], conv_type='DWConv'),
    's': dict(embed_dims=[24, 48, 96, 48, 24], depths=[8, 8, 8, 4, 4],
              attn_ratio=[1 / 4, 1 / 2, 3 / 4, 0, 0], conv_type='DWConv'),
    'b': dict(embed_dims=[24, 48, 96, 48, 24], depths=[16, 16, 16, 8, 8],
              attn_ratio=[1 / 4, 1 / 2, 3 / 4, 0, 0], conv_type='DWConv'),
    'm': dict(embed_dims=[24, 48, 96, 48, 24], depths=[12, 12, 12, 6, 6],
              attn_ratio=[1 / 4, 1 / 2, 3 / 4, 0, 0], conv_type='Conv'),
    'l': dict(embed_dims=[48, 96, 192, 96, 48], depths=[16, 16, 16, 12, 12],
              attn_ratio=[1 / 4, 1 / 2, 3 / 4, 0, 0], conv_type='Conv'),
}


def _trunc_normal_scaled(conv: nn.Conv2d, gain: float = 1.0) -> None:
    """Xavier-style truncated-normal init of ``conv.weight`` scaled by ``gain``; zero bias."""
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(conv.weight)
    nn.init.trunc_normal_(conv.weight, std=gain * math.sqrt(2.0 / float(fan_in + fan_out)))
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class RLN(nn.Module):
    """Rescale-aware LayerNorm: normalises over (C, H, W) and predicts a rescale/rebias pair.

    Returns ``(normalized, rescale, rebias)``; the caller restores the statistics after the block.
    """

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones((1, dim, 1, 1)))
        self.bias = nn.Parameter(torch.zeros((1, dim, 1, 1)))
        self.meta1 = nn.Conv2d(1, dim, 1)
        self.meta2 = nn.Conv2d(1, dim, 1)
        nn.init.trunc_normal_(self.meta1.weight, std=.02)
        nn.init.constant_(self.meta1.bias, 1)
        nn.init.trunc_normal_(self.meta2.weight, std=.02)
        nn.init.constant_(self.meta2.bias, 0)

    def forward(self, x: torch.Tensor):
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = torch.sqrt((x - mean).pow(2).mean(dim=(1, 2, 3), keepdim=True) + self.eps)
        normalized = (x - mean) / std * self.weight + self.bias
        return normalized, self.meta1(std), self.meta2(mean)


class Mlp(nn.Module):
    """Two 1x1 convs with a ReLU between them."""

    def __init__(self, network_depth: int, in_features: int, hidden_features: int):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(in_features, hidden_features, 1), nn.ReLU(True),
            nn.Conv2d(hidden_features, in_features, 1))
        gain = (8 * network_depth)**(-1 / 4)
        for conv in (self.mlp[0], self.mlp[2]):
            _trunc_normal_scaled(conv, gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


def _relative_positions_log(window_size: int) -> torch.Tensor:
    """Log-spaced relative offsets between the positions of a window: (ws^2, ws^2, 2)."""
    coords = torch.stack(torch.meshgrid(
        torch.arange(window_size), torch.arange(window_size), indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    return torch.sign(rel) * torch.log1p(rel.abs())


class WindowAttention(nn.Module):
    """Multi-head self-attention inside a window with an MLP relative-position bias.

    Input ``qkv``: (num_windows * B, ws^2, 3 * dim); output (num_windows * B, ws^2, dim).
    """

    def __init__(self, dim: int, window_size: int, num_heads: int):
        super().__init__()
        self.dim = dim
        self.num_heads = num_heads
        self.scale = (dim // num_heads)**-0.5
        self.register_buffer('relative_positions', _relative_positions_log(window_size))
        self.meta = nn.Sequential(
            nn.Linear(2, 256, bias=True), nn.ReLU(True), nn.Linear(256, num_heads, bias=True))
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, qkv: torch.Tensor) -> torch.Tensor:
        num_win, n, _ = qkv.shape
        qkv = qkv.reshape(num_win, n, 3, self.num_heads, self.dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.meta(self.relative_positions).permute(2, 0, 1).contiguous()
        attn = self.softmax(attn + bias.unsqueeze(0))
        return (attn @ v).transpose(1, 2).reshape(num_win, n, self.dim)


def _window_partition(x: torch.Tensor, ws: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * H/ws * W/ws, ws*ws, C)."""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def _window_reverse(windows: torch.Tensor, ws: int, h: int, w: int) -> torch.Tensor:
    """(B * H/ws * W/ws, ws*ws, C) -> (B, H, W, C)."""
    b = windows.shape[0] // ((h // ws) * (w // ws))
    x = windows.view(b, h // ws, w // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, -1)


class Attention(nn.Module):
    """Token mixer: (shifted) window attention and/or a (depthwise) conv branch.

    ``QK``, ``V`` and ``proj`` are 1x1 convs, so LoRA adapts them as conv layers.
    """

    def __init__(self, network_depth: int, dim: int, num_heads: int, window_size: int,
                 shift_size: int, use_attn: bool = False, conv_type: Optional[str] = None):
        super().__init__()
        self.dim = dim
        self.window_size = window_size
        self.shift_size = shift_size
        self.use_attn = use_attn
        self.conv_type = conv_type

        if conv_type == 'Conv':
            self.conv = nn.Sequential(
                nn.Conv2d(dim, dim, 3, padding=1, padding_mode='reflect'), nn.ReLU(True),
                nn.Conv2d(dim, dim, 3, padding=1, padding_mode='reflect'))
        elif conv_type == 'DWConv':
            self.conv = nn.Conv2d(dim, dim, 5, padding=2, groups=dim, padding_mode='reflect')
        if conv_type == 'DWConv' or use_attn:
            self.V = nn.Conv2d(dim, dim, 1)
            self.proj = nn.Conv2d(dim, dim, 1)
        if use_attn:
            self.QK = nn.Conv2d(dim, dim * 2, 1)
            self.attn = WindowAttention(dim, window_size, num_heads)

        gain = (8 * network_depth)**(-1 / 4)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                _trunc_normal_scaled(m, 1.0 if m.weight.shape[0] == dim * 2 else gain)

    def _pad_for_windows(self, x: torch.Tensor) -> torch.Tensor:
        ws, shift = self.window_size, self.shift_size
        h, w = x.shape[-2:]
        pad_h, pad_w = (ws - h % ws) % ws, (ws - w % ws) % ws
        if shift > 0:
            return reflect_pad(x, (shift, (ws - shift + pad_w) % ws, shift, (ws - shift + pad_h) % ws))
        return reflect_pad(x, (0, pad_w, 0, pad_h))

    def _window_attention(self, qkv: torch.Tensor) -> torch.Tensor:
        h, w = qkv.shape[-2:]
        padded = self._pad_for_windows(qkv)
        hp, wp = padded.shape[-2:]
        windows = _window_partition(padded.permute(0, 2, 3, 1), self.window_size)
        out = _window_reverse(self.attn(windows), self.window_size, hp, wp)
        s = self.shift_size
        return out[:, s:s + h, s:s + w, :].permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_attn:
            v = self.V(x)
            attn_out = self._window_attention(torch.cat([self.QK(x), v], dim=1))
            if self.conv_type in ('Conv', 'DWConv'):
                return self.proj(self.conv(v) + attn_out)
            return self.proj(attn_out)
        if self.conv_type == 'Conv':
            return self.conv(x)
        return self.proj(self.conv(self.V(x)))


class TransformerBlock(nn.Module):
    """Pre-norm residual block: RLN -> Attention -> rescale, then Mlp (no norm, as released)."""

    def __init__(self, network_depth: int, dim: int, num_heads: int, mlp_ratio: float,
                 window_size: int, shift_size: int, use_attn: bool, conv_type: str):
        super().__init__()
        self.use_attn = use_attn
        self.norm1 = RLN(dim) if use_attn else nn.Identity()
        self.attn = Attention(network_depth, dim, num_heads, window_size, shift_size,
                              use_attn=use_attn, conv_type=conv_type)
        self.norm2 = nn.Identity()
        self.mlp = Mlp(network_depth, dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_attn:
            y, rescale, rebias = self.norm1(x)
            x = x + self.attn(y) * rescale + rebias
        else:
            x = x + self.attn(x)
        return x + self.mlp(x)


class BasicLayer(nn.Module):
    """A stage of ``depth`` TransformerBlocks; attention in the last ``attn_ratio`` share of them."""

    def __init__(self, network_depth: int, dim: int, depth: int, num_heads: int,
                 mlp_ratio: float, window_size: int, attn_ratio: float, conv_type: str):
        super().__init__()
        attn_depth = attn_ratio * depth
        self.blocks = nn.ModuleList([
            TransformerBlock(network_depth, dim, num_heads, mlp_ratio, window_size,
                             shift_size=0 if i % 2 == 0 else window_size // 2,
                             use_attn=i >= depth - attn_depth, conv_type=conv_type)
            for i in range(depth)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class PatchEmbed(nn.Module):
    """Strided conv (reflect padding) that embeds or downsamples by ``patch_size``."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int,
                 kernel_size: Optional[int] = None):
        super().__init__()
        kernel_size = kernel_size or patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size, stride=patch_size,
                              padding=(kernel_size - patch_size + 1) // 2, padding_mode='reflect')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class PatchUnEmbed(nn.Module):
    """Conv + PixelShuffle that upsamples by ``patch_size``."""

    def __init__(self, patch_size: int, out_chans: int, embed_dim: int, kernel_size: int = 1):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Conv2d(embed_dim, out_chans * patch_size**2, kernel_size,
                      padding=kernel_size // 2, padding_mode='reflect'),
            nn.PixelShuffle(patch_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class SKFusion(nn.Module):
    """Selective-kernel fusion of ``height`` feature maps of equal shape (B, C, H, W)."""

    def __init__(self, dim: int, height: int = 2, reduction: int = 8):
        super().__init__()
        self.height = height
        d = max(int(dim / reduction), 4)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.mlp = nn.Sequential(
            nn.Conv2d(dim, d, 1, bias=False), nn.ReLU(),
            nn.Conv2d(d, dim * height, 1, bias=False))
        self.softmax = nn.Softmax(dim=1)

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        b, c, h, w = feats[0].shape
        stacked = torch.cat(feats, dim=1).view(b, self.height, c, h, w)
        attn = self.mlp(self.avg_pool(stacked.sum(dim=1)))
        attn = self.softmax(attn.view(b, self.height, c, 1, 1))
        return (stacked * attn).sum(dim=1)


@MODELS.register_module()
class DehazeFormer(BaseModule):
    """DehazeFormer generator: hazy image (N, 3, H, W) in [-1, 1] -> dehazed image, same shape.

    The network predicts K and B (:meth:`forward_features`) and returns ``K * x - B + x``. Any H,
    W is accepted: the input is reflection-padded to a multiple of ``pad_multiple`` and the
    output cropped back. The default (4 * window_size = 32) makes every window of every stage
    full; ``pad_multiple=4`` reproduces the official test-time padding exactly.

    Args:
        arch: one of 't', 's', 'b', 'm', 'l' (the official variants), 't-conv' (t with every
            ``attn_ratio`` 0, which the official constructor allows: depthwise-conv token mixers
            only, no RLN, so no window seams) or None to give every setting explicitly.
        in_chans / out_chans / window_size / embed_dims / mlp_ratios / depths / num_heads /
            attn_ratio / conv_type: as in the official constructor (``conv_type`` one string for
            all stages or a list of five).
        pad_multiple: input padding multiple (pixels).
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained', checkpoint=PATH)`` for an
            official checkpoint.
    """

    def __init__(self,
                 arch: Optional[str] = 't',
                 in_chans: int = 3,
                 out_chans: int = 4,
                 window_size: int = 8,
                 embed_dims: Optional[Sequence[int]] = None,
                 mlp_ratios: Sequence[float] = (2., 4., 4., 2., 2.),
                 depths: Optional[Sequence[int]] = None,
                 num_heads: Sequence[int] = (2, 4, 6, 1, 1),
                 attn_ratio: Optional[Sequence[float]] = None,
                 conv_type=None,
                 pad_multiple: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if arch is not None:
            if arch not in ARCH_SETTINGS:
                raise ValueError(f'Unknown DehazeFormer arch {arch!r}; '
                                 f'choose one of {sorted(ARCH_SETTINGS)} or None.')
            setting = ARCH_SETTINGS[arch]
            embed_dims = embed_dims or setting['embed_dims']
            depths = depths or setting['depths']
            attn_ratio = setting['attn_ratio'] if attn_ratio is None else attn_ratio
            conv_type = conv_type or setting['conv_type']
        if None in (embed_dims, depths, attn_ratio, conv_type):
            raise ValueError('DehazeFormer with arch=None needs embed_dims, depths, attn_ratio '
                             'and conv_type.')
        if isinstance(conv_type, str):
            conv_type = [conv_type] * 5
        if embed_dims[1] != embed_dims[3] or embed_dims[0] != embed_dims[4]:
            raise ValueError(f'embed_dims must be symmetric (d0 == d4, d1 == d3), got {embed_dims}')
        self.in_chans = in_chans
        self.patch_size = 4
        self.window_size = window_size
        self.pad_multiple = pad_multiple or self.patch_size * window_size
        network_depth = sum(depths)

        def stage(i: int) -> BasicLayer:
            return BasicLayer(network_depth, embed_dims[i], depths[i], num_heads[i],
                              mlp_ratios[i], window_size, attn_ratio[i], conv_type[i])

        self.patch_embed = PatchEmbed(1, in_chans, embed_dims[0], kernel_size=3)
        self.layer1 = stage(0)
        self.patch_merge1 = PatchEmbed(2, embed_dims[0], embed_dims[1])
        self.skip1 = nn.Conv2d(embed_dims[0], embed_dims[0], 1)
        self.layer2 = stage(1)
        self.patch_merge2 = PatchEmbed(2, embed_dims[1], embed_dims[2])
        self.skip2 = nn.Conv2d(embed_dims[1], embed_dims[1], 1)
        self.layer3 = stage(2)
        self.patch_split1 = PatchUnEmbed(2, embed_dims[3], embed_dims[2])
        self.fusion1 = SKFusion(embed_dims[3])
        self.layer4 = stage(3)
        self.patch_split2 = PatchUnEmbed(2, embed_dims[4], embed_dims[3])
        self.fusion2 = SKFusion(embed_dims[4])
        self.layer5 = stage(4)
        self.patch_unembed = PatchUnEmbed(1, out_chans, embed_dims[4], kernel_size=3)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_chans, H, W), H and W multiples of 4 (of 4 * window_size with attention) ->
        (N, out_chans, H, W): K and B."""
        x = self.layer1(self.patch_embed(x))
        skip1 = x
        x = self.layer2(self.patch_merge1(x))
        skip2 = x
        x = self.patch_split1(self.layer3(self.patch_merge2(x)))
        x = self.fusion1([x, self.skip2(skip2)]) + x
        x = self.patch_split2(self.layer4(x))
        x = self.fusion2([x, self.skip1(skip1)]) + x
        return self.patch_unembed(self.layer5(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, 3, H, W): ``K * x - B + x``."""
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, self.pad_multiple)
        k, b = torch.split(self.forward_features(x), (1, 3), dim=1)
        return (k * x - b + x)[:, :, :h, :w]
