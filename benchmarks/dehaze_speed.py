"""Seconds per megapixel and peak memory of dehazing a photo: the shipped base's fast and exact
paths and He et al.'s dark channel prior alone, on 1, 3 and 12 megapixel photos, in one run.

Each (path, size) runs in a child process of its own, so that its peak memory is its own (the
process's peak resident set size on the CPU, the allocator's peak on CUDA). The photo is a real
hazy photo (``--photo``, default ``../shared/data/real_hazy/canon_input.png``) resized (cubic)
to 4:3 at each size. Paths:

- ``fast``: the shipped base as ``tools/dehaze.py`` runs it (the network sees at most
  ``network_pixels`` of the photo, in tiles of ``network_tile`` at that scale; see
  ``PriorRefinedDehazer``);
- ``exact``: the same with ``model.generator.network_pixels=None`` (the network at full
  resolution, in 512-pixel tiles);
- ``dcp``: ``DarkChannelPrior()`` with He et al.'s settings on the whole photo, for scale.

Printed: a table of seconds, seconds per megapixel and peak memory per path and size, and the
ratios exact / fast and fast / dcp per size. Times are the median of ``--repeats`` calls after
one warm-up call on a small photo.

    python benchmarks/dehaze_speed.py [--sizes 1 3 12] [--paths fast exact dcp]
        [--device cpu|cuda] [--repeats 1] [--threads N] [--json OUT.json]
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
from typing import Dict

from timing import median_time, peak_memory_mb, reset_peak_memory

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PHOTO = osp.join(osp.dirname(ROOT), 'shared', 'data', 'real_hazy', 'canon_input.png')
PATHS = ('fast', 'exact', 'dcp')
EXACT = {'model.generator.network_pixels': None}


def photo_of(path: str, megapixels: float):
    """The photo at ``path`` resized (cubic) to 4:3 and ``megapixels`` million pixels."""
    import cv2

    from mmbilalora.utils.image_io import read_rgb
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    return cv2.resize(read_rgb(path), (width, round(width * 3 / 4)),
                      interpolation=cv2.INTER_CUBIC)


def child(args) -> Dict[str, float]:
    """Time and peak memory of one path on one size, in this process."""
    import torch

    from mmbilalora.apis import dehaze_array, load_dehazer
    from mmbilalora.models.archs import DarkChannelPrior
    if args.threads:
        torch.set_num_threads(args.threads)
    rgb = photo_of(args.photo, args.megapixels)
    warmup = photo_of(args.photo, 0.1)
    if args.path == 'dcp':
        prior = DarkChannelPrior().to(args.device)

        def run(image):
            with torch.no_grad():
                x = torch.from_numpy(image).permute(2, 0, 1)[None].float().to(args.device)
                return prior(x / 255.0).cpu()
    else:
        dehazer = load_dehazer(device=args.device,
                               cfg_options=EXACT if args.path == 'exact' else None)

        def run(image):
            return dehaze_array(dehazer, image)
    run(warmup)
    reset_peak_memory(args.device)
    seconds = median_time(lambda: run(rgb), args.repeats, args.device, warmup=0)
    return dict(seconds=seconds, megapixels=rgb.shape[0] * rgb.shape[1] / 1e6,
                peak_mb=peak_memory_mb(args.device))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=float, nargs='+', default=[1, 3, 12],
                        help='megapixels')
    parser.add_argument('--paths', nargs='+', choices=PATHS, default=list(PATHS))
    parser.add_argument('--photo', default=PHOTO)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s)')
    parser.add_argument('--json', help='write the measurements here')
    parser.add_argument('--path', choices=PATHS, help=argparse.SUPPRESS)  # child process
    parser.add_argument('--megapixels', type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.path:
        print(json.dumps(child(args)))
        return
    results: Dict[str, Dict[float, Dict[str, float]]] = {}
    for size in args.sizes:
        for path in args.paths:
            cmd = [sys.executable, osp.abspath(__file__), '--path', path, '--megapixels',
                   str(size), '--photo', args.photo, '--device', args.device, '--repeats',
                   str(args.repeats)] + (['--threads', str(args.threads)] if args.threads else [])
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                raise SystemExit(f'{path} at {size} MP failed:\n{proc.stderr[-3000:]}')
            results.setdefault(path, {})[size] = json.loads(proc.stdout.strip().splitlines()[-1])
            row = results[path][size]
            print(f'{path} {size:g} MP: {row["seconds"]:.1f} s, peak {row["peak_mb"]:.0f} MB',
                  flush=True)
    memory = 'peak allocated' if args.device.startswith('cuda') else 'peak RSS'
    print(f'\n| path | photo | s | s / MP | {memory} (MB) |\n| --- | --- | --- | --- | --- |')
    for path, rows in results.items():
        for size, row in rows.items():
            print(f'| {path} | {size:g} MP | {row["seconds"]:.1f} | '
                  f'{row["seconds"] / row["megapixels"]:.2f} | {row["peak_mb"]:.0f} |')
    for size in args.sizes:
        ratios = [f'{a} / {b} = {results[a][size]["seconds"] / results[b][size]["seconds"]:.2f}'
                  for a, b in (('exact', 'fast'), ('fast', 'dcp'))
                  if a in results and b in results]
        if ratios:
            print(f'{size:g} MP: ' + ', '.join(ratios))
    if args.json:
        from mmbilalora.utils.atomic_io import atomic_dump_json
        atomic_dump_json(dict(device=args.device, results=results), args.json)


if __name__ == '__main__':
    main()
