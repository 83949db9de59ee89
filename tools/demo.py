"""The README's main job: a short DehazeFormer-t synthetic-haze pretraining, then a test run.

Data are scikit-image's bundled clear photos (left 2/3 of each for training, right 1/3 for
validation), hazed on the fly by ``SyntheticHaze``; nothing is downloaded. Prints PSNR/SSIM of
the hazy inputs and of the trained model on the seeded synthetic validation set.

    python tools/demo.py [--work-dir work_dirs/demo] [--iters 300]
"""
import argparse
import json
import os.path as osp
import subprocess
import sys

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
CONFIG = osp.join(ROOT, 'configs', 'dehazeformer', 'dehazeformer-t_synhaze.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--iters', type=int, default=300, help='training iterations')
    parser.add_argument('--crop', type=int, default=128, help='training crop size (pixels)')
    return parser.parse_args()


def hazy_input_scores(val_dir: str, crop: int) -> dict:
    """PSNR/SSIM of the seeded hazy validation inputs against their clear images."""
    from mmagic.evaluation.metrics.psnr import psnr
    from mmagic.evaluation.metrics.ssim import ssim
    from mmagic.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmbilalora  # noqa: F401
    init_default_scope('mmagic')
    cfg = Config.fromfile(CONFIG)
    dataset_cfg = cfg.val_dataloader.dataset
    dataset_cfg.data_root = val_dir
    dataset_cfg.pipeline[1].crop_size = (crop, crop)
    dataset_cfg.pipeline = dataset_cfg.pipeline[:-1]
    dataset = DATASETS.build(dataset_cfg)
    scores = [(psnr(s['img'], s['gt'], crop_border=0), ssim(s['img'], s['gt'], crop_border=0))
              for s in (dataset[i] for i in range(len(dataset)))]
    return dict(PSNR=float(np.mean([p for p, _ in scores])),
                SSIM=float(np.mean([q for _, q in scores])))


def run(script: str, *args: str) -> None:
    cmd = [sys.executable, osp.join(ROOT, 'tools', script), *args]
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def main() -> None:
    args = parse_args()
    from mmbilalora.utils.sample_images import write_sample_split
    data_dir = osp.join(args.work_dir, 'data')
    write_sample_split(data_dir)
    options = [
        f'train_dataloader.dataset.data_root={data_dir}/train',
        f'val_dataloader.dataset.data_root={data_dir}/val',
        f'test_dataloader.dataset.data_root={data_dir}/val',
        f'train_dataloader.dataset.pipeline.1.crop_size=({args.crop},{args.crop})',
        f'val_dataloader.dataset.pipeline.1.crop_size=({args.crop},{args.crop})',
        f'test_dataloader.dataset.pipeline.1.crop_size=({args.crop},{args.crop})',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=1',
        f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
        f'param_scheduler.T_max={args.iters}', f'default_hooks.checkpoint.interval={args.iters}',
        'default_hooks.logger.interval=10',
    ]
    train_dir = osp.join(args.work_dir, 'train')
    run('train.py', CONFIG, '--work-dir', train_dir, '--cfg-options', *options)
    checkpoint = open(osp.join(train_dir, 'last_checkpoint')).read().strip()
    metrics_file = osp.join(args.work_dir, 'test_metrics.json')
    run('test.py', CONFIG, checkpoint, '--work-dir', osp.join(args.work_dir, 'test'), '--out',
        metrics_file, '--cfg-options', *options)
    model = json.load(open(metrics_file))
    hazy = hazy_input_scores(f'{data_dir}/val', args.crop)
    print('\nSynthetic-haze validation set (5 seeded hazy crops):')
    print(f'  hazy input          PSNR {hazy["PSNR"]:6.2f} dB  SSIM {hazy["SSIM"]:.4f}')
    print(f'  DehazeFormer-t      PSNR {model["PSNR"]:6.2f} dB  SSIM {model["SSIM"]:.4f}'
          f'  ({args.iters} iterations)')
    print(f'Checkpoint: {checkpoint}')


if __name__ == '__main__':
    main()
