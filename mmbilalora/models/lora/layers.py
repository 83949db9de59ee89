"""LoRA-wrapped Conv2d / Linear layers that keep the base layer's parameter names.

``W' = W + gate * (lora_alpha / r) * delta(B, A)`` where ``gate = sigmoid(alpha)`` of the block's
:class:`LayerGate` (1 when the layer has no gate).

Shapes (``k_h``, ``k_w`` kernel, ``c_in / g`` input channels per group):

- Conv2d (paper / loralib form, generalised to groups and non-square kernels):
  ``lora_A`` (r * k_h, c_in / g * k_w), ``lora_B`` (c_out * k_h, r * k_h),
  ``delta = (B @ A).view(c_out, c_in / g, k_h, k_w)``. For groups = 1 and k_h = k_w = k this is
  exactly loralib's ``ConvLoRA``; for grouped / depthwise convs the delta has the weight's true shape.
- Linear: ``lora_A`` (r, in), ``lora_B`` (out, r), ``delta = B @ A``.

``A`` is kaiming-uniform(a=sqrt(5)) and ``B`` zero, so an adapter starts as the identity edit.
Without dropout the forward runs the base op once with the adapted weight (the weight-sized delta is
far cheaper than a second pass over the activations); with dropout the low-rank branch sees the
dropped-out input, as in loralib's Linear.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from .gate import LayerGate

LORA_PARAM_NAMES = ('lora_A', 'lora_B')
_LORA_ATTRS = ('_gate', 'base_class', 'r', 'lora_alpha', 'scaling', 'merged', '_unmerged_weight')


def _copy_module_state(src: nn.Module, dst: nn.Module, drop=()) -> None:
    """Give ``dst`` the attributes of ``src`` (shallow; registries such as ``_parameters`` are new
    dicts holding the same tensors), leaving out the names in ``drop``."""
    for key, value in src.__dict__.items():
        if key in drop:
            continue
        if isinstance(value, dict):
            value = type(value)((k, v) for k, v in value.items() if k not in drop)
        dst.__dict__[key] = value


class LoRALayerMixin:
    """State and arithmetic shared by the LoRA layers (no ``__init__``: see :meth:`_init_lora`).

    ``WEIGHT`` / ``BIAS`` name the adapted base parameter and its bias.
    """

    WEIGHT = 'weight'
    BIAS = 'bias'

    @property
    def base_weight(self) -> nn.Parameter:
        return getattr(self, self.WEIGHT)

    @property
    def base_bias(self) -> Optional[nn.Parameter]:
        return getattr(self, self.BIAS)

    def _init_lora(self, base: nn.Module, r: int, lora_alpha: float, dropout: float,
                   gate: Optional[LayerGate], a_shape, b_shape) -> None:
        if r <= 0:
            raise ValueError(f'LoRA rank r must be positive, got {r}')
        nn.Module.__init__(self)
        _copy_module_state(base, self)
        self.base_class = type(base)
        self.r = r
        self.lora_alpha = lora_alpha
        self.scaling = lora_alpha / r
        weight = getattr(base, self.WEIGHT)
        self.lora_A = nn.Parameter(weight.new_zeros(a_shape))
        self.lora_B = nn.Parameter(weight.new_zeros(b_shape))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.set_gate(gate)
        self.merged = False
        self.base_weight.requires_grad_(False)
        if self.base_bias is not None:
            self.base_bias.requires_grad_(False)

    @classmethod
    def lora_shapes(cls, base: nn.Module, r: int) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
        """Shapes of ``lora_A`` and ``lora_B`` for wrapping ``base`` with rank ``r``."""
        raise NotImplementedError

    @classmethod
    def lora_numel(cls, base: nn.Module, r: int) -> int:
        """Number of LoRA weights a rank-``r`` adapter on ``base`` would have."""
        return sum(math.prod(shape) for shape in cls.lora_shapes(base, r))

    def set_gate(self, gate: Optional[LayerGate]) -> None:
        """Reference ``gate`` without registering it (it is registered on the block)."""
        object.__setattr__(self, '_gate', gate)

    @property
    def gate(self) -> Optional[LayerGate]:
        return self._gate

    def gate_value(self) -> torch.Tensor:
        """The gate sigmoid(alpha) (0-dim tensor with grad), or 1 without a gate."""
        if self._gate is None:
            return self.lora_A.new_ones(())
        return self._gate()

    def low_rank_product(self) -> torch.Tensor:
        """``B @ A`` reshaped to the base weight's shape (no scaling, no gate)."""
        return (self.lora_B @ self.lora_A).view(self.base_weight.shape)

    def delta_weight(self) -> torch.Tensor:
        """``gate * (lora_alpha / r) * (B @ A)`` in the base weight's shape."""
        return self.low_rank_product() * (self.gate_value() * self.scaling)

    def _use_branch(self) -> bool:
        return self.training and isinstance(self.lora_dropout, nn.Dropout)

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the adapter into ``weight`` in place; the original is kept for :meth:`unmerge`."""
        if not self.merged:
            self._unmerged_weight = self.base_weight.detach().clone()
            self.base_weight.add_(self.delta_weight().to(self.base_weight.dtype))
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Restore the exact base weight saved by :meth:`merge`."""
        if self.merged:
            self.base_weight.copy_(self._unmerged_weight)
            del self._unmerged_weight
            self.merged = False

    def to_base(self, merge: bool = True) -> nn.Module:
        """A module of the original class without adapter.

        Args:
            merge: the returned weight includes the adapter (a new Parameter); otherwise it is
                the exact base weight (the same Parameter object).
        """
        if not merge:
            self.unmerge()
        base = self.base_class.__new__(self.base_class)
        nn.Module.__init__(base)
        _copy_module_state(self, base, drop=_LORA_ATTRS + LORA_PARAM_NAMES + ('lora_dropout', ))
        if merge:
            with torch.no_grad():
                weight = self.base_weight.detach().clone()
                if not self.merged:
                    weight += self.delta_weight().to(weight.dtype)
            setattr(base, self.WEIGHT,
                    nn.Parameter(weight, requires_grad=self.base_weight.requires_grad))
        return base

    def num_lora_parameters(self) -> int:
        return self.lora_A.numel() + self.lora_B.numel()

    def extra_repr(self) -> str:
        return (super().extra_repr() + f', r={self.r}, lora_alpha={self.lora_alpha}, '
                f'gated={self._gate is not None}, merged={self.merged}')


@MODELS.register_module()
class LoRAConv2d(LoRALayerMixin, nn.Conv2d):
    """An ``nn.Conv2d`` with a LoRA adapter; built from an existing conv by :meth:`from_base`."""

    def __init__(self, *args, r: int = 8, lora_alpha: float = 16, dropout: float = 0.0,
                 gate: Optional[LayerGate] = None, **kwargs):
        self._init_from(nn.Conv2d(*args, **kwargs), r, lora_alpha, dropout, gate)

    @classmethod
    def from_base(cls, conv: nn.Conv2d, r: int = 8, lora_alpha: float = 16,
                  dropout: float = 0.0, gate: Optional[LayerGate] = None) -> 'LoRAConv2d':
        """Wrap ``conv``: its ``weight``/``bias`` Parameters are shared, not copied."""
        layer = cls.__new__(cls)
        layer._init_from(conv, r, lora_alpha, dropout, gate)
        return layer

    @classmethod
    def lora_shapes(cls, conv: nn.Conv2d, r: int):
        out_ch, in_per_group, kh, kw = conv.weight.shape
        return (r * kh, in_per_group * kw), (out_ch * kh, r * kh)

    def _init_from(self, conv: nn.Conv2d, r, lora_alpha, dropout, gate) -> None:
        a_shape, b_shape = self.lora_shapes(conv, r)
        self._init_lora(conv, r, lora_alpha, dropout, gate, a_shape=a_shape, b_shape=b_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merged:
            return self._conv_forward(x, self.weight, self.bias)
        if self._use_branch():
            return (self._conv_forward(x, self.weight, self.bias)
                    + self._conv_forward(self.lora_dropout(x), self.delta_weight(), None))
        return self._conv_forward(x, self.weight + self.delta_weight(), self.bias)


@MODELS.register_module()
class LoRALinear(LoRALayerMixin, nn.Linear):
    """An ``nn.Linear`` with a LoRA adapter; built from an existing linear by :meth:`from_base`."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, r: int = 8,
                 lora_alpha: float = 16, dropout: float = 0.0,
                 gate: Optional[LayerGate] = None):
        self._init_from(nn.Linear(in_features, out_features, bias), r, lora_alpha, dropout, gate)

    @classmethod
    def from_base(cls, linear: nn.Linear, r: int = 8, lora_alpha: float = 16,
                  dropout: float = 0.0, gate: Optional[LayerGate] = None) -> 'LoRALinear':
        """Wrap ``linear``: its ``weight``/``bias`` Parameters are shared, not copied."""
        layer = cls.__new__(cls)
        layer._init_from(linear, r, lora_alpha, dropout, gate)
        return layer

    @classmethod
    def lora_shapes(cls, linear: nn.Linear, r: int):
        out_f, in_f = linear.weight.shape
        return (r, in_f), (out_f, r)

    def _init_from(self, linear: nn.Linear, r, lora_alpha, dropout, gate) -> None:
        a_shape, b_shape = self.lora_shapes(linear, r)
        self._init_lora(linear, r, lora_alpha, dropout, gate, a_shape=a_shape, b_shape=b_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merged:
            return F.linear(x, self.weight, self.bias)
        if self._use_branch():
            low_rank = F.linear(F.linear(self.lora_dropout(x), self.lora_A), self.lora_B)
            return F.linear(x, self.weight, self.bias) + low_rank * (
                self.gate_value() * self.scaling)
        return F.linear(x, self.weight + self.delta_weight(), self.bias)


@MODELS.register_module()
class LoRAMultiheadAttention(LoRALayerMixin, nn.MultiheadAttention):
    """An ``nn.MultiheadAttention`` whose packed q/k/v projection ``in_proj_weight`` (3E, E)
    carries a LoRA adapter: ``lora_A`` (r, E), ``lora_B`` (3E, r).

    The output projection is an ``nn.Linear`` that ``nn.MultiheadAttention`` reads directly;
    when it is wrapped as :class:`LoRALinear` too, this module's forward applies its adapter.
    Needs ``q``, ``k`` and ``v`` of equal size (the packed ``in_proj_weight``).
    """

    WEIGHT = 'in_proj_weight'
    BIAS = 'in_proj_bias'

    @classmethod
    def from_base(cls, mha: nn.MultiheadAttention, r: int = 8, lora_alpha: float = 16,
                  dropout: float = 0.0,
                  gate: Optional[LayerGate] = None) -> 'LoRAMultiheadAttention':
        if not mha._qkv_same_embed_dim:
            raise ValueError('LoRA on nn.MultiheadAttention needs the packed in_proj_weight '
                             '(kdim == vdim == embed_dim).')
        layer = cls.__new__(cls)
        a_shape, b_shape = cls.lora_shapes(mha, r)
        layer._init_lora(mha, r, lora_alpha, dropout, gate, a_shape=a_shape, b_shape=b_shape)
        return layer

    @classmethod
    def lora_shapes(cls, mha: nn.MultiheadAttention, r: int):
        e = mha.embed_dim
        return (r, e), (3 * e, r)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        in_proj = self.in_proj_weight
        if not self.merged:
            in_proj = in_proj + self.delta_weight()
        out_proj = self.out_proj.weight
        if isinstance(self.out_proj, LoRALinear) and not self.out_proj.merged:
            out_proj = out_proj + self.out_proj.delta_weight()
        batched = query.dim() == 3
        if self.batch_first and batched:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, in_proj, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, out_proj,
            self.out_proj.bias, training=self.training, key_padding_mask=key_padding_mask,
            need_weights=need_weights, attn_mask=attn_mask,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        return out, weights
