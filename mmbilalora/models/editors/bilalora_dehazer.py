"""BiLaLoRADehazer: a frozen dehazer with LoRA adapters, trained without clear references."""
import inspect
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmagic.registry import MODELS
from mmengine.logging import print_log
from mmengine.model import BaseModel

from ..data_preprocessors import pixel_convention
from ..lora import LayerGate, block_of, inject_lora, layer_gates, lora_layers, remove_lora
from ..lora.gate import GATE_ATTR
from .dehaze_edit_model import DehazeEditModel

DEFAULT_LOSS = dict(type='CLIPHazeClearLoss')
SEARCH, FINETUNE = 'search', 'finetune'


def _compact(bounds):
    """A per-channel bound tuple with one value -> that float (for readable configs/logs)."""
    return tuple(b[0] if len(set(b)) == 1 else b for b in bounds)


def _is_adapter_key(key: str) -> bool:
    return key.endswith(('.lora_A', '.lora_B', f'.{GATE_ATTR}.alpha'))


def _adapters_start_fresh(model: nn.Module, incompatible_keys) -> None:
    """Load post-hook: a base checkpoint (no LoRA or gate tensor at all) loads silently.

    Such a checkpoint misses every adapter tensor by design; instead of mmengine's list of
    thousands of "missing keys" one line says what happened. A checkpoint that holds some adapter
    tensors but not others, and any missing base weight, stay in the report (loud).
    """
    missing = incompatible_keys.missing_keys
    fresh = [k for k in missing if _is_adapter_key(k)]
    expected = [k for k in model.state_dict() if _is_adapter_key(k)]
    if not fresh or len(fresh) != len(expected):
        return
    fresh_set = set(fresh)
    missing[:] = [k for k in missing if k not in fresh_set]
    gates = sum(k.endswith(f'.{GATE_ATTR}.alpha') for k in fresh)
    print_log(f'Base weights loaded; {len(fresh) - gates} LoRA and {gates} gate tensors start '
              'fresh.', logger='current')


@MODELS.register_module()
class BiLaLoRADehazer(DehazeEditModel):
    """Any MODELS generator + LoRA from ``lora_cfg``, trained with an unsupervised loss.

    LoRA is injected here, when the model is built, so mmengine's optimizer and DDP wrapper see
    the adapters; pretrained base weights (``load_from`` or the generator's ``init_cfg``) load into
    the unchanged base parameter names afterwards.

    Training data come in pairs (see ``BilevelSplitDataset``): ``inputs`` / ``data_samples`` are
    the lower batch, ``upper_inputs`` / ``upper_data_samples`` the upper batch. In the ``'search'``
    phase a step computes the upper-level loss on the upper batch and the lower-level loss on the
    lower batch (``LayerPositioningOptimWrapper.bilevel_step``); in ``'finetune'`` only the lower
    loss. The phase is set by ``BiLaLoRAHook``, which also asks :meth:`keep_blocks` to drop the
    blocks the search did not select. Validation and test need no ground truth.

    The baselines of the paper's comparison train the same loss with one plain ``OptimWrapper``
    (one lower pass per iteration, any dataset of ``inputs``): ``lora_cfg=None`` fine-tunes every
    generator weight; ``lora_cfg`` with ``gate=False`` trains LoRA on the whole search space.

    Option (off by default; changes values by float rounding): ``channels_last=True`` stores the
    generator's weights and feeds its training inputs in the channels-last memory layout, which
    convolution kernels on CPU (oneDNN) and GPU (cuDNN) run faster (see the README).

    Args:
        generator: the dehazing network config (any registered MODELS type).
        lora_cfg: ``inject_lora`` arguments (search_space, targets, r, lora_alpha, dropout, gate,
            oversized); None: no LoRA, the whole generator trains (full fine-tuning baseline).
        loss: an unsupervised loss ``loss(output, input)``, stored as ``unsupervised_loss``;
            default ``CLIPHazeClearLoss``. Its ``input_range`` / ``pred_range`` arguments, when it
            has them and the config leaves them out, are filled in from the built data
            preprocessor (``pixel_convention``); given ones must agree with it.
        train_cfg / test_cfg / init_cfg / data_preprocessor: as in ``BaseEditModel``.
        channels_last: the generator in the channels-last memory layout.
    """

    def __init__(self,
                 generator: dict,
                 lora_cfg: Optional[dict],
                 loss: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 channels_last: bool = False):
        # BaseEditModel.__init__ would build a supervised ``pixel_loss``; this model has none.
        BaseModel.__init__(self, init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.generator = MODELS.build(generator)
        self.pixels = pixel_convention(self.data_preprocessor)
        self.unsupervised_loss = MODELS.build(self._with_value_ranges(dict(loss or DEFAULT_LOSS)))
        self.lora_report = inject_lora(self.generator, **lora_cfg) if lora_cfg else None
        self.channels_last = channels_last
        if channels_last:
            self.generator.to(memory_format=torch.channels_last)
        self.phase = SEARCH
        self.register_load_state_dict_post_hook(_adapters_start_fresh)

    def _with_value_ranges(self, loss: dict) -> dict:
        """``loss`` with ``input_range`` / ``pred_range`` from the data preprocessor (when the
        loss takes them); raises if a given range disagrees with the preprocessor."""
        loss_cls = MODELS.get(loss['type']) if isinstance(loss.get('type'), str) else loss['type']
        accepted = inspect.signature(loss_cls).parameters
        for key, value in (('input_range', self.pixels.input_range),
                           ('pred_range', self.pixels.output_range)):
            if key not in accepted:
                continue
            if key not in loss:
                loss[key] = _compact(value)
                continue
            given = torch.as_tensor([torch.as_tensor(b, dtype=torch.float64).expand(3).tolist()
                                     for b in loss[key]])
            expected = torch.as_tensor([torch.as_tensor(b, dtype=torch.float64).expand(3).tolist()
                                        for b in value])
            if not torch.allclose(given, expected, atol=1e-4):
                raise ValueError(f'loss.{key}={tuple(loss[key])} disagrees with the data '
                                 f'preprocessor, whose pixels 0..255 map to {_compact(value)}; '
                                 f'leave loss.{key} out or fix it.')
        return loss

    # ---------------------------------------------------------------- structure
    def gates(self) -> Dict[str, LayerGate]:
        """``{block: gate}`` of the generator."""
        return layer_gates(self.generator_module())

    def gate_values(self) -> Dict[str, float]:
        """``{block: sigmoid(alpha)}`` of the generator."""
        return {b: float(g().detach()) for b, g in self.gates().items()}

    def generator_module(self) -> nn.Module:
        """The generator without its DDP wrapper."""
        return getattr(self.generator, 'module', self.generator)

    def keep_blocks(self, selected: Sequence[str], freeze_gates: bool = True) -> List[nn.Parameter]:
        """Keep the adapters of ``selected`` blocks only and enter the fine-tune phase.

        The other blocks' LoRA layers go back to their base layers (adapter discarded) and their
        gates are removed; the kept gates are frozen when ``freeze_gates`` (they still scale
        their adapters).

        Returns:
            The parameters dropped from the model (for the optimizer to forget).
        """
        generator, gates = self.generator_module(), self.gates()
        unknown = set(selected) - set(gates)
        if unknown:
            raise KeyError(f'Selected blocks {sorted(unknown)} have no LoRA gate in the model.')
        dropped_blocks = [b for b in gates if b not in selected]
        dropped = [g.alpha for b, g in gates.items() if b in dropped_blocks]
        for name, layer in lora_layers(generator).items():
            if block_of(name, dropped_blocks) is not None:
                dropped += [layer.lora_A, layer.lora_B]
        remove_lora(generator, blocks=dropped_blocks)
        for block in selected:
            gates[block].alpha.requires_grad_(not freeze_gates)
        self.phase = FINETUNE
        return dropped

    # ---------------------------------------------------------------- training
    def loss_of_batch(self, inputs: torch.Tensor) -> torch.Tensor:
        """``unsupervised_loss(generator(inputs), inputs)`` for a preprocessed batch
        (N, 3, H, W)."""
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return self.unsupervised_loss(self.generator(inputs), inputs)

    def forward_train(self, inputs: torch.Tensor, data_samples=None, **kwargs) -> Dict:
        """The lower-level loss on ``inputs`` (for ``mode='loss'`` callers)."""
        return dict(loss=self.loss_of_batch(inputs))

    def train_step(self, data: Dict, optim_wrapper) -> Dict[str, torch.Tensor]:
        """One BiLaLoRA iteration with a ``LayerPositioningOptimWrapper``; with a plain
        ``OptimWrapper``, one lower pass and step (the baselines)."""
        lower = self.data_preprocessor(
            dict(inputs=data['inputs'], data_samples=data.get('data_samples')), True)
        lower_loss = lambda: self.loss_of_batch(lower['inputs'])  # noqa: E731
        if not hasattr(optim_wrapper, 'bilevel_step'):
            with optim_wrapper.optim_context(self):
                loss = lower_loss()
            optim_wrapper.update_params(loss)
            return dict(loss_lower=loss.detach())
        if self.phase == FINETUNE:
            return optim_wrapper.lower_step(lower_loss)
        if 'upper_inputs' not in data:
            raise KeyError('The search phase needs upper-level data: wrap the training dataset '
                           'in BilevelSplitDataset.')
        upper = self.data_preprocessor(
            dict(inputs=data['upper_inputs'], data_samples=data.get('upper_data_samples')), True)
        upper_loss = lambda: self.loss_of_batch(upper['inputs'])  # noqa: E731
        return optim_wrapper.bilevel_step(upper_loss, lower_loss)
