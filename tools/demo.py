"""The README's main job: adapt the shipped dehazer to a new haze domain with BiLaLoRA.

1. base: ``checkpoints/dehazeformer-t_synhaze_clear-pristine.pth`` (DehazeFormer-t pretrained on
   near-grey synthetic haze);
2. target: ``--data DIR`` (your hazy photos, no references), or by default an embedded set made
   at run time from scikit-image's photos with coloured, finely non-homogeneous haze, sensor noise
   and JPEG, whose clear references are kept for scoring;
3. guidance: real CLIP ViT-B-32 when its weights are available locally
   (``MMBILALORA_CLIP_WEIGHTS`` or the Hugging Face cache), else the compact haze-aware CLIP
   shipped in ``checkpoints/haze_clip_tiny`` (logged either way);
4. BiLaLoRA search -> top-k -> fine-tune through ``tools/train.py`` and
   ``configs/bilalora/dehazeformer_demo.py``;
5. evaluation of base vs adapted: PSNR/SSIM (embedded set), FADE, NIQE, entropy; a before/after
   grid, the gate plot, the adapter and the merged checkpoint, all in the work dir.

    python tools/demo.py [--data DIR] [--work-dir work_dirs/demo] [--iters 300] [--search 100]
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
CONFIG = osp.join(ROOT, 'configs', 'bilalora', 'dehazeformer_demo.py')
BASE_CONFIG = osp.join(ROOT, 'configs', 'dehazeformer', 'dehazeformer-t_synhaze.py')
BASE_CHECKPOINT = osp.join(ROOT, 'checkpoints', 'dehazeformer-t_synhaze_clear-pristine.pth')
COMPACT_CLIP = osp.join(ROOT, 'checkpoints', 'haze_clip_tiny')
FADE_DIR_DEFAULT = osp.join(osp.dirname(ROOT), 'shared', 'fade')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', help='folder of your hazy photos (default: embedded set)')
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--iters', type=int, default=300, help='training iterations')
    parser.add_argument('--search', type=int, default=100, help='search iterations')
    parser.add_argument('--crop', type=int, default=128)
    parser.add_argument('--update-order', choices=('paper', 'simultaneous'), default='paper',
                        help="BiLaLoRA's search step: Algorithm 1's order (default) or the "
                        'simultaneous approximation')
    return parser.parse_args()


def scores(dehazer, hazy_paths, clear_dir, metrics):
    """Per-metric means over the images: output of ``dehazer`` (None: the hazy input)."""
    from mmagic.evaluation.metrics.psnr import psnr
    from mmagic.evaluation.metrics.ssim import ssim

    from mmbilalora.apis import dehaze_array
    from mmbilalora.utils.image_io import read_rgb
    rows, images = [], []
    for path in hazy_paths:
        hazy = read_rgb(path)
        out = hazy if dehazer is None else dehaze_array(dehazer, hazy, tile=None)
        row = {name: metric.score(out) for name, metric in metrics.items()}
        if clear_dir:
            clear = read_rgb(osp.join(clear_dir, osp.basename(path)))
            row['PSNR'] = psnr(out, clear, crop_border=0)
            row['SSIM'] = ssim(out, clear, crop_border=0)
        rows.append(row)
        images.append(out)
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}, images


def write_grid(path, columns, titles):
    """Rows = images, columns = variants, with a title strip; written atomically as PNG."""
    import cv2

    from mmbilalora.utils.image_io import write_rgb
    rows = []
    for images in zip(*columns):
        h = min(im.shape[0] for im in images)
        rows.append(np.concatenate([cv2.resize(im, (round(im.shape[1] * h / im.shape[0]), h))
                                    for im in images], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    header = np.full((28, width, 3), 255, np.uint8)
    step = width // len(titles)
    for i, title in enumerate(titles):
        cv2.putText(header, title, (i * step + 6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0),
                    1, cv2.LINE_AA)
    write_rgb(path, np.concatenate([header] + rows, axis=0))


def main() -> None:
    args = parse_args()
    start = time.time()
    import mmbilalora  # noqa: F401
    from mmbilalora.apis import load_dehazer
    from mmbilalora.datasets import scan_images
    from mmbilalora.evaluation.metrics import EntropyMetric, FADEMetric, NIQEMetric
    from mmbilalora.utils.atomic_io import atomic_dump_json, atomic_write_bytes
    from mmbilalora.utils.sample_images import write_target_set

    os.makedirs(args.work_dir, exist_ok=True)
    if args.data:
        train_dir, eval_paths, clear_dir = args.data, scan_images(args.data)[:8], None
    else:
        folders = write_target_set(osp.join(args.work_dir, 'target'))
        train_dir, clear_dir = folders['train'], folders['eval/clear']
        eval_paths = scan_images(folders['eval/hazy'])
    from mmbilalora.apis.guidance import choose_guidance
    clip_model, pretrained, source = choose_guidance(COMPACT_CLIP)
    print(f'[demo] guidance weights: {source}', flush=True)

    train_dir_work = osp.join(args.work_dir, 'bilalora')
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir',
           train_dir_work, '--cfg-options', f'load_from={BASE_CHECKPOINT}',
           f'train_dataloader.dataset.dataset.data_root={train_dir}',
           f'val_dataloader.dataset.data_root={train_dir}',
           f'test_dataloader.dataset.data_root={train_dir}',
           f'train_dataloader.dataset.dataset.pipeline.1.size={args.crop}',
           f'model.loss.clip_model={clip_model}', f'model.loss.pretrained={pretrained}',
           f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters + 1}',
           f'custom_hooks.0.search_iters={args.search}',
           f'default_hooks.checkpoint.interval={args.iters}',
           f'optim_wrapper.update_order={args.update_order}']
    print('[demo] $ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)

    fade_dir = os.environ.get('MMBILALORA_FADE_DIR') or (
        FADE_DIR_DEFAULT if osp.isdir(FADE_DIR_DEFAULT) else None)
    metrics = {'NIQE': NIQEMetric(), 'Entropy': EntropyMetric()}
    if fade_dir:
        metrics = {'FADE': FADEMetric(fade_dir=fade_dir), **metrics}
    base = load_dehazer(BASE_CONFIG, BASE_CHECKPOINT)
    adapted = load_dehazer(BASE_CONFIG, BASE_CHECKPOINT,
                           adapter=osp.join(train_dir_work, 'bilalora_adapter.pth'))
    print(f'[demo] evaluating {len(eval_paths)} image(s)', flush=True)
    table = {}
    table['hazy input'], hazy_images = scores(None, eval_paths, clear_dir, metrics)
    table['base (synthetic haze)'], base_images = scores(base, eval_paths, clear_dir, metrics)
    table['BiLaLoRA'], adapted_images = scores(adapted, eval_paths, clear_dir, metrics)
    columns = [hazy_images, base_images, adapted_images]
    titles = ['hazy', 'base', 'BiLaLoRA']
    if clear_dir:
        from mmbilalora.utils.image_io import read_rgb
        columns.append([read_rgb(osp.join(clear_dir, osp.basename(p))) for p in eval_paths])
        titles.append('clear')
    write_grid(osp.join(args.work_dir, 'comparison.png'), columns, titles)

    names = list(next(iter(table.values())))
    lines = ['| model | ' + ' | '.join(names) + ' |', '|' + ' --- |' * (len(names) + 1)]
    lines += [f'| {row} | ' + ' | '.join(f'{v[n]:.4f}' for n in names) + ' |'
              for row, v in table.items()]
    notes = [f'Guidance weights: {source}.', 'Lower is better for FADE and NIQE; higher for '
             'PSNR, SSIM and entropy.' + ('' if fade_dir else ' FADE skipped: no statistics '
                                                              'files (MMBILALORA_FADE_DIR).')]
    markdown = '\n'.join(['# Demo: BiLaLoRA adaptation', ''] + lines + [''] + notes) + '\n'
    atomic_write_bytes(osp.join(args.work_dir, 'metrics.md'), markdown.encode())
    atomic_dump_json(dict(table=table, guidance=source, target=train_dir),
                     osp.join(args.work_dir, 'metrics.json'))
    print('\n' + markdown)
    print(f'[demo] outputs in {args.work_dir}: comparison.png, metrics.md; in '
          f'{train_dir_work}: gate_trajectory.png, gate_ranking.md, bilalora_adapter.pth, '
          f'bilalora_merged.pth ({time.time() - start:.0f} s)')


if __name__ == '__main__':
    main()
