"""The shipped base's outputs before and after a change of the code: the same images, per pixel.

Dehazes every photo of each ``--folder`` twice through ``tools/dehaze.py`` with the shipped base
(default tiles, or ``--tile``): once with the code of git ref ``--before`` (extracted with
``git archive`` into a temporary folder; that tree's own tools, configs and checkpoints) and once
with the working tree's. Prints, per photo, the largest and the mean absolute difference (grey
levels) and the share of pixels that differ, and exits 1 when any pixel differs by more than
``--tolerance`` grey levels. ``--cfg-options`` is passed to the working tree's run only: e.g.
``model.generator.network_pixels=None``, the exact path for photos larger than the fast path's
budget (2 megapixels; at the tag every photo took the exact path).

    python benchmarks/shipped_base_outputs.py [--before lab-notebook-2026-12-07]
        [--folder ../shared/data/real_hazy] [--folder ../shared/data/clear_pristine:0:10]
        [--tile 512] [--cfg-options KEY=VALUE ...] [--keep DIR]

A folder given as ``DIR:FIRST:LAST`` takes the photos FIRST..LAST-1 of the sorted folder.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tarfile
import tempfile
from typing import Dict, List, Sequence

import numpy as np

from mmbilalora.datasets import scan_images
from mmbilalora.utils.image_io import read_rgb

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.join(osp.dirname(ROOT), 'shared', 'data')
# The code before the house redesign names its shipped base through these two constants.
OLD_SHIPPED = ('from mmbilalora.apis import SHIPPED_BASE_CONFIG as c, SHIPPED_BASE_CHECKPOINT as k;'
               ' import mmbilalora, json; print(json.dumps([c, k, mmbilalora.__file__]))')


def photos(spec: str) -> List[str]:
    folder, *bounds = spec.split(':')
    files = scan_images(folder)
    if bounds:
        files = files[int(bounds[0]):int(bounds[1])]
    if not files:
        raise SystemExit(f'error: no photos in {spec!r}')
    return files


def extract(ref: str, into: str) -> str:
    """The tree of git ref ``ref`` written into ``into`` (returned)."""
    archive = osp.join(into, 'tree.tar')
    subprocess.run(['git', 'archive', '--format=tar', '-o', archive, ref], cwd=ROOT, check=True)
    tree = osp.join(into, 'tree')
    with tarfile.open(archive) as tar:
        tar.extractall(tree)
    return tree


def dehaze(tree: str, inputs: List[str], out: str, tile: int, old: bool,
           options: Sequence[str] = ()) -> None:
    """Run ``tree``'s tools/dehaze.py on ``inputs`` (linked into one folder) into ``out``, with
    ``--cfg-options options`` when given."""
    staging = out + '_inputs'
    os.makedirs(staging, exist_ok=True)
    for path in inputs:
        link = osp.join(staging, osp.basename(path))
        if not osp.exists(link):
            os.symlink(osp.abspath(path), link)
    env = dict(os.environ, PYTHONPATH=tree)
    args = [sys.executable, osp.join(tree, 'tools', 'dehaze.py'), staging, '--out', out,
            '--tile', str(tile)]
    if old:  # the old tool had no default model: ask the old tree for its shipped base
        config, checkpoint, package = json.loads(subprocess.run(
            [sys.executable, '-c', OLD_SHIPPED], cwd=tree, env=env, check=True,
            capture_output=True, text=True).stdout.strip().splitlines()[-1])
        if not package.startswith(tree):
            raise SystemExit(f'error: the old tree imported mmbilalora from {package}')
        args += ['--config', config, '--checkpoint', checkpoint]
    if options:
        args += ['--cfg-options', *options]
    proc = subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f'error: {" ".join(args)} failed:\n{proc.stderr[-3000:]}')


def compare(before: str, after: str, names: List[str]) -> Dict[str, Dict[str, float]]:
    rows = {}
    for name in names:
        stem = osp.splitext(name)[0] + '.png'
        a = read_rgb(osp.join(before, stem)).astype(np.int16)
        b = read_rgb(osp.join(after, stem)).astype(np.int16)
        diff = np.abs(a - b)
        rows[name] = dict(max=float(diff.max()), mean=float(diff.mean()),
                          differing=float((diff > 0).mean()))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--before', default='lab-notebook-2026-12-07', help='git ref')
    parser.add_argument('--folder', action='append',
                        help='DIR or DIR:FIRST:LAST (default: the shared real hazy photos and '
                        'clear_pristine 01-10)')
    parser.add_argument('--tile', type=int, default=512, help='tile side (0: whole images)')
    parser.add_argument('--tolerance', type=float, default=1.0, help='grey levels')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help="the working tree's config changes")
    parser.add_argument('--keep', help='keep the outputs in this folder')
    args = parser.parse_args()
    folders = args.folder or [osp.join(SHARED, 'real_hazy'),
                              osp.join(SHARED, 'clear_pristine') + ':0:10']
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or scratch
        old_tree = extract(args.before, scratch)
        worst = 0.0
        options = ' '.join(args.cfg_options) or 'none'
        print(f'before: {args.before}; after: the working tree (cfg-options: {options}); '
              f'tile {args.tile or "whole"}')
        print('| photo | max | mean | pixels differing |\n| --- | --- | --- | --- |',
              flush=True)
        for i, spec in enumerate(folders):
            inputs = photos(spec)
            outs = [osp.join(work, side, str(i)) for side in ('before', 'after')]
            dehaze(old_tree, inputs, outs[0], args.tile, old=True)
            dehaze(ROOT, inputs, outs[1], args.tile, old=False, options=args.cfg_options)
            for name, row in compare(*outs, [osp.basename(p) for p in inputs]).items():
                worst = max(worst, row['max'])
                print(f'| {name} | {row["max"]:.0f} | {row["mean"]:.5f} | '
                      f'{row["differing"]:.4%} |', flush=True)
    print(f'largest difference: {worst:.0f} grey level(s) (tolerance {args.tolerance:g})')
    return 0 if worst <= args.tolerance else 1


if __name__ == '__main__':
    sys.exit(main())
