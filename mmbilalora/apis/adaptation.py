"""Adapting a dehazer to a set of hazy photos with BiLaLoRA: one call, in this process."""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from ..models.guidance import choose_guidance
from ..utils import model_zoo
from ..utils.image_io import read_rgb, write_rgb
from .folder import list_inputs

DEMO_CONFIG = 'bilalora/dehazeformer_demo.py'
Progress = Callable[[int, int, str], None]


@dataclass
class Adaptation:
    """The files of an adaptation run: the adapter, the merged checkpoint (when the config's
    ``BiLaLoRAHook`` writes one), the work dir (gate ranking and plot, logs) and the guidance
    CLIP used."""
    adapter: str
    merged: Optional[str]
    work_dir: str
    guidance: str


class ProgressHook(Hook):
    """Calls ``callback(iteration, total, phase)`` after every training iteration (phase:
    ``'search'`` for the first ``search_iters``, then ``'fine-tune'``)."""

    priority = 'LOW'

    def __init__(self, callback: Progress, search_iters: int):
        self.callback = callback
        self.search_iters = search_iters

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        self.callback(done, runner.max_iters,
                      'search' if done <= self.search_iters else 'fine-tune')


def stage_photos(photos: Union[str, Sequence[str]], folder: str) -> str:
    """A folder of at least two photos for the bilevel split: a folder of two or more as it is;
    otherwise the photos copied into ``folder`` as PNG (a single photo twice, serving both
    halves)."""
    root, files = list_inputs(photos)
    if isinstance(photos, str) and osp.isdir(photos) and len(files) >= 2:
        return root
    os.makedirs(folder, exist_ok=True)
    for i, path in enumerate(files):
        write_rgb(osp.join(folder, f'{i:04d}.png'), read_rgb(path))
    if len(files) == 1:
        write_rgb(osp.join(folder, '0001.png'), read_rgb(files[0]))
    return folder


def adapt(photos: Union[str, Sequence[str]], work_dir: str, config: Optional[str] = None,
          checkpoint: Optional[str] = None, iters: int = 300, search: int = 100,
          crop: int = 128, lora_lr: Optional[float] = None, update_order: str = 'paper',
          compact_clip: Optional[str] = None, seed: int = 0, workers: int = 1,
          description: Optional[str] = None, progress: Optional[Progress] = None) -> Adaptation:
    """Train a BiLaLoRA adapter on the hazy ``photos`` (a folder, a file or a list of files; no
    references) with ``config`` (default: ``configs/bilalora/dehazeformer_demo.py``, the shipped
    base) through mmengine's Runner.

    Args:
        work_dir: where the run writes (``bilalora_adapter.pth``, ``gate_ranking.md``,
            ``gate_trajectory.png``, logs; ``photos/`` when the photos must be staged).
        checkpoint: the base's weights (default: the config's ``load_from``).
        iters / search: training iterations, of which the first ``search`` search.
        crop: side of the training crops (pixels).
        lora_lr: the LoRA learning rate (default: the config's).
        update_order: the search step: ``'paper'`` (Algorithm 1) or ``'simultaneous'``.
        compact_clip: the compact CLIP folder used when real CLIP weights are not found
            (default: the shipped one; see :func:`~mmbilalora.models.guidance.choose_guidance`).
        seed: the run's ``randomness.seed`` (crops, views, sampling order).
        workers: data loader workers.
        description: stored in the adapter file (default: the config's).
        progress: ``progress(iteration, total, phase)`` after every iteration.
    """
    clip_model, pretrained, guidance = choose_guidance(compact_clip)
    cfg = Config.fromfile(config or model_zoo.config_path(DEMO_CONFIG))
    data_root = stage_photos(photos, osp.join(work_dir, 'photos'))
    options = {
        'work_dir': work_dir,
        'train_dataloader.dataset.dataset.data_root': data_root,
        'train_dataloader.dataset.dataset.pipeline.1.size': crop,
        'train_dataloader.num_workers': workers,
        'train_dataloader.persistent_workers': False,
        'model.loss.clip_model': clip_model, 'model.loss.pretrained': pretrained,
        'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters + 1,
        'custom_hooks.0.search_iters': search,
        'default_hooks.checkpoint.interval': iters,
        'optim_wrapper.update_order': update_order, 'randomness.seed': seed,
    }
    if checkpoint:
        options['load_from'] = checkpoint
    if lora_lr is not None:
        options['optim_wrapper.lora.optimizer.lr'] = lora_lr
    if description:
        options['custom_hooks.0.adapter_description'] = description
    cfg.merge_from_dict(options)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None  # an adaptation without references is judged on its outputs
    runner = Runner.from_cfg(cfg)
    if progress is not None:
        runner.register_hook(ProgressHook(progress, search))
    runner.train()
    merged = osp.join(work_dir, 'bilalora_merged.pth')
    return Adaptation(osp.join(work_dir, 'bilalora_adapter.pth'),
                      merged if osp.isfile(merged) else None, work_dir, guidance)
