"""Test (and evaluate) a checkpoint with an MMagic-style config (mmbilalora registered on import).

    python tools/test.py CONFIG CHECKPOINT [--out metrics.json] [--work-dir DIR] [--no-report]
                         [--skip-existing] [--cfg-options k=v ...]
                         [--launcher none|pytorch|slurm|mpi]

``--out`` is MMagic's (its tools/test.py): a hook dumps the test metrics with ``mmengine.dump``
when testing ends (format from the suffix: .json, .yaml or .pkl), here written atomically through
the ``atomic_local`` file backend.
Unless ``--no-report`` is given, the output images and a per-image / mean report
(``report.json``, ``report.md``) are written to ``<work_dir>/test_report`` (OutputReportHook).
On a folder of unlabeled photos (``ImageFolderDataset(skip_unreadable=True)``, as in the
unlabeled test configs) files that cannot be read are left out and listed at the end (and in the
report), and the exit status is 1. ``--skip-existing`` resumes such a run: images with an output
image and a row in the report are not processed again, and the report covers all images.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List

import mmengine
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmbilalora  # noqa: F401  (registers the plugin and applies the stack fixes)
from mmbilalora.datasets import scan_images
from mmbilalora.engine.hooks import OutputReportHook
from mmbilalora.utils import model_zoo
from mmbilalora.utils.checkpoint_io import CheckpointReadError
from mmbilalora.utils.cli import add_runner_args, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model (mmbilalora)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file, or mmbilalora://NAME (a shipped '
                        'model)')
    parser.add_argument('--out', help='file to save the metric results to (.json, .yaml, .pkl)')
    parser.add_argument('--no-report', action='store_true',
                        help='do not write output images and the per-image report')
    parser.add_argument('--skip-existing', action='store_true',
                        help='resume: leave images that already have an output and a report row')
    add_runner_args(parser)
    return parser.parse_args()


class SaveMetricHook(Hook):
    """MMagic's ``--out`` hook, writing atomically (on the main process)."""

    def __init__(self, out: str):
        self.out = out

    def after_test_epoch(self, runner, metrics=None) -> None:
        if metrics is not None and is_main_process():
            mmengine.dump(metrics, self.out, backend_args=dict(backend='atomic_local'))


def done_keys(report_root: str, data_root: str) -> List[str]:
    """Relative paths of the images under ``data_root`` that an earlier run finished: their
    output image exists and the report has their row (rows are named by file name)."""
    try:
        with open(osp.join(report_root, 'report.json')) as f:
            named = {row['name'] for row in json.load(f).get('images', [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    keys = [osp.relpath(p, data_root) for p in scan_images(data_root)]
    return [k for k in keys if osp.basename(k) in named and osp.isfile(
        osp.join(report_root, 'images', osp.splitext(k)[0] + '.png'))]


def main() -> int:
    args = parse_args()
    try:
        checkpoint = model_zoo.resolve(args.checkpoint)
    except (KeyError, FileNotFoundError) as err:
        raise SystemExit(f'error: {err}')
    if not osp.isfile(checkpoint):
        raise SystemExit(f'error: Checkpoint not found: {checkpoint!r}')
    cfg = load_config(args)
    cfg.load_from = checkpoint
    dataset_cfg = cfg.test_dataloader.dataset
    if args.skip_existing:
        if args.no_report or dataset_cfg.get('type') != 'ImageFolderDataset':
            raise SystemExit('error: --skip-existing resumes the report of an unlabeled folder '
                             '(ImageFolderDataset) test; it needs the report (no --no-report).')
        dataset_cfg.exclude_keys = done_keys(osp.join(cfg.work_dir, 'test_report'),
                                             dataset_cfg.data_root)
        print(f'--skip-existing: {len(dataset_cfg.exclude_keys)} image(s) already done')

    runner = Runner.from_cfg(cfg)
    if args.out:
        runner.register_hook(SaveMetricHook(args.out), 'LOWEST')
    if not args.no_report:
        runner.register_hook(OutputReportHook(resume=args.skip_existing))
    loop = runner.test_loop
    datasets = [d.dataset for d in getattr(loop, 'dataloaders', None) or [loop.dataloader]]
    if sum(len(d) for d in datasets) == 0:
        print('Nothing to test: every image is done or unreadable.')
    else:
        try:
            runner.test()
        except CheckpointReadError as err:  # one line, not a traceback through mmengine
            raise SystemExit(f'error: {err}')
    failed = [row for d in datasets for row in getattr(d, 'unreadable', [])]
    if failed:
        print(f'{len(failed)} image(s) could not be read and were left out:', file=sys.stderr)
        for row in failed:
            print(f'  {row["input"]}: {row["reason"]}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
