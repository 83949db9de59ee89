"""Test (and evaluate) a checkpoint with an MMagic-style config (mmbilalora registered on import).

    python tools/test.py CONFIG CHECKPOINT [--out metrics.json] [--work-dir DIR] [--no-report]
                         [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

Unless ``--no-report`` is given, the output images and a per-image / mean report
(``report.json``, ``report.md``) are written to ``<work_dir>/test_report`` (TestReportHook).
"""
import argparse
import os.path as osp

from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmbilalora  # noqa: F401  (registers the plugin and applies the stack fixes)
from mmbilalora.engine.hooks import TestReportHook
from mmbilalora.utils.atomic_io import atomic_dump_json
from mmbilalora.utils.cli import add_runner_args, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model (mmbilalora)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='JSON file to write the metric results to')
    parser.add_argument('--no-report', action='store_true',
                        help='do not write output images and the per-image report')
    add_runner_args(parser)
    return parser.parse_args()


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
    cfg = load_config(args)
    cfg.load_from = args.checkpoint

    runner = Runner.from_cfg(cfg)
    if args.out:
        runner.register_hook(SaveMetricsHook(args.out), 'LOWEST')
    if not args.no_report:
        runner.register_hook(TestReportHook())
    runner.test()


if __name__ == '__main__':
    main()
