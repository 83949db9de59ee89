"""Train a model from an MMagic-style config (mmbilalora registered on import).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse

from mmengine.config import Config
from mmengine.runner import Runner

import mmbilalora  # noqa: F401  (registers the plugin and applies the stack fixes)
from mmbilalora.utils.checkpoint_io import CheckpointReadError
from mmbilalora.utils.cli import add_runner_args, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model (mmbilalora)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in the work dir '
        'when no path is given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    add_runner_args(parser)
    return parser.parse_args()


def enable_amp(cfg: Config) -> None:
    """Switch the optim wrapper of ``cfg`` to its AMP form."""
    wrapper = cfg.optim_wrapper
    wrapper_type = wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'OptimWrapper':
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
    elif wrapper_type != 'AmpOptimWrapper':
        # Wrappers that manage AMP themselves (LayerPositioningOptimWrapper) take a flag.
        wrapper.amp = True


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
    except CheckpointReadError as err:  # one line, not a traceback through mmengine
        raise SystemExit(f'error: {err}')


if __name__ == '__main__':
    main()
