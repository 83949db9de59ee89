"""Per-iteration time and peak memory of BiLaLoRA steps vs baselines, measured in one run.

Variants (the shipped base's architecture -- DCP + DehazeFormer-t-conv -- or the deployed DEA-Net,
with their BiLaLoRA configs' search spaces; H2C loss with the ViT-B-32 architecture; random
weights; random hazy-looking batches, on which the shipped base's haze gate is open):

(a) full fine-tuning: every generator weight trainable, one lower pass, Adam step;
(b) LoRA on the whole search space (no gates), one lower pass;
(c) BiLaLoRA search iteration in Algorithm 1's order (``update_order='paper'``: gate step, then
    the LoRA step at the updated gates; 3 forward + 3 backward passes);
(s) BiLaLoRA search iteration in the simultaneous order (``update_order='simultaneous'``, an
    approximation: 2 forward + 2 backward passes);
(d) BiLaLoRA fine-tune iteration (the config's top-3 example blocks kept, one lower pass);
(e) the authors' search procedure in their order: ``Architect.step`` (upper forward/backward,
    lower forward, df/d(w, alpha) by autograd, the implicit term by a second autograd pass, gate
    step), then the lower forward/backward for the LoRA step: 3 forward, 4 backward.

Timing (``timing.interleaved_times``): every variant is built in one process (one shared frozen
CLIP) and their repetitions are interleaved (a b c s d e, a b c s d e, ...) after one warm-up
round, so load changes on a shared machine hit all variants alike; the table gives the median of
``--repeats`` rounds (>= 5) with the spread (min - max), and each ratio is the median over rounds
of the per-round ratio. Peak memory: on CUDA the peak allocated during each variant's steps (same
process); on CPU the peak RSS of a separate process per variant running one warm-up and one step
(``--no-memory`` skips it).

Drift: (c) and (s) start from the same weights and see the same batches, so after the run their
LoRA weights and gates differ only by the update order; the drift is printed as a share of the
distance Algorithm 1 moved them (LoRA lr ``--lora-lr``, gate lr ``--gate-lr``: demo-scale by
default, the rates at which the order matters).

    python benchmarks/bilevel_step.py [--network dehazeformer-t|dea-net] [--batch 2] [--size 224]
                                      [--repeats 5] [--device cpu|cuda] [--no-memory]
"""
import argparse
import json
import os
import subprocess
import sys
import warnings

from timing import interleaved_times, peak_memory_mb

VARIANTS = {
    'a': ('full fine-tuning', '1 + 1'),
    'b': ('LoRA, whole search space', '1 + 1'),
    'c': ("BiLaLoRA search, Algorithm 1's order", '3 + 3'),
    's': ('BiLaLoRA search, simultaneous order', '2 + 2'),
    'd': ('BiLaLoRA fine-tune (top-3 blocks)', '1 + 1'),
    'e': ("authors' search procedure, their order", '3 + 4'),
}
NETWORKS = {
    'dehazeformer-t': dict(config='bilalora/dehazeformer_rtts.py',
                           kept=['network.layer3.blocks.0', 'network.layer3.blocks.1',
                                 'network.layer3.blocks.2']),
    'dea-net': dict(config='bilalora/dea-net_rtts.py',
                    kept=['level3_block1', 'level3_block2', 'level3_block3']),
}
RATIOS = (('c', 'b', 'search (paper order) / LoRA step'),
          ('s', 'b', 'search (simultaneous) / LoRA step'),
          ('c', 'e', "search (paper order) / authors' search"),
          ('s', 'e', "search (simultaneous) / authors' search"),
          ('d', 'a', 'fine-tune / full fine-tuning'))


def build(variant: str, network: str, device: str, lora_lr: float, gate_lr: float):
    """(generator, optimizer or LayerPositioningOptimWrapper) of one variant."""
    import torch
    from mmagic.registry import MODELS
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper

    from mmbilalora.engine.optimizers import (LayerPositioningOptimWrapper,
                                              split_lora_and_gate_params)
    from mmbilalora.models.lora import inject_lora, remove_lora
    from mmbilalora.utils import model_zoo
    spec = NETWORKS[network]
    cfg = Config.fromfile(model_zoo.config_path(spec['config']))
    torch.manual_seed(0)
    net = MODELS.build(cfg.model.generator).to(device)
    if variant == 'a':
        return net, torch.optim.Adam(net.parameters(), lr=lora_lr)
    lora_cfg = dict(cfg.model.lora_cfg, gate=variant != 'b', verbose=False)
    report = inject_lora(net, **lora_cfg)
    net.to(device)
    if variant == 'd':
        remove_lora(net, blocks=[b.block for b in report.blocks if b.block not in spec['kept']])
    lora, gates = split_lora_and_gate_params(net)
    if variant == 'b':
        return net, torch.optim.Adam(lora, lr=lora_lr)
    wrapper = LayerPositioningOptimWrapper(
        lora=OptimWrapper(torch.optim.Adam(lora, lr=lora_lr), clip_grad=dict(max_norm=5.0)),
        gate=OptimWrapper(torch.optim.AdamW(gates, lr=gate_lr, betas=(0.5, 0.999),
                                            weight_decay=1e-3)),
        update_order='simultaneous' if variant == 's' else 'paper')
    if variant == 'd':
        for g in gates:
            g.requires_grad_(False)
    return net, wrapper


def authors_search_step(net, loss, wrapper, upper, lower) -> None:
    """The authors' order: gate step first (their Architect.step), then the LoRA step."""
    import torch
    lora, gates = wrapper.lora_params, wrapper.gate_params
    eta = wrapper['lora'].optimizer.param_groups[0]['lr']
    wrapper['gate'].optimizer.zero_grad()
    loss(net(upper), upper).backward()  # forward 1, backward 1
    dalpha = [g.grad.clone() for g in gates]
    params = lora + gates
    vector = [p.grad.clone() for p in params]
    net.zero_grad()
    lower_loss = loss(net(lower), lower)  # forward 2
    dfy = torch.autograd.grad(lower_loss, params, retain_graph=True)  # backward 2
    gfyfy = sum((f * f).sum() for f in dfy)
    gFyfy = sum((F * f).sum() for f, F in zip(dfy, vector))
    implicit = torch.autograd.grad(-gFyfy / (gfyfy + 1e-8) * lower_loss, gates)  # backward 3
    for g, d, i in zip(gates, dalpha, implicit):
        g.grad = d - eta * i
    wrapper['gate'].optimizer.step()
    wrapper['lora'].optimizer.zero_grad()
    loss(net(lower), lower).backward()  # forward 3, backward 4
    torch.nn.utils.clip_grad_norm_(lora, 5.0)
    wrapper['lora'].optimizer.step()


def make_step(variant, net, opt, loss, upper, lower):
    def step():
        if variant in ('a', 'b'):
            opt.zero_grad()
            loss(net(lower), lower).backward()
            opt.step()
        elif variant in ('c', 's'):
            opt.bilevel_step(lambda: loss(net(upper), upper), lambda: loss(net(lower), lower))
        elif variant == 'd':
            opt.lower_step(lambda: loss(net(lower), lower))
        else:
            authors_search_step(net, loss, opt, upper, lower)
    return step


def setup(args):
    """Shared loss and batches (the same for every variant)."""
    import torch
    from mmengine.registry import init_default_scope

    from mmbilalora.models.losses import CLIPHazeClearLoss
    init_default_scope('mmagic')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loss = CLIPHazeClearLoss('ViT-B-32', pretrained=None).to(args.device)
    g = torch.Generator().manual_seed(1)
    shape = (args.batch, 3, args.size, args.size)
    # Hazy-looking random batches in [-1, 1] (bright, low contrast): the shipped base's haze gate
    # opens on them (on plain noise it stays shut and no gradient reaches its network).
    upper = (0.3 + 0.7 * torch.rand(shape, generator=g)).to(args.device)
    lower = (0.3 + 0.7 * torch.rand(shape, generator=g)).to(args.device)
    return loss, upper, lower


def measure_memory(args, variant: str) -> float:
    """Peak RSS (MB) of one warm-up and one step of ``variant`` in this (fresh) process."""
    loss, upper, lower = setup(args)
    net, opt = build(variant, args.network, args.device, args.lora_lr, args.gate_lr)
    step = make_step(variant, net, opt, loss, upper, lower)
    step()
    step()
    return peak_memory_mb('cpu')  # never reset: the process's peak


def lora_and_gates(net):
    from mmbilalora.engine.optimizers import split_lora_and_gate_params
    lora, gates = split_lora_and_gate_params(net)
    return [p.detach().clone() for p in lora], [p.detach().clone() for p in gates]


def relative_drift(start, paper, other) -> float:
    import torch
    moved = torch.cat([(p - s).flatten() for p, s in zip(paper, start)]).norm()
    drift = torch.cat([(o - p).flatten() for o, p in zip(other, paper)]).norm()
    return float(drift / moved) if moved > 0 else float('nan')


def run(args) -> dict:
    loss, upper, lower = setup(args)
    built = {v: build(v, args.network, args.device, args.lora_lr, args.gate_lr)
             for v in VARIANTS}
    start = lora_and_gates(built['c'][0])
    steps = {v: make_step(v, *built[v], loss, upper, lower) for v in VARIANTS}

    def progress(index, rounds):  # round 0: warm-up
        print(f'round {index}/{rounds - 1} done' + ('' if index else ' (warm-up)'),
              file=sys.stderr, flush=True)

    measured = interleaved_times(steps, args.repeats, args.device, warmup=1, track_peak=True,
                                 progress=progress)
    paper, simultaneous = lora_and_gates(built['c'][0]), lora_and_gates(built['s'][0])
    drift = dict(iterations=args.repeats + 1,
                 lora=relative_drift(start[0], paper[0], simultaneous[0]),
                 gates=relative_drift(start[1], paper[1], simultaneous[1]))
    return dict(measured=measured, drift=drift)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--network', choices=sorted(NETWORKS), default='dehazeformer-t')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--repeats', type=int, default=5, help='timed rounds (>= 5)')
    parser.add_argument('--lora-lr', type=float, default=5e-5)
    parser.add_argument('--gate-lr', type=float, default=1e-2)
    parser.add_argument('--device', default=None)
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-RSS processes')
    parser.add_argument('--json', help='also write the measurements to this JSON file')
    parser.add_argument('--memory-of', choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error('--repeats must be >= 5 (medians of at least 5 rounds)')
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.memory_of:
        print(json.dumps(dict(peak_mb=measure_memory(args, args.memory_of))))
        return
    result = run(args)
    measured = result.pop('measured')
    result.update(times=measured.times, peaks=measured.peaks_mb)
    if args.device != 'cuda' and not args.no_memory:
        for v in VARIANTS:
            out = subprocess.run([sys.executable, __file__, '--memory-of', v, '--network',
                                  args.network, '--batch', str(args.batch), '--size',
                                  str(args.size), '--device', args.device],
                                 capture_output=True, text=True, check=True,
                                 env=dict(os.environ, PYTHONWARNINGS='ignore'))
            result['peaks'][v] = json.loads(out.stdout.strip().splitlines()[-1])['peak_mb']
    memory = 'peak allocated (MB)' if args.device == 'cuda' else 'peak RSS (MB)'
    print(f'{args.network} + H2C (ViT-B-32 architecture, random weights), batch {args.batch} at '
          f'{args.size}x{args.size}, {args.device}; {args.repeats} interleaved rounds after one '
          'warm-up round')
    print(f'| variant | forward + backward passes | median time / iteration (s) | min - max (s) '
          f'| {memory} |')
    print('| --- | --- | --- | --- | --- |')
    for key, (name, passes) in VARIANTS.items():
        t = measured.spread(key)
        peak = result['peaks'].get(key)
        peak_text = f'{peak:.0f}' if peak is not None else '-'
        print(f'| ({key}) {name} | {passes} | {t.median:.3f} | {t.low:.3f} - {t.high:.3f} | '
              f'{peak_text} |')
    print()
    print('| ratio | median over rounds | min - max |')
    print('| --- | --- | --- |')
    ratios = {}
    for num, den, what in RATIOS:
        r = measured.ratio(num, den)
        ratios[f'{num}/{den}'] = r.median
        print(f'| ({num})/({den}) {what} | {r.median:.3f} | {r.low:.3f} - {r.high:.3f} |')
    drift = result['drift']
    print()
    print(f"Drift of the simultaneous order from Algorithm 1 after {drift['iterations']} "
          f'iterations (LoRA Adam lr {args.lora_lr:g}, gate AdamW lr {args.gate_lr:g}, same '
          f"start and batches): LoRA weights {100 * drift['lora']:.1f} % of the distance "
          f"Algorithm 1 moved them, gates {100 * drift['gates']:.1f} %.")
    if args.json:
        from mmbilalora.utils.atomic_io import atomic_dump_json
        atomic_dump_json(dict(args=vars(args), ratios=ratios, **result), args.json)


if __name__ == '__main__':
    main()
