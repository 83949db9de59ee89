"""Peak memory and time of tools/dehaze.py-style tiled inference on a large photo, in one run.

Dehazes a synthetic 4000x3000 photo with DehazeFormer-t (random weights) in a child process per
setting and prints the time of the call and the process's peak RSS (``timing.peak_memory_mb``;
goal: <= 4 GB with the default 512-pixel tiles).

    python benchmarks/dehaze_memory.py [--width 4000] [--height 3000] [--tiles 512 1024]
"""
import argparse
import json
import subprocess
import sys

from timing import peak_memory_mb, time_call

CONFIG = 'dehazeformer/dehazeformer-t_synhaze.py'  # under configs/ (mmbilalora's model zoo)


def child(width: int, height: int, tile: int) -> dict:
    import numpy as np

    from mmbilalora.apis import dehaze_array, load_dehazer
    from mmbilalora.utils import model_zoo
    dehazer = load_dehazer(model_zoo.config_path(CONFIG), checkpoint=None)
    rng = np.random.default_rng(0)
    image = (rng.random((height, width, 3)) * 255).astype(np.uint8)
    out = []
    seconds = time_call(lambda: out.append(dehaze_array(dehazer, image, tile=tile, overlap=32)))
    assert out[0].shape == image.shape
    return dict(seconds=seconds, peak_rss_gb=peak_memory_mb('cpu') / 1024)  # whole process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--width', type=int, default=4000)
    parser.add_argument('--height', type=int, default=3000)
    parser.add_argument('--tiles', type=int, nargs='+', default=[512])
    parser.add_argument('--child', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.width, args.height, args.child)))
        return
    print(f'DehazeFormer-t, {args.width}x{args.height} RGB, CPU')
    print('| tile | time (s) | peak RSS (GB) |')
    print('| --- | --- | --- |')
    for tile in args.tiles:
        out = subprocess.run([sys.executable, __file__, '--width', str(args.width), '--height',
                              str(args.height), '--child', str(tile)], capture_output=True,
                             text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f'| {tile} | {result["seconds"]:.1f} | {result["peak_rss_gb"]:.2f} |')


if __name__ == '__main__':
    main()
