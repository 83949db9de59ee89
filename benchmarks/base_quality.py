"""What a person sees, in numbers: a dehazer on real hazy photos and on haze-free photos.

For each model (the shipped base by default; ``--model NAME=CONFIG,CHECKPOINT[,ADAPTER]`` adds
or replaces models; CHECKPOINT may be ``mmbilalora://NAME``, see ``mmbilalora.utils.model_zoo``)
it dehazes, at full size, every photo of ``--hazy`` (real haze, no references) and the held-out
haze-free photos ``--clear`` (``--clear-count`` first ones, which the shipped base never trained
on), and prints per-model means of:

- real haze: FADE (fog density, lower = less fog), NIQE (lower = more natural), brightness
  ratio (output / input mean luma; < 1 = darker), colour cast (CIELAB chroma of the mean colour;
  the inputs' value is printed too), blockiness (window-seam steps, grey levels);
- haze-free photos: brightness ratio and mean absolute change (grey levels), which should stay
  near 1 and 0 (the network should leave a clear photo alone).

``--save DIR`` writes every output and a side-by-side figure per photo (input | model ...).

    python benchmarks/base_quality.py [--hazy ../shared/data/real_hazy]
        [--clear ../shared/data/clear_pristine --clear-count 8] [--model NAME=CFG,CKPT[,ADAPTER]]
        [--save work_dirs/base_quality] [--json out.json]
"""
import argparse
import os.path as osp
import time

import numpy as np

from mmbilalora.apis import dehaze_array, load_dehazer
from mmbilalora.datasets import scan_images
from mmbilalora.evaluation.offline import build_metrics, score_images
from mmbilalora.utils import model_zoo
from mmbilalora.utils.atomic_io import atomic_dump_json
from mmbilalora.utils.image_io import read_rgb, write_rgb

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.join(osp.dirname(ROOT), 'shared')


def shipped_base():
    """(name, config, checkpoint, adapter) of the shipped base dehazer."""
    return ('base', model_zoo.config_path(model_zoo.SHIPPED_BASE),
            model_zoo.model_path(model_zoo.SHIPPED_BASE), None)


def parse_model(text: str):
    name, _, paths = text.partition('=')
    parts = paths.split(',')
    if not name or len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f'--model NAME=CONFIG,CHECKPOINT[,ADAPTER], got {text!r}')
    return name, parts[0], parts[1], parts[2] if len(parts) == 3 else None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hazy', default=osp.join(SHARED, 'data', 'real_hazy'))
    parser.add_argument('--clear', default=osp.join(SHARED, 'data', 'clear_pristine'))
    parser.add_argument('--clear-count', type=int, default=8)
    parser.add_argument('--fade-dir', default=osp.join(SHARED, 'fade'))
    parser.add_argument('--model', type=parse_model, action='append',
                        help='NAME=CONFIG,CHECKPOINT[,ADAPTER] (repeatable; default: the base)')
    parser.add_argument('--tile', type=int, default=512,
                        help='tile side as in tools/dehaze.py (0: whole image)')
    parser.add_argument('--save', help='folder for outputs and side-by-side figures')
    parser.add_argument('--json', help='write the per-image results here')
    args = parser.parse_args(argv)
    hazy_metrics = build_metrics([
        dict(type='FADE', fade_dir=args.fade_dir), dict(type='NIQENoRef'),
        dict(type='BrightnessRatio'), dict(type='ColourCast'), dict(type='Blockiness')])
    clear_metrics = build_metrics([dict(type='BrightnessRatio'), dict(type='MeanAbsChange')])
    models = args.model or [shipped_base()]
    hazy_paths = scan_images(args.hazy)
    clear_paths = scan_images(args.clear)[:args.clear_count]
    hazy = [read_rgb(p) for p in hazy_paths]
    clear = [read_rgb(p) for p in clear_paths]
    hazy_names = [osp.basename(p) for p in hazy_paths]
    clear_names = [osp.basename(p) for p in clear_paths]
    means, rows, outputs = {}, {}, {}
    means['hazy input'], rows['hazy input'] = score_images(hazy_metrics, hazy, hazy,
                                                           names=hazy_names)
    for name, config, checkpoint, adapter in models:
        start = time.time()
        dehazer = load_dehazer(config, checkpoint, adapter)
        outputs[name] = ([dehaze_array(dehazer, im, tile=args.tile or None) for im in hazy],
                         [dehaze_array(dehazer, im, tile=args.tile or None) for im in clear])
        means[name], rows[name] = score_images(hazy_metrics, outputs[name][0], hazy,
                                               names=hazy_names)
        clear_means, clear_rows = score_images(clear_metrics, outputs[name][1], clear,
                                               names=clear_names)
        means[name].update({f'clear {k}': v for k, v in clear_means.items()})
        rows[name] += [dict(row, clear=True) for row in clear_rows]
        print(f'[{name}] {len(hazy) + len(clear)} photos in {time.time() - start:.0f} s',
              flush=True)

    columns = ['FADE', 'NIQE', 'BrightnessRatio', 'ColourCast', 'Blockiness',
               'clear BrightnessRatio', 'clear MeanAbsChange']
    print(f'\nReal hazy photos ({len(hazy)}, {args.hazy}) and haze-free photos '
          f'({len(clear)}, {args.clear})\n')
    print('| model | ' + ' | '.join(columns) + ' |')
    print('|' + ' --- |' * (len(columns) + 1))
    for name, values in means.items():
        print(f'| {name} | ' + ' | '.join(f'{values[c]:.3f}' if c in values else '-'
                                          for c in columns) + ' |')
    if args.json:
        atomic_dump_json(dict(means=means, images=rows), args.json)
    if args.save:
        per_model = [hazy_out + clear_out for hazy_out, clear_out in outputs.values()]
        for i, (source, path) in enumerate(zip(hazy + clear, hazy_paths + clear_paths)):
            stem = osp.splitext(osp.basename(path))[0]
            outs = [images[i] for images in per_model]
            for name, out in zip(outputs, outs):
                write_rgb(osp.join(args.save, name, stem + '.png'), out)
            write_rgb(osp.join(args.save, 'side_by_side', stem + '.png'),
                      np.concatenate([source] + outs, axis=1))


if __name__ == '__main__':
    main()
