"""Controlled domain shift: pretrain on haze A, adapt to haze B from hazy B images only.

Haze A: the shipped base checkpoint's pretraining haze (grey or natural airlight, depth-like
layouts, mild noise) on ``clear_pristine`` photos 11-90. Haze B: the demo's target haze
(coloured, finely non-homogeneous, sensor noise, JPEG). Adaptation data: hazy-B versions of
scikit-image's photos (no references used, except by the supervised upper bound); evaluation:
hazy-B versions of the held-out ``clear_pristine`` photos 01-10 with their references
(PSNR/SSIM), plus FADE/NIQE of the same models on the real hazy photos of
``../shared/data/real_hazy``.

Methods, each with the same iteration budget, batch and crops:
  base; BiLaLoRA (H2C: search -> top-3 -> fine-tune); LoRA on the whole search space (H2C);
  full fine-tuning (H2C); supervised fine-tuning on B (L1 with references; upper bound).

    python benchmarks/research/domain_shift.py [--iters 200] [--search 70] [--batch 4] [--crop 128]
        [--augment-views 8] [--methods bilalora ...] [--update-order paper|simultaneous]
        [--out work_dirs/domain_shift.json] [--figure docs/domain_shift.png]

Every H2C method uses the same ``CLIPHazeClearLoss`` (``--augment-views 0``: whole images, as in
the paper; the default 8 random views, see the loss's docstring).
    python benchmarks/research/domain_shift.py --from-json work_dirs/domain_shift.json \
        --figure F.png
"""
import argparse
import copy
import json
import os.path as osp
import time

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED = osp.join(osp.dirname(ROOT), 'shared')
# The LoRA of configs/bilalora/dehazeformer_rtts.py on the shipped base (a PriorRefinedDehazer
# whose DehazeFormer is ``network``): every block, no depthwise convs, r = 4.
SEARCH_SPACE = dict(search_space=[f'network.layer{i}.blocks.*' for i in range(1, 6)], r=4,
                    lora_alpha=8,
                    targets=dict(types=('Conv2d', 'Linear'), exclude=('*meta*', 'attn.conv')))
METHODS = {'bilalora': 'BiLaLoRA (H2C)', 'lora_all': 'LoRA, whole search space (H2C)',
           'full': 'full fine-tuning (H2C)', 'supervised': 'supervised fine-tuning on B'}


def crops(images, pairs, batch, size, rng):
    """A random batch of aligned crops (N, 3, size, size) in [-1, 1] from (hazy[, clear])."""
    out_h, out_c = [], []
    for _ in range(batch):
        k = rng.integers(len(images))
        hazy = images[k]
        top = rng.integers(0, hazy.shape[0] - size + 1)
        left = rng.integers(0, hazy.shape[1] - size + 1)
        out_h.append(hazy[top:top + size, left:left + size])
        if pairs is not None:
            out_c.append(pairs[k][top:top + size, left:left + size])

    def tensor(arrays):
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 127.5 - 1

    return tensor(out_h), (tensor(out_c) if pairs is not None else None)


def train(method, net, loss_fn, hazy, clear, args, rng):
    """Adapt ``net`` in place with ``method``; returns the kept blocks (BiLaLoRA) or None."""
    from mmengine.optim import OptimWrapper

    from mmbilalora.engine.hooks import rank_gates
    from mmbilalora.engine.optimizers import (LayerPositioningOptimWrapper,
                                              split_lora_and_gate_params)
    from mmbilalora.models.lora import inject_lora, layer_gates, remove_lora

    def h2c(x):
        return loss_fn(net(x), x)

    if method == 'supervised':
        opt = torch.optim.Adam(net.parameters(), lr=args.lr_full_supervised)
        for _ in range(args.iters):
            x, y = crops(hazy, clear, args.batch, args.crop, rng)
            opt.zero_grad()
            (net(x) - y).abs().mean().backward()
            opt.step()
        return None
    if method == 'full':
        opt = torch.optim.Adam(net.parameters(), lr=args.lr_full)
        for _ in range(args.iters):
            x, _ = crops(hazy, None, args.batch, args.crop, rng)
            opt.zero_grad()
            h2c(x).backward()
            opt.step()
        return None
    if method == 'lora_all':
        inject_lora(net, gate=False, verbose=False, **SEARCH_SPACE)
        lora, _ = split_lora_and_gate_params(net)
        opt = torch.optim.Adam(lora, lr=args.lr_lora)
        for _ in range(args.iters):
            x, _ = crops(hazy, None, args.batch, args.crop, rng)
            opt.zero_grad()
            h2c(x).backward()
            torch.nn.utils.clip_grad_norm_(lora, 5.0)
            opt.step()
        return None
    # BiLaLoRA: the images split once into lower / upper halves.
    inject_lora(net, gate=True, verbose=False, **SEARCH_SPACE)
    lora, gates = split_lora_and_gate_params(net)
    wrapper = LayerPositioningOptimWrapper(
        lora=OptimWrapper(torch.optim.Adam(lora, lr=args.lr_lora), clip_grad=dict(max_norm=5.0)),
        gate=OptimWrapper(torch.optim.AdamW(gates, lr=args.lr_gate, betas=(0.5, 0.999),
                                            weight_decay=1e-3)),
        update_order=args.update_order)
    order = rng.permutation(len(hazy))
    upper, lower = [hazy[i] for i in order[::2]], [hazy[i] for i in order[1::2]]
    for _ in range(args.search):
        xu, _ = crops(upper, None, args.batch, args.crop, rng)
        xl, _ = crops(lower, None, args.batch, args.crop, rng)
        wrapper.bilevel_step(lambda: h2c(xu), lambda: h2c(xl))
    info = rank_gates({b: float(g().detach()) for b, g in layer_gates(net).items()}, 3)
    dropped = [b for b in layer_gates(net) if b not in info['selected']]
    lora_dropped = [p for n, p in net.named_parameters()
                    if any(n.startswith(b + '.') for b in dropped)]
    remove_lora(net, blocks=dropped)
    wrapper.drop_params(lora_dropped)
    for g in layer_gates(net).values():
        g.alpha.requires_grad_(False)
    for _ in range(args.iters - args.search):
        xl, _ = crops(hazy, None, args.batch, args.crop, rng)
        wrapper.lower_step(lambda: h2c(xl))
    return info


@torch.no_grad()
def evaluate(net, eval_hazy, eval_clear, real, fade_models):
    from mmagic.evaluation.metrics.niqe import niqe
    from mmagic.evaluation.metrics.psnr import psnr
    from mmagic.evaluation.metrics.ssim import ssim

    from mmbilalora.apis import Dehazer, dehaze_array
    from mmbilalora.evaluation import fade
    from mmbilalora.models.data_preprocessors import PixelConvention
    from mmbilalora.models.lora import merge_lora

    # A Dehazer's adapter bank needs a plain model: evaluate a merged copy (LoRA folded in).
    dehazer = Dehazer(merge_lora(net).eval(), PixelConvention.symmetric(127.5, 127.5))
    outs = [dehaze_array(dehazer, h, tile=None) for h in eval_hazy]
    real_outs = [dehaze_array(dehazer, r, tile=None) for r in real]
    result = dict(
        PSNR=float(np.mean([psnr(o, c, crop_border=0) for o, c in zip(outs, eval_clear)])),
        SSIM=float(np.mean([ssim(o, c, crop_border=0) for o, c in zip(outs, eval_clear)])),
        NIQE_real=float(np.mean([niqe(o[..., ::-1].copy(), crop_border=0, convert_to='gray')
                                 for o in real_outs])))
    if fade_models is not None:
        result['FADE_real'] = float(np.mean([fade(o, fade_models) for o in real_outs]))
    return result


def print_table(report: dict) -> None:
    args = report['args']
    keys = ['PSNR', 'SSIM', 'FADE_real', 'NIQE_real']
    print(f'Guidance: {report["guidance"]}; {args["iters"]} iterations, batch {args["batch"]}, '
          f'{args["crop"]}x{args["crop"]} crops, {args.get("augment_views", 0)} H2C views, '
          f'LoRA lr {args["lr_lora"]:g}')
    print('| model | PSNR (B) | SSIM (B) | FADE (real) | NIQE (real) |')
    print('| --- | --- | --- | --- | --- |')
    for title, r in report['results'].items():
        print(f'| {title} | ' + ' | '.join(f'{r[k]:.3f}' if k in r else '-' for k in keys) + ' |')


def plot(report: dict, path: str) -> None:
    """Bar charts of PSNR on haze B and FADE on the real photos, one bar per model."""
    import io

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmbilalora.utils.atomic_io import atomic_write_bytes
    rows = report['results']
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100)
    for ax, key, label in ((axes[0], 'PSNR', 'PSNR on held-out haze-B images (dB)'),
                           (axes[1], 'FADE_real', 'FADE on real hazy photos (lower = less fog)')):
        names = [n for n in rows if key in rows[n]]
        ax.barh(names, [rows[n][key] for n in names], color='tab:blue')
        ax.set_title(label, fontsize=9)
        ax.invert_yaxis()
        ax.tick_params(labelsize=8)
    fig.suptitle(f'Domain shift A -> B; guidance: {report["guidance"][:70]}', fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png')
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=200)
    parser.add_argument('--search', type=int, default=70)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--crop', type=int, default=128)
    parser.add_argument('--lr-lora', type=float, default=5e-5)
    parser.add_argument('--lr-gate', type=float, default=1e-2)
    parser.add_argument('--lr-full', type=float, default=1e-5)
    parser.add_argument('--lr-full-supervised', type=float, default=1e-4)
    parser.add_argument('--augment-views', type=int, default=8)
    parser.add_argument('--update-order', choices=('paper', 'simultaneous'), default='paper',
                        help="BiLaLoRA's search step: Algorithm 1's order or the approximation")
    parser.add_argument('--methods', nargs='+', choices=tuple(METHODS), default=list(METHODS),
                        help='adaptation methods to run (default: all; the base always runs)')
    parser.add_argument('--out', default=osp.join(ROOT, 'work_dirs', 'domain_shift.json'))
    parser.add_argument('--figure', default=osp.join(ROOT, 'docs', 'domain_shift.png'))
    parser.add_argument('--from-json', help='only print and plot a previous run')
    args = parser.parse_args()
    if args.from_json:
        report = json.load(open(args.from_json))
        print_table(report)
        plot(report, args.figure)
        return

    import cv2

    from mmbilalora.apis import load_dehazer
    from mmbilalora.datasets import scan_images
    from mmbilalora.datasets.sample_images import degrade_to_target, load_skimage_photos
    from mmbilalora.evaluation import load_fade_models
    from mmbilalora.models.guidance import choose_guidance
    from mmbilalora.models.losses import CLIPHazeClearLoss
    from mmbilalora.utils.atomic_io import atomic_dump_json
    from mmbilalora.utils.image_io import read_rgb
    clip_model, pretrained, source = choose_guidance()
    loss_fn = CLIPHazeClearLoss(clip_model, pretrained, input_range=(-1, 1),
                                augment_views=args.augment_views)

    def fit(image, side=320):
        scale = side / max(image.shape[:2])
        size = (round(image.shape[1] * scale) // 4 * 4, round(image.shape[0] * scale) // 4 * 4)
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    train_clear = [fit(p) for p in load_skimage_photos().values()]
    train_hazy, train_pairs = [], []
    for i, clear in enumerate(train_clear):
        for k in range(4):
            train_hazy.append(degrade_to_target(clear, f'train{i}_{k}', 11))
            train_pairs.append(clear)
    eval_clear = [fit(read_rgb(p)) for p in scan_images(
        osp.join(SHARED, 'data', 'clear_pristine'))[:10]]
    eval_hazy = [degrade_to_target(c, f'eval{i}', 12) for i, c in enumerate(eval_clear)]
    real = [read_rgb(p) for p in scan_images(osp.join(SHARED, 'data', 'real_hazy'))]
    fade_dir = osp.join(SHARED, 'fade')
    fade_models = load_fade_models(fade_dir) if osp.isdir(fade_dir) else None

    base = load_dehazer().generator.train()  # the shipped base
    results = {'hazy input (B)': None}
    from mmagic.evaluation.metrics.psnr import psnr
    from mmagic.evaluation.metrics.ssim import ssim
    results['hazy input (B)'] = dict(
        PSNR=float(np.mean([psnr(h, c, crop_border=0) for h, c in zip(eval_hazy, eval_clear)])),
        SSIM=float(np.mean([ssim(h, c, crop_border=0) for h, c in zip(eval_hazy, eval_clear)])))
    print(f'guidance: {source}', flush=True)
    start = time.time()
    results['base'] = evaluate(base, eval_hazy, eval_clear, real, fade_models)
    print('base', results['base'], flush=True)
    for method in args.methods:
        title = METHODS[method]
        torch.manual_seed(0)
        net = copy.deepcopy(base)
        info = train(method, net, loss_fn, train_hazy, train_pairs, args,
                     np.random.default_rng(0))
        results[title] = evaluate(net, eval_hazy, eval_clear, real, fade_models)
        if info is not None:
            results[title]['kept_blocks'] = info['selected']
        print(title, results[title], f'({time.time() - start:.0f} s)', flush=True)
    report = dict(results=results, guidance=source, args=vars(args))
    atomic_dump_json(report, args.out)
    print_table(report)
    plot(report, args.figure)


if __name__ == '__main__':
    main()
