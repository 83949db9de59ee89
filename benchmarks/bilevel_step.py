"""Per-iteration time and peak memory of BiLaLoRA steps vs baselines, measured in one run.

Variants (DehazeFormer-t or the deployed DEA-Net, H2C loss with the ViT-B-32 architecture,
batch 4 at 256x256):

(a) full fine-tuning: every generator weight trainable, one lower pass, Adam step;
(b) LoRA on the whole search space (no gates), one lower pass;
(c) BiLaLoRA search iteration (``LayerPositioningOptimWrapper.bilevel_step``: 2 forward +
    2 backward passes);
(d) BiLaLoRA fine-tune iteration (top-3 blocks kept, one lower pass; level-3 blocks);
(e) the authors' search procedure: a lower pass for the LoRA update, an upper pass, then the
    lower forward again with two backward passes (df/dw and df/dalpha): 3 forward, 4 backward.

Each variant runs in its own process so that its peak memory (peak RSS on CPU, peak allocated
on CUDA) is its own. Prints the table and the ratios (c)/(b), (c)/(e), (d)/(a).

    python benchmarks/bilevel_step.py [--network dehazeformer-t|dea-net] [--batch 4]
                                      [--size 256] [--iters 3] [--device cpu]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

VARIANTS = {
    'a': 'full fine-tuning',
    'b': 'LoRA, whole search space',
    'c': 'BiLaLoRA search iteration',
    'd': 'BiLaLoRA fine-tune iteration',
    'e': "authors' search procedure",
}
NETWORKS = {
    'dehazeformer-t': dict(
        generator=dict(type='DehazeFormer', arch='t'),
        lora=dict(search_space=['layer*.blocks.*'], targets=dict(exclude=('*meta*', ))),
        kept=['layer3.blocks.0', 'layer3.blocks.1', 'layer3.blocks.2']),
    'dea-net': dict(
        generator=dict(type='DEANet', deploy=True),
        lora=dict(search_space=[f'down_level1_block{i}' for i in range(1, 5)]
                  + [f'down_level2_block{i}' for i in range(1, 5)]
                  + [f'level3_block{i}' for i in range(1, 9)],
                  targets=dict(types=('Conv2d', ), recursive=False)),
        kept=['level3_block1', 'level3_block2', 'level3_block3']),
}


def build(variant: str, network: str, device: str):
    import torch
    from mmagic.registry import MODELS
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope

    from mmbilalora.engine.optimizers import (LayerPositioningOptimWrapper,
                                              split_lora_and_gate_params)
    from mmbilalora.models.losses import CLIPHazeClearLoss
    from mmbilalora.models.lora import inject_lora, remove_lora
    init_default_scope('mmagic')
    torch.manual_seed(0)
    spec = NETWORKS[network]
    net = MODELS.build(spec['generator']).to(device)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loss = CLIPHazeClearLoss('ViT-B-32', pretrained=None).to(device)
    if variant == 'a':
        return net, loss, torch.optim.Adam(net.parameters(), lr=1e-6)
    report = inject_lora(net, r=8, lora_alpha=16, gate=variant != 'b', verbose=False,
                         **spec['lora'])
    net.to(device)
    if variant == 'd':
        remove_lora(net, blocks=[b.block for b in report.blocks if b.block not in spec['kept']])
    lora, gates = split_lora_and_gate_params(net)
    if variant == 'b':
        return net, loss, torch.optim.Adam(lora, lr=1e-6)
    wrapper = LayerPositioningOptimWrapper(
        lora=OptimWrapper(torch.optim.Adam(lora, lr=1e-6), clip_grad=dict(max_norm=5.0)),
        gate=OptimWrapper(torch.optim.AdamW(gates, lr=3e-4, betas=(0.5, 0.999),
                                            weight_decay=1e-3)))
    if variant == 'd':
        for g in gates:
            g.requires_grad_(False)
    return net, loss, wrapper


def authors_search_step(net, loss, wrapper, upper, lower) -> None:
    """3 forward / 4 backward passes: lower update, upper grads, lower grads recomputed twice."""
    import torch
    lora, gates = wrapper.lora_params, wrapper.gate_params
    wrapper.zero_grad()
    loss(net(lower), lower).backward()  # 1st forward/backward: the LoRA update
    wrapper['lora'].optimizer.step()
    wrapper.zero_grad()
    upper_loss = loss(net(upper), upper)  # 2nd forward
    dF = torch.autograd.grad(upper_loss, lora + gates, allow_unused=True)  # 2nd backward
    lower_loss = loss(net(lower), lower)  # 3rd forward
    df_w = torch.autograd.grad(lower_loss, lora, retain_graph=True)  # 3rd backward
    df_a = torch.autograd.grad(lower_loss, gates)  # 4th backward
    n = len(lora)
    dot = sum((a * b).sum() for a, b in zip(dF[:n], df_w) if a is not None)
    ratio = dot / (sum((b * b).sum() for b in df_w) + 1e-12)
    for g, a, b in zip(gates, dF[n:], df_a):
        g.grad = a - ratio * b
    wrapper['gate'].optimizer.step()


def run_variant(variant: str, network: str, batch: int, size: int, iters: int,
                device: str) -> dict:
    import torch
    net, loss, opt = build(variant, network, device)
    upper = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    lower = torch.rand(batch, 3, size, size, device=device) * 2 - 1

    def step():
        if variant in ('a', 'b'):
            opt.zero_grad()
            loss(net(lower), lower).backward()
            opt.step()
        elif variant == 'c':
            opt.bilevel_step(lambda: loss(net(upper), upper), lambda: loss(net(lower), lower))
        elif variant == 'd':
            opt.lower_step(lambda: loss(net(lower), lower))
        else:
            authors_search_step(net, loss, opt, upper, lower)
        if device == 'cuda':
            torch.cuda.synchronize()

    step()  # warm-up
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak_mb = (torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda' else
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return dict(time=min(times), peak_mb=peak_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--network', choices=sorted(NETWORKS), default='dehazeformer-t')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--device', default=None)
    parser.add_argument('--variant', choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.variant:
        import mmbilalora  # noqa: F401
        print(json.dumps(run_variant(args.variant, args.network, args.batch, args.size,
                                     args.iters, args.device)))
        return
    results = {}
    for variant in VARIANTS:
        out = subprocess.run([sys.executable, __file__, '--variant', variant, '--network',
                              args.network, '--batch',
                              str(args.batch), '--size', str(args.size), '--iters',
                              str(args.iters), '--device', args.device],
                             capture_output=True, text=True, check=True,
                             env=dict(os.environ, PYTHONWARNINGS='ignore'))
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    memory = 'peak allocated (MB)' if args.device == 'cuda' else 'peak RSS (MB)'
    print(f'{args.network} + H2C (ViT-B-32), batch {args.batch} at {args.size}x{args.size}, '
          f'{args.device}, fastest of {args.iters} iterations')
    print(f'| variant | time / iteration (s) | {memory} |')
    print('| --- | --- | --- |')
    for key, name in VARIANTS.items():
        r = results[key]
        print(f'| ({key}) {name} | {r["time"]:.3f} | {r["peak_mb"]:.0f} |')
    t = {k: r['time'] for k, r in results.items()}
    print(f'(c)/(b) = {t["c"] / t["b"]:.3f}  (goal <= 2.1)')
    print(f'(c)/(e) = {t["c"] / t["e"]:.3f}  (goal <= 0.6)')
    print(f'(d)/(a) = {t["d"] / t["a"]:.3f}  (goal <= 0.6)')


if __name__ == '__main__':
    main()
