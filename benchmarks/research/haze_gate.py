"""Where ``HazeStrengthGate(low, high)`` opens: the median airlight-normalised dark channel
(``DarkChannelPrior.normalised_dark_channel`` with the prior's airlight, as the shipped base's
``PriorRefinedDehazer`` computes it) of each photo of some folders, its percentiles, and the gate
strength it gives.

The shipped gate (0.15, 0.55) is the median and the 95th percentile of the haze-free training
photos (``clear_pristine`` 11-90, the base's training photos); the held-out haze-free photos and
the real hazy photos show where it falls on photos it was not set on. Whole photos at full size,
as ``benchmarks/base_quality.py`` and ``tools/dehaze.py`` see them.

    python benchmarks/research/haze_gate.py [--folder NAME=DIR[:FIRST:LAST]] [--gate 0.15 0.55]
"""
import argparse
import os.path as osp

import numpy as np
import torch

from mmbilalora.datasets import scan_images
from mmbilalora.models.archs import DarkChannelPrior, HazeStrengthGate, dark_median
from mmbilalora.utils.image_io import read_rgb

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED = osp.join(osp.dirname(ROOT), 'shared')

FOLDERS = [
    'haze-free training photos=' + osp.join(SHARED, 'data', 'clear_pristine') + ':10:90',
    'haze-free held-out photos=' + osp.join(SHARED, 'data', 'clear_pristine') + ':0:8',
    'real hazy photos=' + osp.join(SHARED, 'data', 'real_hazy'),
]


def parse_folder(text: str):
    name, _, spec = text.partition('=')
    path, *bounds = spec.split(':')
    if not name or len(bounds) not in (0, 2):
        raise argparse.ArgumentTypeError(f'--folder NAME=DIR[:FIRST:LAST], got {text!r}')
    return name, path, (slice(int(bounds[0]), int(bounds[1])) if bounds else slice(None))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--folder', type=parse_folder, action='append')
    parser.add_argument('--gate', type=float, nargs=2, default=(0.15, 0.55))
    args = parser.parse_args(argv)
    prior = DarkChannelPrior()  # the shipped base's patch and top_fraction (He et al.'s)
    gate = HazeStrengthGate(*args.gate)
    print(f'HazeStrengthGate(low={args.gate[0]}, high={args.gate[1]})\n')
    print('| photos | count | median dark channel: 10 / 50 / 75 / 95 % / max | gate strength: '
          'mean | share with strength 0 | share with strength 1 |')
    print('| --- | --- | --- | --- | --- | --- |')
    details = []
    for name, path, picked in (args.folder or [parse_folder(f) for f in FOLDERS]):
        medians, strengths = [], []
        for image_path in scan_images(path)[picked]:
            x = torch.from_numpy(read_rgb(image_path)).permute(2, 0, 1)[None].float() / 255
            normalised = prior.normalised_dark_channel(x, prior.airlight(x))
            medians.append(float(dark_median(normalised)))
            strengths.append(float(gate(normalised)))
            details.append(f'{name}: {osp.basename(image_path)} median {medians[-1]:.3f}, '
                           f'strength {strengths[-1]:.2f}')
        m, g = np.array(medians), np.array(strengths)
        quantiles = ' / '.join(f'{v:.3f}' for v in np.percentile(m, [10, 50, 75, 95, 100]))
        print(f'| {name} | {len(m)} | {quantiles} | {g.mean():.3f} | {np.mean(g == 0):.2f} | '
              f'{np.mean(g == 1):.2f} |')
    print('\n' + '\n'.join(details))


if __name__ == '__main__':
    main()
