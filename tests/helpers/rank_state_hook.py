"""Test helper: every rank writes its LoRA weights and gates after training."""
import os.path as osp

import torch
from mmagic.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class RankStateDumpHook(Hook):
    """Save ``{name: tensor}`` of LoRA weights and gates to ``rank<r>_state.pt``."""

    priority = 'LOWEST'

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        generator = model.generator
        generator = generator.module if is_model_wrapper(generator) else generator
        state = {k: v.detach().cpu().clone() for k, v in generator.state_dict().items()
                 if 'lora_' in k}
        device = next(generator.parameters()).device.type
        torch.save(dict(state=state, phase=model.phase, device=device),
                   osp.join(runner.work_dir, f'rank{get_rank()}_state.pt'))
