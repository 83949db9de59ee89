"""Switching adapters in a bank vs reloading the base with the other adapter, in one run.

    python benchmarks/adapter_switch.py [--repeats 20]

Two adapters (every transformer block of DehazeFormer-t, r = 8, random values, as BiLaLoRA
writes them) on the shipped base checkpoint. Prints the median time of ``set_adapter`` between
them and of what switching costs without a bank (``load_dehazer`` of the base plus
``load_adapter``), and their ratio.
"""
import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from mmbilalora.apis import load_dehazer  # noqa: E402
from mmbilalora.models.lora import (extract_adapter, inject_lora, load_adapter,  # noqa: E402
                                    lora_layers, save_adapter, set_adapter)

CONFIG = osp.join(ROOT, 'configs', 'dehazeformer', 'dehazeformer-t_synhaze.py')
CHECKPOINT = osp.join(ROOT, 'checkpoints', 'dehazeformer-t_synhaze_clear-pristine.pth')
SEARCH_SPACE = [f'layer{i}.blocks.*' for i in range(1, 6)]


def make_adapter(path: str, seed: int) -> None:
    generator = load_dehazer(CONFIG, CHECKPOINT).generator
    inject_lora(generator, SEARCH_SPACE, targets=dict(exclude=('*meta*', )), verbose=False)
    torch.manual_seed(seed)
    with torch.no_grad():
        for layer in lora_layers(generator).values():
            layer.lora_B.normal_(0, 0.01)
    save_adapter(extract_adapter(generator), path)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: osp.join(tmp, f'{name}.pth') for name in ('day', 'night')}
        for seed, path in enumerate(paths.values()):
            make_adapter(path, seed)
        dehazer = load_dehazer(CONFIG, CHECKPOINT, adapters=paths)
        names = iter(['day', 'night'] * args.repeats)
        switch = median_time(lambda: set_adapter(dehazer.generator, next(names)), args.repeats)

        def reload():
            fresh = load_dehazer(CONFIG, CHECKPOINT)
            load_adapter(fresh.generator, paths['night'])

        reloading = median_time(reload, max(3, args.repeats // 4))
    print(f'set_adapter (bank): {switch * 1e3:.1f} ms; reload base + adapter: '
          f'{reloading * 1e3:.1f} ms; ratio {switch / reloading:.3f} (1 thread, median)')


if __name__ == '__main__':
    main()
