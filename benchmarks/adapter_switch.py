"""Switching adapters in a bank vs reloading the base with the other adapter, in one run.

    python benchmarks/adapter_switch.py [--repeats 20]

Two adapters on the shipped base (``load_dehazer()``), as BiLaLoRA writes them for it: the LoRA of
``configs/bilalora/dehazeformer_rtts.py`` on every block of its search space
(``network.layer{1..5}.blocks.*``), random values. Prints the median time (``timing.median_time``,
one warm-up call) of ``dehazer.adapters.activate`` alternating between them and of what switching
costs without a bank (``load_dehazer(adapter=...)``: the base reloaded with the other adapter),
and their ratio.
"""
import argparse
import itertools
import os.path as osp
import tempfile

import torch
from mmengine.config import Config

from mmbilalora.apis import load_dehazer
from mmbilalora.models.lora import extract_adapter, inject_lora, lora_layers, save_adapter
from mmbilalora.utils import model_zoo

from timing import median_time

BILALORA_CONFIG = 'bilalora/dehazeformer_rtts.py'


def make_adapter(path: str, seed: int) -> None:
    """An adapter of the shipped base on the whole search space, random LoRA values."""
    generator = load_dehazer().generator
    lora_cfg = dict(Config.fromfile(model_zoo.config_path(BILALORA_CONFIG)).model.lora_cfg,
                    gate=False, verbose=False)
    inject_lora(generator, **lora_cfg)
    torch.manual_seed(seed)
    with torch.no_grad():
        for layer in lora_layers(generator).values():
            layer.lora_B.normal_(0, 0.01)
    save_adapter(extract_adapter(generator), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: osp.join(tmp, f'{name}.pth') for name in ('day', 'night')}
        for seed, path in enumerate(paths.values()):
            make_adapter(path, seed)
        dehazer = load_dehazer(adapters=paths)
        names = itertools.cycle(paths)
        switch = median_time(lambda: dehazer.adapters.activate(next(names)), args.repeats)
        reloading = median_time(lambda: load_dehazer(adapter=paths['night']),
                                max(3, args.repeats // 4))
    print(f'adapters.activate (bank): {switch * 1e3:.1f} ms; reload base + adapter: '
          f'{reloading * 1e3:.1f} ms; ratio {switch / reloading:.3f} (1 thread, median)')


if __name__ == '__main__':
    main()
