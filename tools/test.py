"""Test (and evaluate) a checkpoint with an MMagic-style config (mmbilalora registered on import).

    python tools/test.py CONFIG CHECKPOINT [--out metrics.json] [--work-dir DIR] [--no-report]
                         [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

Unless ``--no-report`` is given, the output images and a per-image / mean report
(``report.json``, ``report.md``) are written to ``<work_dir>/test_report`` (TestReportHook).
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmbilalora  # noqa: F401  (registers the plugin and applies the stack fixes)
from mmbilalora.engine.hooks import TestReportHook
from mmbilalora.utils.atomic_io import atomic_dump_json


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model (mmbilalora)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='JSON file to write the metric results to')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument('--no-report', action='store_true',
                        help='do not write output images and the per-image report')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


class SaveMetricsHook(Hook):
    """Write the test metrics to a JSON file (atomically) when testing ends."""

    def __init__(self, out: str):
        self.out = out

    def after_test_epoch(self, runner, metrics=None) -> None:
        if metrics is not None:
            atomic_dump_json({k: float(v) for k, v in metrics.items()}, self.out)


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint!r}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint

    runner = Runner.from_cfg(cfg)
    if args.out:
        runner.register_hook(SaveMetricsHook(args.out), 'LOWEST')
    if not args.no_report:
        runner.register_hook(TestReportHook())
    runner.test()


if __name__ == '__main__':
    main()
