"""LoRA overhead on DehazeFormer-t and NAFNet at 256x256, ratios measured in one run.

(a) training step (forward + backward + Adam step) of the LoRA-injected model with the base
    frozen, relative to a full training step of the base model;
(b) inference of the merged model (``merge_lora``) relative to the base model (goal <= 1.02:
    merging restores the original layers, so there is nothing left to cost).

    python benchmarks/lora_overhead.py [--size 256] [--batch 1] [--repeats 5]
"""
import argparse
import copy
import time

import torch
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope

import mmbilalora  # noqa: F401
from mmbilalora.models.lora import inject_lora, merge_lora

NETWORKS = {
    'DehazeFormer-t': (dict(type='DehazeFormer', arch='t'),
                       dict(search_space=['layer*.blocks.*'],
                            targets=dict(exclude=('*meta*', )))),
    'NAFNet-w32': (dict(type='NAFNet', img_channels=3, mid_channels=32, enc_blk_nums=[1, 1, 1, 2],
                        middle_blk_num=2, dec_blk_nums=[1, 1, 1, 1]),
                   dict(search_space=[dict(type='NAFBlock')])),
}


def paired_times(fn_a, fn_b, repeats: int):
    """Fastest time of each of two functions, run alternately so that drift hits both."""
    fn_a()
    fn_b()
    best_a = best_b = float('inf')
    for _ in range(repeats):
        for fn, which in ((fn_a, 'a'), (fn_b, 'b')):
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            if which == 'a':
                best_a = min(best_a, elapsed)
            else:
                best_b = min(best_b, elapsed)
    return best_a, best_b


def train_step_fn(model, x):
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-6)

    def step():
        optimizer.zero_grad(set_to_none=True)
        model(x).abs().mean().backward()
        optimizer.step()
    return step


def infer_fn(model, x):
    def run():
        with torch.no_grad():
            model(x)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    init_default_scope('mmagic')
    torch.manual_seed(0)
    x = torch.rand(args.batch, 3, args.size, args.size)
    print(f'batch {args.batch} at {args.size}x{args.size}, CPU, {torch.get_num_threads()} '
          f'threads, fastest of {args.repeats} alternating runs; r=8, lora_alpha=16, '
          'whole search space')
    print(f'{"network":16s} {"base train":>11s} {"LoRA train":>11s} {"(a) ratio":>9s} '
          f'{"base infer":>11s} {"merged":>9s} {"(b) ratio":>9s}')
    for name, (cfg, lora_cfg) in NETWORKS.items():
        base = MODELS.build(cfg).train()
        injected = copy.deepcopy(base)
        inject_lora(injected, r=8, lora_alpha=16, verbose=False, **lora_cfg)
        merged = merge_lora(injected).eval()
        t_base, t_lora = paired_times(train_step_fn(base, x), train_step_fn(injected, x),
                                      args.repeats)
        base.eval()
        i_base, i_merged = paired_times(infer_fn(base, x), infer_fn(merged, x),
                                        2 * args.repeats)
        print(f'{name:16s} {t_base * 1e3:9.1f}ms {t_lora * 1e3:9.1f}ms {t_lora / t_base:9.3f} '
              f'{i_base * 1e3:9.1f}ms {i_merged * 1e3:7.1f}ms {i_merged / i_base:9.3f}')


if __name__ == '__main__':
    main()
