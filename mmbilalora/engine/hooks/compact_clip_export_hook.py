"""CompactCLIPExportHook: after training, write the compact CLIP folder and its evaluation."""
import os.path as osp
from typing import Optional, Sequence

from mmagic.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...datasets.caption_degradation_dataset import load_photos
from ...datasets.image_folder import scan_images
from ..compact_clip_evaluation import evaluate_guide
from ...utils.atomic_io import atomic_dump_json


@HOOKS.register_module()
class CompactCLIPExportHook(Hook):
    """Export a :class:`CompactHazeCLIP` as an open_clip folder and evaluate it.

    Writes into ``out_dir`` (default ``<work_dir>/compact_clip``): ``open_clip_model.safetensors``
    (fp16), ``open_clip_config.json`` (load with ``pretrained='local-dir:<out_dir>'``) and
    ``evaluation.json`` (:func:`evaluate_guide` on the held-out photos, plus the config file and
    iteration count), all atomically.

    Args:
        out_dir: the folder to write.
        holdout_root: folder of clear photos; ``holdout_indices`` of them (sorted) are the
            held-out photos (keep them out of the training dataset's indices).
        real_hazy_root: optional folder of real hazy photos for the zero-shot check.
    """

    priority = 'LOW'

    def __init__(self, holdout_root: str, holdout_indices: Sequence[int] = tuple(range(10)),
                 out_dir: Optional[str] = None, real_hazy_root: Optional[str] = None):
        self.out_dir = out_dir
        self.holdout_root = holdout_root
        self.holdout_indices = list(holdout_indices)
        self.real_hazy_root = real_hazy_root

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        out_dir = self.out_dir or osp.join(runner.work_dir, 'compact_clip')
        model.export(out_dir)
        paths = scan_images(self.holdout_root)
        holdout = load_photos([paths[i] for i in self.holdout_indices], 192)
        real = load_photos(scan_images(self.real_hazy_root), 192) if self.real_hazy_root else []
        evaluation = evaluate_guide(model, holdout, real)
        evaluation.update(config=osp.basename(runner.cfg.filename or ''), iterations=runner.iter)
        atomic_dump_json(evaluation, osp.join(out_dir, 'evaluation.json'))
        runner.logger.info(f'Compact CLIP written to {out_dir}: {evaluation}')
