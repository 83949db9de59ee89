"""The README's main job: adapt the shipped dehazer to a new haze domain with BiLaLoRA.

1. base: the shipped base dehazer (``checkpoints/dcp-dehazeformer-t-conv_synhaze_clear-pristine``);
2. target: ``--data DIR`` (your hazy photos, no references), or by default an embedded set made
   at run time from scikit-image's photos with coloured, finely non-homogeneous haze, sensor noise
   and JPEG, whose clear references are kept for scoring;
3. guidance: real CLIP ViT-B-32 when its weights are available locally
   (``MMBILALORA_CLIP_WEIGHTS`` or the Hugging Face cache), else the compact haze-aware CLIP
   shipped in ``checkpoints/haze_clip_tiny`` (logged either way);
4. BiLaLoRA search -> top-k -> fine-tune (``mmbilalora.apis.adapt``,
   ``configs/bilalora/dehazeformer_demo.py``);
5. every target photo dehazed by the base and by the adapted model (``dehazed/base``,
   ``dehazed/bilalora``), both scored with the registered metrics (FADE, NIQE, brightness ratio,
   colour cast, blockiness; PSNR/SSIM on the embedded set), a before/after grid of the first 8,
   the gate plot, the adapter and the merged checkpoint, all in the work dir.

    python tools/demo.py [--data DIR] [--work-dir work_dirs/demo] [--iters 300] [--search 100]
        [--crop 128] [--lora-lr LR] [--update-order paper|simultaneous] [--compact-clip DIR]
        [--seed 0]
"""
import argparse
import os
import os.path as osp
import sys
import time

import cv2
import numpy as np

from mmbilalora.apis import adapt, dehaze_folder, load_dehazer
from mmbilalora.datasets import scan_images
from mmbilalora.datasets.sample_images import write_target_set
from mmbilalora.evaluation.offline import build_metrics, score_images
from mmbilalora.utils.atomic_io import atomic_dump_json, atomic_write_bytes
from mmbilalora.utils.image_io import read_rgb, write_rgb

FADE_DIR_DEFAULT = osp.join('..', 'shared', 'fade')
GRID_ROWS = 8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', help='folder of your hazy photos (default: embedded set)')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
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


def fit_width(image: np.ndarray, width: int) -> np.ndarray:
    """``image`` resized to ``width`` pixels wide (aspect kept)."""
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def write_grid(path: str, columns, titles, cell_width: int = 320, gap: int = 4) -> None:
    """Rows = images, columns = variants, each cell ``cell_width`` wide (so every column lines
    up under its centred title), white gaps; written atomically as PNG."""
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


def metric_configs(with_references: bool):
    fade_dir = os.environ.get('MMBILALORA_FADE_DIR') or (
        FADE_DIR_DEFAULT if osp.isdir(FADE_DIR_DEFAULT) else None)
    cfgs = ([dict(type='FADE', fade_dir=fade_dir)] if fade_dir else []) + [
        dict(type='NIQENoRef'), dict(type='BrightnessRatio'), dict(type='ColourCast'),
        dict(type='Blockiness')]
    if with_references:
        cfgs += [dict(type='PSNR'), dict(type='SSIM')]
    return cfgs, fade_dir


def main() -> None:
    args = parse_args()
    if args.compact_clip and not osp.isdir(args.compact_clip):
        sys.exit(f'--compact-clip {args.compact_clip}: no such folder')
    start = time.time()
    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    if args.data:
        train_dir, eval_dir, clear_dir = args.data, args.data, None
    else:
        folders = write_target_set(osp.join(work, 'target'))
        train_dir, eval_dir = folders['train'], folders['eval/hazy']
        clear_dir = folders['eval/clear']

    adaptation = adapt(train_dir, osp.join(work, 'bilalora'), iters=args.iters,
                       search=args.search, crop=args.crop, lora_lr=args.lora_lr,
                       update_order=args.update_order, compact_clip=args.compact_clip,
                       seed=args.seed)
    print(f'[demo] guidance weights: {adaptation.guidance}', flush=True)
    base = load_dehazer()
    adapted = load_dehazer(adapter=adaptation.adapter)
    runs = {}
    for row, dehazer in (('base', base), ('BiLaLoRA', adapted)):
        print(f'[demo] dehazing {eval_dir} with the {row}', flush=True)
        runs[row] = dehaze_folder(dehazer, eval_dir, osp.join(work, 'dehazed', row.lower()),
                                  route=dehazer.adapters.active or 'base')
    outputs_of = {row: {r['input']: r['output'] for r in run.written} for row, run in runs.items()}
    names = [osp.relpath(p, eval_dir) for p in scan_images(eval_dir)
             if all(osp.relpath(p, eval_dir) in done for done in outputs_of.values())]
    hazy = [read_rgb(osp.join(eval_dir, n)) for n in names]
    clear = [read_rgb(osp.join(clear_dir, n)) for n in names] if clear_dir else None
    cfgs, fade_dir = metric_configs(clear_dir is not None)
    metrics = build_metrics(cfgs)
    table, per_image, columns = {}, {}, [hazy]
    table['hazy input'], per_image['hazy input'] = score_images(metrics, hazy, hazy, clear, names)
    for row in runs:
        folder = osp.join(work, 'dehazed', row.lower())
        outputs = [read_rgb(osp.join(folder, outputs_of[row][n])) for n in names]
        table[row], per_image[row] = score_images(metrics, outputs, hazy, clear, names)
        columns.append(outputs)
    titles = ['hazy input', 'base', 'BiLaLoRA']
    if clear:
        columns.append(clear)
        titles.append('clear reference')
    write_grid(osp.join(work, 'comparison.png'), [c[:GRID_ROWS] for c in columns], titles)

    metric_names = list(next(iter(table.values())))
    lines = ['| model | ' + ' | '.join(metric_names) + ' |',
             '|' + ' --- |' * (len(metric_names) + 1)]
    lines += [f'| {row} | ' + ' | '.join(f'{v[n]:.4f}' for n in metric_names) + ' |'
              for row, v in table.items()]
    notes = [f'{len(names)} photo(s) of {eval_dir}. Guidance weights: {adaptation.guidance}.',
             'Lower is better for FADE, NIQE, colour cast and blockiness; higher for PSNR and '
             'SSIM; brightness ratio (output / input mean luma) should stay near 1 (a dehazer '
             'removes some airlight, but < 0.8 looks darkened).'
             + ('' if fade_dir else ' FADE skipped: no statistics files (MMBILALORA_FADE_DIR).')]
    failed = [f for run in runs.values() for f in run.failed]
    notes += [f'Could not dehaze {f["input"]}: {f["reason"]}' for f in failed]
    markdown = '\n'.join(['# Demo: BiLaLoRA adaptation', ''] + lines + [''] + notes) + '\n'
    atomic_write_bytes(osp.join(work, 'metrics.md'), markdown.encode())
    atomic_dump_json(dict(table=table, per_image=per_image, guidance=adaptation.guidance,
                          target=train_dir, photos=names), osp.join(work, 'metrics.json'))
    print('\n' + markdown)
    print(f'[demo] outputs in {work}: comparison.png, metrics.md, dehazed/base, '
          f'dehazed/bilalora; in {adaptation.work_dir}: gate_trajectory.png, gate_ranking.md, '
          f'bilalora_adapter.pth, bilalora_merged.pth ({time.time() - start:.0f} s)')
    if failed:
        sys.exit(1)


if __name__ == '__main__':
    main()
