"""LayerPositioningOptimWrapper: the arithmetic of a BiLaLoRA step (two optimizers, one update).

A search iteration costs two forward/backward passes:

1. upper loss F on the upper batch -> backward -> dF/dw (LoRA weights) and dF/dalpha (gates),
   saved;
2. lower loss f on the lower batch -> backward -> df/dw (the LoRA update) and df/dalpha.

Gate gradient (``hypergradient``):

- ``'paper'`` (default, Eq. 7 with the Gauss-Newton approximation):
  ``g = dF/dalpha - (<dF/dw, df/dw> / (||df/dw||^2 + eps)) * df/dalpha``;
- ``'authors_code'``: the released code's form, opposite sign and scaled by the LoRA learning
  rate: ``g = dF/dalpha + lr_w * ratio * df/dalpha``;
- ``'first_order'``: ``g = dF/dalpha``.

The LoRA weights step with df/dw, the gates with g; each sub-wrapper clips its own gradients
(``clip_grad``) before its step. A fine-tune iteration is one lower pass and a LoRA step. With
``amp=True`` both passes run under ``torch.autocast`` (``amp_dtype``); float16 adds dynamic loss
scaling (one ``GradScaler`` for both passes; the ratio is computed on scaled gradients, which
leaves it unchanged, and the step is skipped on overflow).
"""
from contextlib import nullcontext
from typing import Callable, Dict, Iterable, List, Optional

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

from ...models.lora.gate import LayerGate

HYPERGRADIENT_MODES = ('paper', 'authors_code', 'first_order')
LossFn = Callable[[], torch.Tensor]


def _params(wrapper: OptimWrapper) -> List[nn.Parameter]:
    return [p for group in wrapper.optimizer.param_groups for p in group['params']]


def _grads(params: Iterable[nn.Parameter]) -> List[torch.Tensor]:
    return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
            for p in params]


@OPTIM_WRAPPERS.register_module()
class LayerPositioningOptimWrapper(OptimWrapperDict):
    """``OptimWrapperDict`` with a ``'lora'`` and a ``'gate'`` wrapper and the bilevel step.

    Args:
        lora: wrapper of the LoRA-weight optimizer (paper: Adam).
        gate: wrapper of the gate optimizer (paper: AdamW lr 3e-4, betas (0.5, 0.999), wd 1e-3).
        hypergradient: one of :data:`HYPERGRADIENT_MODES`.
        eps: added to ``||df/dw||^2`` in the ratio.
        amp: run the passes under autocast.
        amp_dtype: ``'float16'`` (with loss scaling) or ``'bfloat16'``.
    """

    def __init__(self, lora: OptimWrapper, gate: OptimWrapper, hypergradient: str = 'paper',
                 eps: float = 1e-12, amp: bool = False, amp_dtype: str = 'float16'):
        super().__init__(lora=lora, gate=gate)
        if hypergradient not in HYPERGRADIENT_MODES:
            raise ValueError(f'hypergradient must be one of {HYPERGRADIENT_MODES}, '
                             f'got {hypergradient!r}')
        if amp_dtype not in ('float16', 'bfloat16'):
            raise ValueError(f"amp_dtype must be 'float16' or 'bfloat16', got {amp_dtype!r}")
        self.hypergradient = hypergradient
        self.eps = eps
        self.amp = amp
        self.amp_dtype = getattr(torch, amp_dtype)
        params = _params(lora) + _params(gate)
        self.device_type = params[0].device.type if params else 'cpu'
        self.scaler = (torch.amp.GradScaler(self.device_type)
                       if amp and amp_dtype == 'float16' else None)

    @property
    def lora_params(self) -> List[nn.Parameter]:
        return _params(self['lora'])

    @property
    def gate_params(self) -> List[nn.Parameter]:
        return _params(self['gate'])

    def autocast(self):
        """The autocast context of both passes (a no-op without AMP)."""
        if not self.amp:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.amp_dtype)

    def _backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def _finish_step(self, wrappers: List[OptimWrapper]) -> None:
        if self.scaler is not None:
            for wrapper in wrappers:
                self.scaler.unscale_(wrapper.optimizer)
        for wrapper in wrappers:
            if wrapper.clip_grad_kwargs:
                wrapper._clip_grad()
            if self.scaler is not None:
                self.scaler.step(wrapper.optimizer)
            else:
                wrapper.optimizer.step()
        if self.scaler is not None:
            self.scaler.update()
        self.zero_grad(set_to_none=True)

    def gate_gradient(self, dF_dw: List[torch.Tensor], dF_da: List[torch.Tensor],
                      df_dw: List[torch.Tensor],
                      df_da: List[torch.Tensor]) -> (List[torch.Tensor], torch.Tensor):
        """The gates' gradient of the configured mode and the ratio <dF/dw, df/dw>/||df/dw||^2.

        Gradients may be loss-scaled by s: the ratio is scale-free (eps is scaled by s^2) and
        the returned gradient carries the same scale s.
        """
        scale = self.scaler.get_scale() if self.scaler is not None else 1.0
        dot = sum((a.double() * b.double()).sum() for a, b in zip(dF_dw, df_dw))
        norm2 = sum((b.double() * b.double()).sum() for b in df_dw)
        ratio = (dot / (norm2 + self.eps * scale * scale)) if df_dw else torch.zeros(())
        ratio = ratio.to(torch.float32)
        if self.hypergradient == 'first_order':
            grads = [a.clone() for a in dF_da]
        elif self.hypergradient == 'paper':
            grads = [a - ratio.to(a.dtype) * b for a, b in zip(dF_da, df_da)]
        else:
            lr_w = self['lora'].optimizer.param_groups[0]['lr']
            grads = [a + lr_w * ratio.to(a.dtype) * b for a, b in zip(dF_da, df_da)]
        return grads, ratio

    def bilevel_step(self, upper_loss: LossFn, lower_loss: LossFn) -> Dict[str, torch.Tensor]:
        """One search iteration: two forward/backward passes, then both optimizers step.

        Args:
            upper_loss: computes F on the upper batch (called once).
            lower_loss: computes f on the lower batch (called once).

        Returns:
            Log values: ``loss_upper``, ``loss_lower``, ``hypergrad_ratio``.
        """
        lora, gates = self.lora_params, self.gate_params
        self.zero_grad(set_to_none=True)
        with self.autocast():
            loss_f_upper = upper_loss()
        self._backward(loss_f_upper)
        dF_dw, dF_da = _grads(lora), _grads(gates)
        self.zero_grad(set_to_none=True)
        with self.autocast():
            loss_f_lower = lower_loss()
        self._backward(loss_f_lower)
        df_dw, df_da = _grads(lora), _grads(gates)
        gate_grads, ratio = self.gate_gradient(dF_dw, dF_da, df_dw, df_da)
        for p, g in zip(gates, gate_grads):
            p.grad = g
        self._finish_step([self['lora'], self['gate']])
        return dict(loss_upper=loss_f_upper.detach(), loss_lower=loss_f_lower.detach(),
                    hypergrad_ratio=ratio.detach())

    def lower_step(self, lower_loss: LossFn) -> Dict[str, torch.Tensor]:
        """One fine-tune iteration: lower loss, backward, LoRA step (gates untouched)."""
        self.zero_grad(set_to_none=True)
        with self.autocast():
            loss_f_lower = lower_loss()
        self._backward(loss_f_lower)
        for p in self.gate_params:
            p.grad = None
        self._finish_step([self['lora']])
        return dict(loss_lower=loss_f_lower.detach())

    def drop_params(self, params: Iterable[nn.Parameter]) -> int:
        """Remove ``params`` (e.g. dropped adapters) from both optimizers and their state.

        Returns:
            How many parameters were removed.
        """
        drop = {id(p) for p in params}
        removed = 0
        for wrapper in self.values():
            optimizer = wrapper.optimizer
            for group in optimizer.param_groups:
                kept = [p for p in group['params'] if id(p) not in drop]
                removed += len(group['params']) - len(kept)
                group['params'] = kept
            for p in [p for p in optimizer.state if id(p) in drop]:
                del optimizer.state[p]
        return removed

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.scaler is not None:
            state['loss_scaler'] = self.scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        super().load_state_dict(state_dict)
        if self.scaler is not None and scaler_state is not None:
            self.scaler.load_state_dict(scaler_state)


def split_lora_and_gate_params(model: nn.Module):
    """(LoRA weights, gate alphas) of ``model`` that require grad, each in model order."""
    gate_ids = {id(m.alpha) for m in model.modules() if isinstance(m, LayerGate)}
    lora, gates = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if id(p) in gate_ids:
            gates.append(p)
        elif name.endswith(('lora_A', 'lora_B')):
            lora.append(p)
    return lora, gates


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerPositioningOptimWrapperConstructor:
    """Build a :class:`LayerPositioningOptimWrapper` from a config::

        optim_wrapper = dict(
            constructor='LayerPositioningOptimWrapperConstructor',
            type='LayerPositioningOptimWrapper',
            lora=dict(optimizer=dict(type='Adam', lr=1e-6), clip_grad=dict(max_norm=5.0)),
            gate=dict(optimizer=dict(type='AdamW', lr=3e-4, betas=(0.5, 0.999),
                                     weight_decay=1e-3)),
            hypergradient='paper')

    Only LoRA weights go to ``lora`` and only gates to ``gate`` (the authors' code also put the
    gates into the LoRA optimizer; see the docs).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg:
            raise ValueError('LayerPositioningOptimWrapperConstructor takes no paramwise_cfg.')
        self.cfg = dict(optim_wrapper_cfg)

    def __call__(self, model: nn.Module) -> LayerPositioningOptimWrapper:
        model = getattr(model, 'module', model)
        cfg = dict(self.cfg)
        wrapper_type = cfg.pop('type', 'LayerPositioningOptimWrapper')
        lora_params, gate_params = split_lora_and_gate_params(model)
        if not lora_params:
            raise ValueError(f'{type(model).__name__} has no trainable LoRA weights: inject LoRA '
                             '(lora_cfg) before building LayerPositioningOptimWrapper.')
        if not gate_params:
            raise ValueError(f'{type(model).__name__} has no trainable LayerGate: '
                             'LayerPositioningOptimWrapper needs gated LoRA (lora_cfg gate=True).')
        wrappers = {}
        for key, params in (('lora', lora_params), ('gate', gate_params)):
            sub = dict(cfg.pop(key))
            optimizer_cfg = dict(sub.pop('optimizer'))
            optimizer_cfg['params'] = params
            sub.setdefault('type', 'OptimWrapper')
            sub['optimizer'] = OPTIMIZERS.build(optimizer_cfg)
            wrappers[key] = OPTIM_WRAPPERS.build(sub)
        return OPTIM_WRAPPERS.build(dict(type=wrapper_type, **wrappers, **cfg))
