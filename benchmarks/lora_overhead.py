"""LoRA overhead on DehazeFormer-t and NAFNet at 256x256, ratios measured in one run.

(a) training step (forward + backward + Adam step) of the LoRA-injected model with the base
    frozen, relative to a full training step of the base model;
(b) inference of the merged model (``merge_lora``) relative to the base model (goal <= 1.02:
    merging restores the original layers, so there is nothing left to cost).

Timing (``timing.interleaved_times``): base and LoRA (or merged) model alternate, one call of
each per round after one warm-up round; the times are medians over the rounds and each ratio is
the median of the per-round ratios (with its range).

    python benchmarks/lora_overhead.py [--size 256] [--batch 1] [--repeats 5]
"""
import argparse
import copy

import torch
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope

from mmbilalora.models.lora import inject_lora, merge_lora

from timing import interleaved_times

NETWORKS = {
    'DehazeFormer-t': (dict(type='DehazeFormer', arch='t'),
                       dict(search_space=['layer*.blocks.*'],
                            targets=dict(exclude=('*meta*', )))),
    'NAFNet-w32': (dict(type='NAFNet', img_channels=3, mid_channels=32, enc_blk_nums=[1, 1, 1, 2],
                        middle_blk_num=2, dec_blk_nums=[1, 1, 1, 1]),
                   dict(search_space=[dict(type='NAFBlock')])),
}


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
          f'threads, median of {args.repeats} (training) and {2 * args.repeats} (inference) '
          'interleaved rounds; r=8, lora_alpha=16, whole search space')
    print(f'{"network":16s} {"base train":>11s} {"LoRA train":>11s} {"(a) ratio":>21s} '
          f'{"base infer":>11s} {"merged":>9s} {"(b) ratio":>21s}')
    for name, (cfg, lora_cfg) in NETWORKS.items():
        base = MODELS.build(cfg).train()
        injected = copy.deepcopy(base)
        inject_lora(injected, r=8, lora_alpha=16, verbose=False, **lora_cfg)
        merged = merge_lora(injected).eval()
        train = interleaved_times(dict(base=train_step_fn(base, x),
                                       lora=train_step_fn(injected, x)), args.repeats)
        base.eval()
        infer = interleaved_times(dict(base=infer_fn(base, x), merged=infer_fn(merged, x)),
                                  2 * args.repeats)

        def ratio(measured, num):
            r = measured.ratio(num, 'base')
            return f'{r.median:.3f} ({r.low:.3f}-{r.high:.3f})'

        print(f'{name:16s} {train.spread("base").median * 1e3:9.1f}ms '
              f'{train.spread("lora").median * 1e3:9.1f}ms {ratio(train, "lora"):>21s} '
              f'{infer.spread("base").median * 1e3:9.1f}ms '
              f'{infer.spread("merged").median * 1e3:7.1f}ms {ratio(infer, "merged"):>21s}')


if __name__ == '__main__':
    main()
