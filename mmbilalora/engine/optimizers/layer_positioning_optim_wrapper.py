"""LayerPositioningOptimWrapper: the arithmetic of a BiLaLoRA step (two optimizers, one update).

A search iteration (``update_order``):

- ``'paper'`` (default, Algorithm 1 of the paper; 3 forward + 3 backward passes):

  1. upper loss F on the upper batch at (w_t, alpha_t) -> dF/dw, dF/dalpha;
  2. lower loss f on the lower batch at (w_t, alpha_t) -> df/dw, df/dalpha;
  3. gate step with the hypergradient (Eq. 7) -> alpha_{t+1};
  4. lower loss on the same lower batch at (w_t, alpha_{t+1}) -> df/dw -> LoRA step -> w_{t+1}.

  With ``hypergradient='first_order'`` step 2 is not needed and is skipped (2 + 2 passes).
- ``'simultaneous'`` (an approximation, 2 forward + 2 backward passes): steps 1 and 2, then both
  optimizers step together, the LoRA weights with df/dw taken at (w_t, alpha_t) instead of
  (w_t, alpha_{t+1}). Its drift from Algorithm 1 is measured by ``benchmarks/bilevel_step.py``.

Gate gradient (``hypergradient``), with ``ratio = <dF/dw, df/dw> / (||df/dw||^2 + eps)``:

- ``'paper'`` (default, Eq. 7 with the Gauss-Newton approximation):
  ``g = dF/dalpha - ratio * df/dalpha``;
- ``'authors_code'``: what the released ``Architect.step`` computes. Its parameter filter keeps
  the gates among the "LoRA" parameters and the LoRA gradients are not cleared after the previous
  LoRA step, so ``ratio = (<dF/dw + p, df/dw> + <dF/dalpha, df/dalpha>) / (||df/dw||^2 +
  ||df/dalpha||^2 + eps)`` with p the (clipped) gradient of the previous LoRA step (zero at the
  first step), ``eps = 1e-8``, and ``g = dF/dalpha + lr_w * ratio * df/dalpha`` (opposite sign to
  Eq. 7, scaled by the current LoRA learning rate lr_w);
- ``'first_order'``: ``g = dF/dalpha``.

Each sub-wrapper clips its own gradients (``clip_grad``) in its ``step()``. A fine-tune
iteration is one lower pass and a LoRA step. With ``amp=True`` the passes run under
``torch.autocast`` (``amp_dtype``); float16 adds dynamic loss scaling (one ``GradScaler`` for all
passes of an iteration; the ratio is computed on scaled gradients, which leaves it unchanged, and
a step is skipped on overflow). Gradient accumulation is not implemented: sub-wrappers with
``accumulative_counts > 1`` are refused.
"""
from contextlib import nullcontext
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

from ...models.lora.gate import LayerGate

HYPERGRADIENT_MODES = ('paper', 'authors_code', 'first_order')
UPDATE_ORDERS = ('paper', 'simultaneous')
DEFAULT_EPS = dict(paper=1e-12, first_order=1e-12, authors_code=1e-8)
LossFn = Callable[[], torch.Tensor]


def _params(wrapper: OptimWrapper) -> List[nn.Parameter]:
    return [p for group in wrapper.optimizer.param_groups for p in group['params']]


def _grads(params: Iterable[nn.Parameter]) -> List[torch.Tensor]:
    return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
            for p in params]


def _dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    return sum(((x.double() * y.double()).sum() for x, y in zip(a, b)),
               torch.zeros((), dtype=torch.float64))


@OPTIM_WRAPPERS.register_module()
class LayerPositioningOptimWrapper(OptimWrapperDict):
    """``OptimWrapperDict`` with a ``'lora'`` and a ``'gate'`` wrapper and the bilevel step.

    Args:
        lora: wrapper of the LoRA-weight optimizer (paper: Adam).
        gate: wrapper of the gate optimizer (paper: AdamW lr 3e-4, betas (0.5, 0.999), wd 1e-3).
        update_order: one of :data:`UPDATE_ORDERS` (see module docstring).
        hypergradient: one of :data:`HYPERGRADIENT_MODES`.
        eps: added to the ratio's denominator (default 1e-12; 1e-8 for ``'authors_code'``).
        amp: run the passes under autocast.
        amp_dtype: ``'float16'`` (with loss scaling) or ``'bfloat16'``.
    """

    def __init__(self, lora: OptimWrapper, gate: OptimWrapper, update_order: str = 'paper',
                 hypergradient: str = 'paper', eps: Optional[float] = None, amp: bool = False,
                 amp_dtype: str = 'float16'):
        super().__init__(lora=lora, gate=gate)
        if update_order not in UPDATE_ORDERS:
            raise ValueError(f'update_order must be one of {UPDATE_ORDERS}, got {update_order!r}')
        if hypergradient not in HYPERGRADIENT_MODES:
            raise ValueError(f'hypergradient must be one of {HYPERGRADIENT_MODES}, '
                             f'got {hypergradient!r}')
        if amp_dtype not in ('float16', 'bfloat16'):
            raise ValueError(f"amp_dtype must be 'float16' or 'bfloat16', got {amp_dtype!r}")
        for key, wrapper in (('lora', lora), ('gate', gate)):
            if wrapper._accumulative_counts != 1:
                raise ValueError(
                    f'LayerPositioningOptimWrapper does not implement gradient accumulation: '
                    f"the '{key}' wrapper has accumulative_counts="
                    f'{wrapper._accumulative_counts}; use accumulative_counts=1 (a larger batch '
                    'instead).')
        self.update_order = update_order
        self.hypergradient = hypergradient
        self.eps = DEFAULT_EPS[hypergradient] if eps is None else eps
        self.amp = amp
        self.amp_dtype = getattr(torch, amp_dtype)
        params = _params(lora) + _params(gate)
        self.device_type = params[0].device.type if params else 'cpu'
        self.scaler = (torch.amp.GradScaler(self.device_type)
                       if amp and amp_dtype == 'float16' else None)
        # 'authors_code': the gradient of the previous LoRA step, left on the weights there.
        self.previous_lora_grads: Optional[List[torch.Tensor]] = None

    @property
    def lora_params(self) -> List[nn.Parameter]:
        return _params(self['lora'])

    @property
    def gate_params(self) -> List[nn.Parameter]:
        return _params(self['gate'])

    def autocast(self):
        """The autocast context of every pass (a no-op without AMP)."""
        if not self.amp:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.amp_dtype)

    def _pass(self, loss_fn: LossFn) -> torch.Tensor:
        """Clear all gradients, compute ``loss_fn()`` under autocast, backward (loss-scaled)."""
        self.zero_grad(set_to_none=True)
        with self.autocast():
            loss = loss_fn()
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        return loss

    def _step(self, wrapper: OptimWrapper) -> None:
        """Clip and step one sub-wrapper: its public ``step()`` without AMP, else via the scaler."""
        if self.scaler is None:
            wrapper.step()
            return
        self.scaler.unscale_(wrapper.optimizer)
        if wrapper.clip_grad_kwargs:
            wrapper._clip_grad()
        self.scaler.step(wrapper.optimizer)

    def _finish(self) -> None:
        if self.scaler is not None:
            self.scaler.update()
        self.zero_grad(set_to_none=True)

    def gate_gradient(self, dF_dw: List[torch.Tensor], dF_da: List[torch.Tensor],
                      df_dw: List[torch.Tensor],
                      df_da: List[torch.Tensor]) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """The gates' gradient of the configured mode and its ratio (see module docstring).

        Gradients may be loss-scaled by s: the ratio is scale-free (eps is scaled by s^2) and
        the returned gradient carries the same scale s.
        """
        scale = self.scaler.get_scale() if self.scaler is not None else 1.0
        if self.hypergradient == 'first_order':
            return [a.clone() for a in dF_da], torch.zeros((), device=dF_da[0].device
                                                            if dF_da else None)
        if self.hypergradient == 'authors_code':
            if self.previous_lora_grads is not None:
                dF_dw = [a + scale * p.to(a.device) for a, p in
                         zip(dF_dw, self.previous_lora_grads)]
            dot = _dot(dF_dw, df_dw) + _dot(dF_da, df_da)
            norm2 = _dot(df_dw, df_dw) + _dot(df_da, df_da)
        else:
            dot, norm2 = _dot(dF_dw, df_dw), _dot(df_dw, df_dw)
        ratio = (dot / (norm2 + self.eps * scale * scale)).to(torch.float32)
        if self.hypergradient == 'paper':
            grads = [a - ratio.to(a) * b for a, b in zip(dF_da, df_da)]
        else:
            lr_w = self['lora'].optimizer.param_groups[0]['lr']
            grads = [a + lr_w * ratio.to(a) * b for a, b in zip(dF_da, df_da)]
        return grads, ratio

    def bilevel_step(self, upper_loss: LossFn, lower_loss: LossFn) -> Dict[str, torch.Tensor]:
        """One search iteration in the configured ``update_order``.

        Args:
            upper_loss: computes F on the upper batch (called once).
            lower_loss: computes f on the lower batch (called twice in the paper's order, once
                in the simultaneous order or with the first-order hypergradient).

        Returns:
            Log values: ``loss_upper``, ``loss_lower`` (the lower loss the LoRA step used),
            ``hypergrad_ratio``.
        """
        lora, gates = self.lora_params, self.gate_params
        loss_upper = self._pass(upper_loss)
        dF_dw, dF_da = _grads(lora), _grads(gates)
        if self.update_order == 'paper' and self.hypergradient == 'first_order':
            df_dw, df_da = [], []
        else:
            loss_lower = self._pass(lower_loss)
            df_dw, df_da = _grads(lora), _grads(gates)
        gate_grads, ratio = self.gate_gradient(dF_dw, dF_da, df_dw, df_da)
        for p, g in zip(gates, gate_grads):
            p.grad = g
        if self.update_order == 'simultaneous':
            self._step(self['lora'])
            self._step(self['gate'])
        else:
            self._step(self['gate'])
            loss_lower = self._pass(lower_loss)
            self._step(self['lora'])
        if self.hypergradient == 'authors_code':
            self.previous_lora_grads = _grads(lora)
        self._finish()
        return dict(loss_upper=loss_upper.detach(), loss_lower=loss_lower.detach(),
                    hypergrad_ratio=ratio.detach())

    def lower_step(self, lower_loss: LossFn) -> Dict[str, torch.Tensor]:
        """One fine-tune iteration: lower loss, backward, step of the LoRA optimizer (and of the
        gates it holds after :meth:`restart_lora_optimizer`)."""
        loss_lower = self._pass(lower_loss)
        self._step(self['lora'])
        self._finish()
        return dict(loss_lower=loss_lower.detach())

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
        self.previous_lora_grads = None
        return removed

    def restart_lora_optimizer(self, extra_params: Sequence[nn.Parameter] = ()) -> None:
        """Start the LoRA optimizer afresh (empty state) over its parameters plus
        ``extra_params``, which leave the gate optimizer: the authors' fine-tune stage builds a
        new Adam over the kept LoRA weights and the kept gates."""
        extra = list(extra_params)
        self.drop_params(extra)
        optimizer = self['lora'].optimizer
        optimizer.param_groups[0]['params'].extend(extra)
        optimizer.state.clear()

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.scaler is not None:
            state['loss_scaler'] = self.scaler.state_dict()
        if self.previous_lora_grads is not None:
            state['previous_lora_grads'] = [g.cpu() for g in self.previous_lora_grads]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        previous = state_dict.pop('previous_lora_grads', None)
        super().load_state_dict(state_dict)
        if self.scaler is not None and scaler_state is not None:
            self.scaler.load_state_dict(scaler_state)
        if previous is not None:
            self.previous_lora_grads = [g.to(p.device) for g, p in
                                        zip(previous, self.lora_params)]


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
            update_order='paper', hypergradient='paper')

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
