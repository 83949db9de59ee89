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
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS
from torch.nn.utils import parametrize

from .gate import LayerGate

LORA_PARAM_NAMES = ('lora_A', 'lora_B')


class LoRALayerMixin:
    """State and arithmetic shared by the LoRA layers.

    A LoRA layer is a plain subclass of its base class (``BASE``), built by the base class's own
    constructor and then given LoRA weights (:meth:`_init_lora`), as in loralib.
    :meth:`from_base` runs that constructor with the arguments of an existing layer (on the meta
    device, so nothing is allocated or drawn from the random generator), adopts that layer's
    parameters and sub-modules (the same objects, no copies) and adds the LoRA weights. Nothing
    else of the base layer is carried over: hooks registered on it stay with it; hooks and
    parametrisations registered on the LoRA layer behave as on any ``BASE`` module.
    :meth:`to_base` builds the base class the same way. ``WEIGHT`` / ``BIAS`` name the adapted
    base parameter and its bias.
    """

    BASE: type = nn.Module
    WEIGHT = 'weight'
    BIAS = 'bias'

    @property
    def base_weight(self) -> torch.Tensor:
        return getattr(self, self.WEIGHT)

    @property
    def base_bias(self) -> Optional[nn.Parameter]:
        return getattr(self, self.BIAS)

    @classmethod
    def constructor_args(cls, layer: nn.Module) -> Dict:
        """The ``BASE`` constructor arguments (without device and dtype) that rebuild ``layer``."""
        raise NotImplementedError

    @classmethod
    def lora_shapes(cls, base: nn.Module, r: int) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
        """Shapes of ``lora_A`` and ``lora_B`` for wrapping ``base`` with rank ``r``."""
        raise NotImplementedError

    @classmethod
    def lora_numel(cls, base: nn.Module, r: int) -> int:
        """Number of LoRA weights a rank-``r`` adapter on ``base`` would have."""
        return sum(math.prod(shape) for shape in cls.lora_shapes(base, r))

    @classmethod
    def from_base(cls, base: nn.Module, r: int = 8, lora_alpha: float = 16, dropout: float = 0.0,
                  gate: Optional[LayerGate] = None) -> 'LoRALayerMixin':
        """Wrap ``base``: its parameters (and sub-modules) are adopted, not copied; they are
        frozen. The LoRA layer keeps ``base``'s class for :meth:`to_base` and its train/eval mode.

        Raises:
            TypeError: ``base`` is not a ``BASE``.
            ValueError: ``base`` carries a parametrisation (``torch.nn.utils.parametrize``), or
                ``r`` is not positive.
        """
        if not isinstance(base, cls.BASE):
            raise TypeError(f'{cls.__name__} wraps a {cls.BASE.__name__}, got '
                            f'{type(base).__name__}.')
        _refuse_parametrised(base, 'wrap it with LoRA')
        layer = cls.__new__(cls)
        cls.BASE.__init__(layer, **cls.constructor_args(base), device='meta',
                          dtype=getattr(base, cls.WEIGHT).dtype)
        _adopt_tensors(base, layer)
        layer._init_lora(r, lora_alpha, dropout, gate)
        layer.base_class = type(base)
        return layer.train(base.training)

    def _init_lora(self, r: int, lora_alpha: float, dropout: float,
                   gate: Optional[LayerGate]) -> None:
        """Add the LoRA state to a ``BASE`` module built by ``BASE``'s constructor."""
        if r <= 0:
            raise ValueError(f'LoRA rank r must be positive, got {r}')
        self.base_class = self.BASE
        self.r = r
        self.lora_alpha = lora_alpha
        self.scaling = lora_alpha / r
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.set_gate(gate)
        self.merged = False
        self.reset_lora_parameters()

    def reset_lora_parameters(self) -> None:
        """New ``lora_A`` (kaiming-uniform, a=sqrt(5)) and ``lora_B`` (zero) beside the base
        weight (its device and dtype); the base weight and bias are frozen."""
        weight = self.base_weight
        a_shape, b_shape = self.lora_shapes(self, self.r)
        self.lora_A = nn.Parameter(weight.new_zeros(a_shape))
        self.lora_B = nn.Parameter(weight.new_zeros(b_shape))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        weight.requires_grad_(False)
        if self.base_bias is not None:
            self.base_bias.requires_grad_(False)

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
        """Fold the adapter into ``weight`` in place; the original is kept for :meth:`unmerge`.

        Raises:
            ValueError: the layer is parametrised (the fold would not reach the stored tensor).
        """
        _refuse_parametrised(self, 'merge its adapter')
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
        """A module of the wrapped layer's class, without adapter, built by ``BASE``'s
        constructor from this layer's arguments; the other parameters and sub-modules are this
        layer's own (the same objects).

        Args:
            merge: the returned weight includes the adapter (a new Parameter); otherwise it is
                the exact base weight (the same Parameter object).

        Raises:
            ValueError: the layer is parametrised.
        """
        _refuse_parametrised(self, 'turn it back into its base class')
        if not merge:
            self.unmerge()
        base = self.base_class.__new__(self.base_class)
        self.BASE.__init__(base, **self.constructor_args(self), device='meta',
                           dtype=self.base_weight.dtype)
        _adopt_tensors(self, base)
        if merge:
            with torch.no_grad():
                weight = self.base_weight.detach().clone()
                if not self.merged:
                    weight += self.delta_weight().to(weight.dtype)
            setattr(base, self.WEIGHT,
                    nn.Parameter(weight, requires_grad=self.base_weight.requires_grad))
        return base.train(self.training)

    def num_lora_parameters(self) -> int:
        return self.lora_A.numel() + self.lora_B.numel()

    def extra_repr(self) -> str:
        return (super().extra_repr() + f', r={self.r}, lora_alpha={self.lora_alpha}, '
                f'gated={self._gate is not None}, merged={self.merged}')


def _refuse_parametrised(module: nn.Module, action: str) -> None:
    """Raise ValueError when ``module`` carries a ``torch.nn.utils.parametrize`` parametrisation
    (its weight is then computed, not stored)."""
    if parametrize.is_parametrized(module):
        raise ValueError(f'Cannot {action}: the {type(module).__name__} is parametrised; remove '
                         'the parametrisation first (parametrize.remove_parametrizations).')


def _adopt_tensors(src: nn.Module, dst: nn.Module) -> None:
    """Give ``dst`` the parameters and sub-modules of ``src`` under every name ``dst``'s
    constructor registered (the same objects). Both were built by the same constructor with the
    same arguments, so the names agree; anything else is an error."""
    for registry in ('_parameters', '_modules'):
        names = getattr(dst, registry)
        missing = [name for name in names if name not in getattr(src, registry)]
        if missing:
            raise ValueError(f'{type(src).__name__} lacks {missing} of a '
                             f'{type(dst).__name__} built with the same arguments.')
        for name in list(names):
            setattr(dst, name, getattr(src, registry)[name])


@MODELS.register_module()
class LoRAConv2d(LoRALayerMixin, nn.Conv2d):
    """An ``nn.Conv2d`` with a LoRA adapter: ``nn.Conv2d``'s arguments plus the LoRA ones."""

    BASE = nn.Conv2d

    def __init__(self, *args, r: int = 8, lora_alpha: float = 16, dropout: float = 0.0,
                 gate: Optional[LayerGate] = None, **kwargs):
        nn.Conv2d.__init__(self, *args, **kwargs)
        self._init_lora(r, lora_alpha, dropout, gate)

    @classmethod
    def constructor_args(cls, conv: nn.Conv2d) -> Dict:
        return dict(in_channels=conv.in_channels, out_channels=conv.out_channels,
                    kernel_size=conv.kernel_size, stride=conv.stride, padding=conv.padding,
                    dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None,
                    padding_mode=conv.padding_mode)

    @classmethod
    def lora_shapes(cls, conv: nn.Conv2d, r: int):
        out_ch, in_per_group, kh, kw = conv.weight.shape
        return (r * kh, in_per_group * kw), (out_ch * kh, r * kh)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merged:
            return self._conv_forward(x, self.weight, self.bias)
        if self._use_branch():
            return (self._conv_forward(x, self.weight, self.bias)
                    + self._conv_forward(self.lora_dropout(x), self.delta_weight(), None))
        return self._conv_forward(x, self.weight + self.delta_weight(), self.bias)


@MODELS.register_module()
class LoRALinear(LoRALayerMixin, nn.Linear):
    """An ``nn.Linear`` with a LoRA adapter: ``nn.Linear``'s arguments plus the LoRA ones."""

    BASE = nn.Linear

    def __init__(self, in_features: int, out_features: int, bias: bool = True, r: int = 8,
                 lora_alpha: float = 16, dropout: float = 0.0,
                 gate: Optional[LayerGate] = None, device=None, dtype=None):
        nn.Linear.__init__(self, in_features, out_features, bias, device=device, dtype=dtype)
        self._init_lora(r, lora_alpha, dropout, gate)

    @classmethod
    def constructor_args(cls, linear: nn.Linear) -> Dict:
        return dict(in_features=linear.in_features, out_features=linear.out_features,
                    bias=linear.bias is not None)

    @classmethod
    def lora_shapes(cls, linear: nn.Linear, r: int):
        out_f, in_f = linear.weight.shape
        return (r, in_f), (out_f, r)

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

    BASE = nn.MultiheadAttention
    WEIGHT = 'in_proj_weight'
    BIAS = 'in_proj_bias'

    def __init__(self, *args, r: int = 8, lora_alpha: float = 16, lora_dropout: float = 0.0,
                 gate: Optional[LayerGate] = None, **kwargs):
        nn.MultiheadAttention.__init__(self, *args, **kwargs)
        self._check_packed(self)
        self._init_lora(r, lora_alpha, lora_dropout, gate)

    @staticmethod
    def _check_packed(mha: nn.MultiheadAttention) -> None:
        if not mha._qkv_same_embed_dim:
            raise ValueError('LoRA on nn.MultiheadAttention needs the packed in_proj_weight '
                             '(kdim == vdim == embed_dim).')

    @classmethod
    def from_base(cls, mha: nn.MultiheadAttention, r: int = 8, lora_alpha: float = 16,
                  dropout: float = 0.0,
                  gate: Optional[LayerGate] = None) -> 'LoRAMultiheadAttention':
        """See :meth:`LoRALayerMixin.from_base`; ``dropout`` is the LoRA branch's."""
        cls._check_packed(mha)
        return super().from_base(mha, r, lora_alpha, dropout, gate)

    @classmethod
    def constructor_args(cls, mha: nn.MultiheadAttention) -> Dict:
        return dict(embed_dim=mha.embed_dim, num_heads=mha.num_heads, dropout=mha.dropout,
                    bias=mha.in_proj_bias is not None, add_bias_kv=mha.bias_k is not None,
                    add_zero_attn=mha.add_zero_attn, kdim=mha.kdim, vdim=mha.vdim,
                    batch_first=mha.batch_first)

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
