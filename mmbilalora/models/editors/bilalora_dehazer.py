"""BiLaLoRADehazer: a frozen dehazer with LoRA adapters, trained without clear references."""
import inspect
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmagic.models.base_models import BaseEditModel
from mmagic.registry import MODELS
from mmengine.logging import print_log

from ..lora import inject_lora
from ..lora.gate import GATE_ATTR

DEFAULT_LOSS = dict(type='CLIPHazeClearLoss')
SEARCH, FINETUNE = 'search', 'finetune'


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
class BiLaLoRADehazer(BaseEditModel):
    """Any MODELS generator + LoRA from ``lora_cfg``, trained with an unsupervised loss.

    LoRA is injected here, when the model is built, so mmengine's optimizer and DDP wrapper see
    the adapters; pretrained base weights (``load_from`` or the generator's ``init_cfg``) load into
    the unchanged base parameter names afterwards.

    Training data come in pairs (see ``BilevelSplitDataset``): ``inputs`` / ``data_samples`` are
    the lower batch, ``upper_inputs`` / ``upper_data_samples`` the upper batch. In the ``'search'``
    phase a step computes the upper-level loss on the upper batch and the lower-level loss on the
    lower batch (``LayerPositioningOptimWrapper.bilevel_step``); in ``'finetune'`` only the lower
    loss. The phase is set by ``BiLaLoRAHook``. Validation and test need no ground truth.

    Args:
        generator: the dehazing network config (any registered MODELS type).
        lora_cfg: ``inject_lora`` arguments (search_space, targets, r, lora_alpha, dropout, gate).
        loss: an unsupervised loss ``loss(output, input)``; default ``CLIPHazeClearLoss``. When it
            has an ``input_range`` argument that the config leaves out, the data preprocessor's
            range is filled in; a given range must agree with the preprocessor.
        train_cfg / test_cfg / init_cfg / data_preprocessor: as in ``BaseEditModel``.
    """

    def __init__(self,
                 generator: dict,
                 lora_cfg: dict,
                 loss: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None):
        loss = dict(loss or DEFAULT_LOSS)
        # BaseEditModel builds ``pixel_loss``; here it is the unsupervised (output, input) loss.
        super().__init__(generator=generator, pixel_loss=self._with_input_range(
            loss, data_preprocessor), train_cfg=train_cfg, test_cfg=test_cfg,
            init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        self._check_loss_range()
        self.lora_report = inject_lora(self.generator, **lora_cfg)
        self.phase = SEARCH
        self.register_load_state_dict_post_hook(_adapters_start_fresh)

    @staticmethod
    def _preprocessor_range(data_preprocessor: Optional[dict]) -> Optional[Tuple[float, float]]:
        """Value range of the network input for pixel values 0 and 255 (None when unknown)."""
        if not data_preprocessor:
            return None
        mean, std = data_preprocessor.get('mean'), data_preprocessor.get('std')
        if mean is None or std is None:
            return None
        lows = {round((0 - m) / s, 6) for m, s in zip(mean, std)}
        highs = {round((255 - m) / s, 6) for m, s in zip(mean, std)}
        if len(lows) != 1 or len(highs) != 1:
            raise ValueError('BiLaLoRADehazer needs one input range for all channels; the data '
                             f'preprocessor has mean {mean} and std {std}.')
        return lows.pop(), highs.pop()

    @classmethod
    def _with_input_range(cls, loss: dict, data_preprocessor: Optional[dict]) -> dict:
        loss_cls = MODELS.get(loss['type']) if isinstance(loss.get('type'), str) else loss['type']
        value_range = cls._preprocessor_range(data_preprocessor)
        if (value_range is not None and 'input_range' not in loss
                and 'input_range' in inspect.signature(loss_cls).parameters):
            loss = dict(loss, input_range=value_range)
        return loss

    def _check_loss_range(self) -> None:
        loss_range = getattr(self.pixel_loss, 'input_range', None)
        mean = getattr(self.data_preprocessor, 'mean', None)
        std = getattr(self.data_preprocessor, 'std', None)
        if loss_range is None or mean is None or std is None:
            return
        low = float(((0 - mean) / std).flatten()[0])
        high = float(((255 - mean) / std).flatten()[0])
        if abs(low - loss_range[0]) > 1e-4 or abs(high - loss_range[1]) > 1e-4:
            raise ValueError(f'The loss expects inputs in {tuple(loss_range)} but the data '
                             f'preprocessor produces ({low:g}, {high:g}); fix loss.input_range.')

    def unsupervised_loss(self, inputs: torch.Tensor) -> torch.Tensor:
        """``loss(generator(inputs), inputs)`` for a preprocessed batch (N, 3, H, W)."""
        return self.pixel_loss(self.generator(inputs), inputs)

    def forward_train(self, inputs: torch.Tensor, data_samples=None, **kwargs) -> Dict:
        """The lower-level loss on ``inputs`` (for ``mode='loss'`` callers)."""
        return dict(loss=self.unsupervised_loss(inputs))

    def train_step(self, data: Dict, optim_wrapper) -> Dict[str, torch.Tensor]:
        """One BiLaLoRA iteration; ``optim_wrapper`` is a ``LayerPositioningOptimWrapper``."""
        lower = self.data_preprocessor(
            dict(inputs=data['inputs'], data_samples=data.get('data_samples')), True)
        lower_loss = lambda: self.unsupervised_loss(lower['inputs'])  # noqa: E731
        if self.phase == FINETUNE:
            return optim_wrapper.lower_step(lower_loss)
        if 'upper_inputs' not in data:
            raise KeyError('The search phase needs upper-level data: wrap the training dataset '
                           'in BilevelSplitDataset.')
        upper = self.data_preprocessor(
            dict(inputs=data['upper_inputs'], data_samples=data.get('upper_data_samples')), True)
        upper_loss = lambda: self.unsupervised_loss(upper['inputs'])  # noqa: E731
        return optim_wrapper.bilevel_step(upper_loss, lower_loss)
