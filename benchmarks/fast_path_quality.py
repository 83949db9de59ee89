"""The shipped base's fast path against its exact path, on real hazy and haze-free photos.

On the fast path (``PriorRefinedDehazer(network_pixels=...)``) the network sees a large photo
resized by ``network_scale`` and its K and B come back to full resolution under the prior's grey.
The shared photos are smaller than the shipped ``network_pixels``, so the fast path leaves them
exact; to measure what the resizing costs, each photo is dehazed with the network at each
``--scales`` factor (its ``network_pixels`` set to ``scale^2`` times the photo's pixels: a
12-megapixel photo under a 1-megapixel budget is seen at scale 0.29) and compared with the exact
path (scale 1). Printed per scale, means over the photos:

- real haze (``--hazy``): mean absolute difference from the exact output (grey levels), FADE,
  NIQE and brightness ratio, and FADE / NIQE relative to the exact path's;
- haze-free photos (``--clear``, the first ``--clear-count``): brightness ratio and mean
  absolute change from the input (the base should leave them alone).

With ``--adapter FILE`` (e.g. the demo's ``bilalora_adapter.pth``) the real photos are also
dehazed by the adapted model, and its FADE gain over the base is printed on each path.

``--large`` adds the shipped setting at its own scale: every haze-free photo of ``--clear``
larger than ``network_pixels`` is hazed (``I = J t + A (1 - t)``, t = 0.55, A = 0.85) and
dehazed on the default (fast) and the exact path at full size; printed per photo: its size and
network scale, the mean absolute difference between the paths, each path's mean absolute error
from the clear photo and its seconds.

``--save DIR`` writes the outputs (``DIR/<model>/<scale>/``, ``DIR/large/``) to look at.

    python benchmarks/fast_path_quality.py [--scales 0.5 0.29] [--hazy ../shared/data/real_hazy]
        [--clear ../shared/data/clear_pristine --clear-count 8] [--adapter FILE] [--large]
        [--save DIR]
"""
import argparse
import os.path as osp
import time
from typing import Dict, List

import numpy as np

from mmbilalora.apis import dehaze_array, load_dehazer
from mmbilalora.datasets import scan_images
from mmbilalora.evaluation import mean_abs_change
from mmbilalora.evaluation.offline import build_metrics, score_images
from mmbilalora.utils.image_io import read_rgb, write_rgb

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.join(osp.dirname(ROOT), 'shared')


def dehaze_at(dehazer, images: List[np.ndarray], scale: float) -> List[np.ndarray]:
    """``images`` dehazed with the network at ``scale`` (1: the exact path)."""
    generator = dehazer.generator
    outputs = []
    for image in images:
        pixels = image.shape[0] * image.shape[1]
        generator.network_pixels = None if scale >= 1 else max(1, int(scale**2 * pixels))
        outputs.append(dehaze_array(dehazer, image))
    return outputs


def large_photos(clear_paths: List[str], save: str = None) -> None:
    """The default (fast) path against the exact path on the haze-free photos larger than
    ``network_pixels``, hazed uniformly, at full size (see the module's docstring)."""
    fast = load_dehazer()
    exact = load_dehazer(cfg_options={'model.generator.network_pixels': None})
    print('\n| photo | megapixels | network scale | MAD fast from exact | error fast | '
          'error exact | s fast | s exact |\n' + '|' + ' --- |' * 8, flush=True)
    for path in clear_paths:
        clear = read_rgb(path)
        h, w = clear.shape[:2]
        scale = fast.generator.network_scale(h, w)
        if scale >= 1:
            continue
        hazy = np.round(clear * 0.55 + 255 * 0.85 * 0.45).astype(np.uint8)
        outputs, seconds = [], []
        for dehazer in (fast, exact):
            start = time.perf_counter()
            outputs.append(dehaze_array(dehazer, hazy))
            seconds.append(time.perf_counter() - start)
        name = osp.splitext(osp.basename(path))[0]
        if save:
            for label, out in zip(('fast', 'exact'), outputs):
                write_rgb(osp.join(save, 'large', f'{name}_{label}.png'), out)
        print(f'| {name} | {h * w / 1e6:.1f} | {scale:.2f} | '
              f'{mean_abs_change(outputs[0], outputs[1]):.2f} | '
              f'{mean_abs_change(outputs[0], clear):.2f} | '
              f'{mean_abs_change(outputs[1], clear):.2f} | {seconds[0]:.1f} | '
              f'{seconds[1]:.1f} |', flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--scales', type=float, nargs='*', default=[0.5, 0.29],
                        help='forced network scales (none: only --large)')
    parser.add_argument('--hazy', default=osp.join(SHARED, 'data', 'real_hazy'))
    parser.add_argument('--clear', default=osp.join(SHARED, 'data', 'clear_pristine'))
    parser.add_argument('--clear-count', type=int, default=8)
    parser.add_argument('--fade-dir', default=osp.join(SHARED, 'fade'))
    parser.add_argument('--adapter', help='an adapter of the shipped base')
    parser.add_argument('--large', action='store_true',
                        help='also the shipped setting on the large haze-free photos, hazed')
    parser.add_argument('--save', help='folder for the outputs')
    args = parser.parse_args()
    if args.large:
        large_photos(scan_images(args.clear), args.save)
        if not [s for s in args.scales if s < 1]:
            return
    hazy_paths = scan_images(args.hazy)
    clear_paths = scan_images(args.clear)[:args.clear_count]
    hazy = [read_rgb(p) for p in hazy_paths]
    clear = [read_rgb(p) for p in clear_paths]
    names = [osp.basename(p) for p in hazy_paths]
    metrics = build_metrics([dict(type='FADE', fade_dir=args.fade_dir), dict(type='NIQENoRef'),
                             dict(type='BrightnessRatio')])
    clear_metrics = build_metrics([dict(type='BrightnessRatio'), dict(type='MeanAbsChange')])
    models = {'base': load_dehazer()}
    if args.adapter:
        models['adapted'] = load_dehazer(adapter=args.adapter)
    scales = [1.0] + [s for s in args.scales if s < 1]
    table: Dict[float, Dict[str, float]] = {}
    exact: Dict[str, List[np.ndarray]] = {}
    for scale in scales:
        row = {}
        for name, dehazer in models.items():
            outputs = dehaze_at(dehazer, hazy, scale)
            exact.setdefault(name, outputs)
            means, _ = score_images(metrics, outputs, hazy, names=names)
            row.update({f'{name} {k}': v for k, v in means.items()})
            row[f'{name} MAD'] = float(np.mean([mean_abs_change(o, e) for o, e in
                                                zip(outputs, exact[name])]))
            if args.save:
                for out, path in zip(outputs, hazy_paths):
                    write_rgb(osp.join(args.save, name, f'{scale:g}',
                                       osp.splitext(osp.basename(path))[0] + '.png'), out)
        clear_means, _ = score_images(clear_metrics, dehaze_at(models['base'], clear, scale),
                                      clear)
        row.update({f'clear {k}': v for k, v in clear_means.items()})
        table[scale] = row
        print(f'scale {scale:g} done', flush=True)
    base = table[1.0]
    print(f'\n{len(hazy)} real hazy photos ({args.hazy}), {len(clear)} haze-free ({args.clear})\n')
    print('| network scale | MAD from exact | FADE | NIQE | FADE / exact | NIQE / exact | '
          'brightness | haze-free brightness | haze-free change |')
    print('|' + ' --- |' * 9)
    for scale, row in table.items():
        print(f'| {scale:g} | {row["base MAD"]:.3f} | {row["base FADE"]:.3f} | '
              f'{row["base NIQE"]:.3f} | {row["base FADE"] / base["base FADE"]:.3f} | '
              f'{row["base NIQE"] / base["base NIQE"]:.3f} | {row["base BrightnessRatio"]:.3f} | '
              f'{row["clear BrightnessRatio"]:.3f} | {row["clear MeanAbsChange"]:.2f} |')
    if args.adapter:
        print('\n| network scale | FADE base | FADE adapted | gain | MAD adapted from exact |\n'
              '| --- | --- | --- | --- | --- |')
        for scale, row in table.items():
            gain = 1 - row['adapted FADE'] / row['base FADE']
            print(f'| {scale:g} | {row["base FADE"]:.3f} | {row["adapted FADE"]:.3f} | '
                  f'{gain:.1%} | {row["adapted MAD"]:.3f} |')


if __name__ == '__main__':
    main()
