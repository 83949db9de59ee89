"""FADE port vs the LIVE MATLAB release (GNU Octave 7.3 values), accuracy and speed in one run.

Prints, for the release's three sample images and the twelve real hazy photos of ../shared,
the reference, our value, the relative difference and the time per megapixel on one core
(fastest of ``--repeats`` calls, ``timing.repeat_times``).

    OMP_NUM_THREADS=1 python benchmarks/fade_port.py [--shared ../shared]
"""
import argparse
import importlib.util
import os
import os.path as osp

import numpy as np
from PIL import Image

from mmbilalora.evaluation import fade, load_fade_models

from timing import repeat_times

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def reference_values() -> dict:
    """The MATLAB release's values, kept with the tests (tests/helpers/fade_reference.py)."""
    spec = importlib.util.spec_from_file_location(
        'fade_reference', osp.join(ROOT, 'tests', 'helpers', 'fade_reference.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FADE_RELEASE_VALUES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = osp.join(osp.dirname(ROOT), 'shared')
    parser.add_argument('--shared', default=default_shared)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    models = load_fade_models(osp.join(args.shared, 'fade'))
    print(f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}; '
          f'fastest of {args.repeats} runs')
    print('| image | size | MATLAB | port | rel. diff | s / MP |')
    print('| --- | --- | --- | --- | --- | --- |')
    worst, speeds = 0.0, []
    for name, ref in reference_values().items():
        image = np.asarray(Image.open(osp.join(args.shared, name)).convert('RGB'))
        values = []
        best = min(repeat_times(lambda: values.append(fade(image, models)), args.repeats,
                                warmup=0))
        value = values[-1]
        rel = abs(value - ref) / ref
        worst = max(worst, rel)
        speed = best / (image.shape[0] * image.shape[1] / 1e6)
        speeds.append(speed)
        print(f'| {osp.basename(name)} | {image.shape[1]}x{image.shape[0]} | {ref:.6f} | '
              f'{value:.6f} | {rel:.4%} | {speed:.3f} |')
    print(f'worst relative difference {worst:.4%}; time per megapixel: mean '
          f'{np.mean(speeds):.3f} s, max {max(speeds):.3f} s')


if __name__ == '__main__':
    main()
