"""The README's main job: adapt the shipped dehazer to a new haze domain with BiLaLoRA.

1. base: ``checkpoints/``
   ``dehazeformer-t-conv-gf-dcp-gated-snr_display-metered-haze_clear-pristine.pth``
   (DehazeFormer-t's layout without attention and with a guided filter on its output maps,
   refining a haze-gated dark channel prior; pretrained on synthetic haze with natural airlight
   colours and metered exposure), under the prior and exposure-floor settings of
   ``configs/dehazeformer/``
   ``dehazeformer-t-conv-gf-dcp-gated-snr-r8-floor_display-metered-haze_clear-pristine.py``;
2. target: ``--data DIR`` (your hazy photos, no references), or by default an embedded set made
   at run time from scikit-image's photos with coloured, finely non-homogeneous haze, sensor noise
   and JPEG, whose clear references are kept for scoring;
3. guidance: real CLIP ViT-B-32 when its weights are available locally
   (``MMBILALORA_CLIP_WEIGHTS`` or the Hugging Face cache), else the compact haze-aware CLIP
   shipped in ``checkpoints/haze_clip_tiny`` (logged either way);
4. BiLaLoRA search -> top-k -> fine-tune through ``tools/train.py`` and
   ``configs/bilalora/dehazeformer_demo.py``;
5. evaluation of base vs adapted with the registered metrics (PSNR/SSIM on the embedded set,
   FADE, NIQE, brightness ratio, colour cast, blockiness); a before/after grid, the gate plot,
   the adapter and the merged checkpoint, all in the work dir.

    python tools/demo.py [--data DIR] [--work-dir work_dirs/demo] [--iters 300] [--search 100]
        [--lora-lr LR] [--update-order paper|simultaneous] [--compact-clip DIR] [--seed 0]
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
FADE_DIR_DEFAULT = osp.join(osp.dirname(ROOT), 'shared', 'fade')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', help='folder of your hazy photos (default: embedded set)')
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--iters', type=int, default=300, help='training iterations')
    parser.add_argument('--search', type=int, default=100, help='search iterations')
    parser.add_argument('--crop', type=int, default=128)
    parser.add_argument('--lora-lr', type=float,
                        help="LoRA learning rate (default: the demo config's)")
    parser.add_argument('--update-order', choices=('paper', 'simultaneous'), default='paper',
                        help="BiLaLoRA's search step: Algorithm 1's order (default) or the "
                        'simultaneous approximation')
    parser.add_argument('--compact-clip', default=None,
                        help='compact CLIP folder used when real CLIP weights are not found '
                        '(default: checkpoints/haze_clip_tiny)')
    parser.add_argument('--seed', type=int, default=0,
                        help="the run's randomness.seed (crops, views, sampling order); the "
                        'embedded set and the bilevel split do not depend on it')
    return parser.parse_args()


def dehaze_all(dehazer, images):
    """Outputs of ``dehazer`` for (H, W, 3) uint8 images (None: the images themselves)."""
    from mmbilalora.apis import dehaze_array
    return list(images) if dehazer is None else [dehaze_array(dehazer, im, tile=None)
                                                 for im in images]


def fit_width(image, width):
    """``image`` resized to ``width`` pixels wide (aspect kept)."""
    import cv2
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def write_grid(path, columns, titles, cell_width=320, gap=4):
    """Rows = images, columns = variants, each cell ``cell_width`` wide (so every column lines
    up under its centred title), white gaps; written atomically as PNG."""
    import cv2

    from mmbilalora.utils.image_io import write_rgb
    width = len(columns) * cell_width + (len(columns) - 1) * gap
    rows = []
    for images in zip(*columns):
        cells = [fit_width(im, cell_width) for im in images]
        row = np.full((cells[0].shape[0], width, 3), 255, np.uint8)
        for i, cell in enumerate(cells):
            row[:, i * (cell_width + gap):i * (cell_width + gap) + cell_width] = cell
        rows += [row, np.full((gap, width, 3), 255, np.uint8)]
    header = np.full((30, width, 3), 255, np.uint8)
    for i, title in enumerate(titles):
        (text_w, _), _ = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
        left = i * (cell_width + gap) + (cell_width - text_w) // 2
        cv2.putText(header, title, (left, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1,
                    cv2.LINE_AA)
    write_rgb(path, np.concatenate([header] + rows[:-1], axis=0))


def main() -> None:
    args = parse_args()
    if args.compact_clip and not osp.isdir(args.compact_clip):
        sys.exit(f'--compact-clip {args.compact_clip}: no such folder')
    start = time.time()
    import mmbilalora  # noqa: F401
    from mmbilalora.apis import load_dehazer
    from mmbilalora.datasets import scan_images
    from mmbilalora.evaluation.offline import build_metrics, score_images
    from mmbilalora.utils.image_io import read_rgb
    from mmbilalora.utils.atomic_io import atomic_dump_json, atomic_write_bytes
    from mmbilalora.utils.sample_images import write_target_set

    os.makedirs(args.work_dir, exist_ok=True)
    if args.data:
        train_dir, eval_paths, clear_dir = args.data, scan_images(args.data)[:8], None
    else:
        folders = write_target_set(osp.join(args.work_dir, 'target'))
        train_dir, clear_dir = folders['train'], folders['eval/clear']
        eval_paths = scan_images(folders['eval/hazy'])
    from mmbilalora.apis import (COMPACT_CLIP, SHIPPED_BASE_CHECKPOINT, SHIPPED_BASE_CONFIG,
                                 choose_guidance)
    clip_model, pretrained, source = choose_guidance(args.compact_clip or COMPACT_CLIP)
    print(f'[demo] guidance weights: {source}', flush=True)

    train_dir_work = osp.join(args.work_dir, 'bilalora')
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir',
           train_dir_work, '--cfg-options', f'load_from={SHIPPED_BASE_CHECKPOINT}',
           f'train_dataloader.dataset.dataset.data_root={train_dir}',
           f'val_dataloader.dataset.data_root={train_dir}',
           f'test_dataloader.dataset.data_root={train_dir}',
           f'train_dataloader.dataset.dataset.pipeline.1.size={args.crop}',
           f'model.loss.clip_model={clip_model}', f'model.loss.pretrained={pretrained}',
           f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters + 1}',
           f'custom_hooks.0.search_iters={args.search}',
           f'default_hooks.checkpoint.interval={args.iters}',
           f'optim_wrapper.update_order={args.update_order}', f'randomness.seed={args.seed}']
    if args.lora_lr is not None:
        cmd.append(f'optim_wrapper.lora.optimizer.lr={args.lora_lr}')
    print('[demo] $ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)

    fade_dir = os.environ.get('MMBILALORA_FADE_DIR') or (
        FADE_DIR_DEFAULT if osp.isdir(FADE_DIR_DEFAULT) else None)
    metric_cfgs = ([dict(type='FADE', fade_dir=fade_dir)] if fade_dir else []) + [
        dict(type='NIQENoRef'), dict(type='BrightnessRatio'), dict(type='ColourCast'),
        dict(type='Blockiness')]
    if clear_dir:
        metric_cfgs += [dict(type='PSNR'), dict(type='SSIM')]
    metrics = build_metrics(metric_cfgs)
    hazy = [read_rgb(p) for p in eval_paths]
    clear = [read_rgb(osp.join(clear_dir, osp.basename(p))) for p in eval_paths] \
        if clear_dir else None
    names = [osp.basename(p) for p in eval_paths]
    base = load_dehazer(SHIPPED_BASE_CONFIG, SHIPPED_BASE_CHECKPOINT)
    adapted = load_dehazer(SHIPPED_BASE_CONFIG, SHIPPED_BASE_CHECKPOINT,
                           adapter=osp.join(train_dir_work, 'bilalora_adapter.pth'))
    print(f'[demo] evaluating {len(eval_paths)} image(s)', flush=True)
    table, per_image, columns = {}, {}, []
    for row, dehazer in (('hazy input', None), ('base', base), ('BiLaLoRA', adapted)):
        outputs = dehaze_all(dehazer, hazy)
        table[row], per_image[row] = score_images(metrics, outputs, hazy, clear, names)
        columns.append(outputs)
    titles = ['hazy input', 'base', 'BiLaLoRA']
    if clear_dir:
        columns.append(clear)
        titles.append('clear reference')
    write_grid(osp.join(args.work_dir, 'comparison.png'), columns, titles)

    metric_names = list(next(iter(table.values())))
    lines = ['| model | ' + ' | '.join(metric_names) + ' |',
             '|' + ' --- |' * (len(metric_names) + 1)]
    lines += [f'| {row} | ' + ' | '.join(f'{v[n]:.4f}' for n in metric_names) + ' |'
              for row, v in table.items()]
    notes = [f'Guidance weights: {source}.', 'Lower is better for FADE, NIQE, colour cast and '
             'blockiness; higher for PSNR and SSIM; brightness ratio (output / input mean luma) '
             'should stay near 1 (a dehazer removes some airlight, but < 0.8 looks darkened).'
             + ('' if fade_dir else ' FADE skipped: no statistics files (MMBILALORA_FADE_DIR).')]
    markdown = '\n'.join(['# Demo: BiLaLoRA adaptation', ''] + lines + [''] + notes) + '\n'
    atomic_write_bytes(osp.join(args.work_dir, 'metrics.md'), markdown.encode())
    atomic_dump_json(dict(table=table, per_image=per_image, guidance=source, target=train_dir),
                     osp.join(args.work_dir, 'metrics.json'))
    print('\n' + markdown)
    print(f'[demo] outputs in {args.work_dir}: comparison.png, metrics.md; in '
          f'{train_dir_work}: gate_trajectory.png, gate_ranking.md, bilalora_adapter.pth, '
          f'bilalora_merged.pth ({time.time() - start:.0f} s)')


if __name__ == '__main__':
    main()
