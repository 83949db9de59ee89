"""Whole adaptation runs through mmengine's Runner: BiLaLoRA vs full fine-tuning, one command.

Runs, on the same unlabeled folder (generated hazy photos, or ``--data DIR``) with the same H2C
loss (``CLIPHazeClearLoss``, ViT-B-32 architecture) and random CLIP and base weights (the cost is
the same as with real ones; ``load_from`` is cleared, ``BiLaLoRAHook(require_pretrained=False)``),
the same batch, crops and number of iterations per epoch:

(i)   BiLaLoRA: the network's BiLaLoRA config (``configs/bilalora/``) -- search for
      ``--search-epochs`` epochs (``LayerPositioningOptimWrapper``, the config's update order),
      keep the top-3 blocks, or the ``--keep`` blocks (``BiLaLoRAHook(keep_blocks=...)``: with
      random CLIP weights the search's choice is noise), fine-tune for ``--finetune-epochs``;
(ii)  full fine-tuning: every generator weight, Adam, one lower pass per iteration, for
      ``--search-epochs + --finetune-epochs`` epochs on all images;
(iii) LoRA on the whole search space (no gates), Adam, same length as (ii).

An epoch is one pass over BiLaLoRA's lower half (``BilevelSplitDataset`` with upper fraction 0.5:
``images - round(images / 2)`` lower images, so ``ceil(lower / batch)`` iterations) for every run,
as the authors' code uses the same ``iters_per_epoch`` for all methods; (i) draws its pairs with
``BilevelPairSampler`` as the config does. Each run is a fresh process (its own peak memory); the
runs of one network are interleaved ``i ii iii iii ii i ...`` over ``--repeats`` so that machine
load drifts affect all alike; every number printed is the median over the repeats (with the
ratios' spread).

``--amp``: (i) runs its passes under ``torch.autocast`` (``LayerPositioningOptimWrapper(amp=True,
amp_dtype=...)``, float16 with loss scaling) on CPU and CUDA; the baselines use mmengine's
``AmpOptimWrapper``, which needs CUDA, so on CPU ``--amp`` measures (i) only (``--variants i``).

Printed per network: wall time per phase (setup = Runner, model, CLIP and optimizer building;
search; fine-tune), seconds per iteration, peak memory per phase (peak RSS of the main process
on CPU, ``torch.cuda.max_memory_allocated`` on CUDA), the ratios (i)/(ii) and (iii)/(ii) of the
training time, and a cost breakdown per iteration (data loading wait, dehazer forward and
backward, CLIP image tower forward with and without autograd and its backward, optimizer steps,
the rest) with the bounds it puts on (i)/(ii).

    python benchmarks/adaptation_time.py [--network dea-net dehazeformer-t] [--device cpu|cuda]
        [--amp float16|bfloat16] [--data DIR] [--images 10] [--batch 2] [--crop 224]
        [--search-epochs 1] [--finetune-epochs 5] [--repeats 2] [--workers 2]
        [--threads N] [--keep BLOCK ...] [--json OUT.json] [--cfg-options KEY=VALUE ...]
    python benchmarks/adaptation_time.py --from-json OUT.json   # the tables of a saved run
"""
import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Dict, List, Optional

from timing import (breakdown_clock, cpu_clock, interleaved_order, median_or_nan,
                    peak_memory_mb, reset_peak_memory, wall_clock)

NETWORKS = {
    'dea-net': dict(config='bilalora/dea-net_rtts.py', title='DEA-Net (deployed)'),
    'dehazeformer-t': dict(config='bilalora/dehazeformer_rtts.py',
                           title='the shipped base (DCP + DehazeFormer-t-conv)'),
}
VARIANTS = {
    'i': 'BiLaLoRA (search + top-3 fine-tune)',
    'ii': 'full fine-tuning',
    'iii': 'LoRA, whole search space',
}
CATEGORIES = {
    'data': 'data loading (wait for the batch)',
    'dehazer_forward': 'dehazer forward',
    'clip_forward_grad': 'CLIP image tower forward, output (autograd)',
    'clip_forward_nograd': 'CLIP image tower forward, input (no grad)',
    'clip_backward': 'CLIP image tower backward',
    'dehazer_backward': 'dehazer backward',
    'optimizer': 'optimizer steps',
    'other': 'other (preprocessing, gradient copies, hypergradient, clipping, hooks)',
}


# ------------------------------------------------------------------ measurement (child process)
def _unwrap(model):
    return getattr(model, 'module', model)


def _loss_module(model):
    """The model's unsupervised loss module."""
    import torch.nn as nn
    for name in ('unsupervised_loss', 'pixel_loss'):
        module = getattr(model, name, None)
        if isinstance(module, nn.Module):
            return module
    raise AttributeError(f'{type(model).__name__} has no loss module')


def make_timing_hook(device: str):
    """A Hook timing each training phase and splitting each iteration into :data:`CATEGORIES`.

    Phases: ``first`` (the first iteration, with its one-time costs: kernel selection, memory
    pools, worker start), then ``search`` / ``finetune`` (the model's ``phase``) for BiLaLoRA and
    ``train`` for the baselines. The last phase ends with the last iteration; ``teardown`` is the
    wall time of the other hooks' ``after_train`` (gate plot, logs). Instruments, while training:
    the generator's forward, the loss's ``encode_image`` (the CLIP image tower with its resize
    and normalisation), every ``Tensor.backward`` (split where the gradient reaches the
    generator output), and every optimizer step. The breakdown's clock is
    :func:`timing.breakdown_clock` (main-process CPU time on CPU, so the data wait is the loading
    done in the main process; synchronised wall time on CUDA).
    """
    import torch
    from mmengine.hooks import Hook
    from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                       register_optimizer_step_pre_hook)
    now = breakdown_clock(device)

    class PhaseTimingHook(Hook):
        priority = 'LOWEST'

        def __init__(self):
            self.phases: Dict[str, dict] = {}
            self.handles, self.restore = [], []
            self.phase: Optional[str] = None
            self.mark = self.setup_end = self.teardown = self.train_end = 0.0
            self.starts: Dict[str, float] = {}
            self.grad_reached: Optional[float] = None

        def _add(self, key: str, seconds: float) -> None:
            parts = self.phases[self.phase]['breakdown']
            parts[key] = parts.get(key, 0.0) + seconds

        def _open(self, phase: str) -> None:
            self.phase = phase
            reset_peak_memory(device)
            self.phases[phase] = dict(start=wall_clock(device), cpu_start=cpu_clock(),
                                      clock_start=now(), iters=0, breakdown={},
                                      passes=dict(forward=0, backward=0))

        def _close(self) -> None:
            info = self.phases[self.phase]
            info['time'] = wall_clock(device) - info.pop('start')
            info['cpu_time'] = cpu_clock() - info.pop('cpu_start')
            info['clock_time'] = now() - info.pop('clock_start')
            info['peak_mb'] = peak_memory_mb(device)
            info['breakdown']['other'] = info['clock_time'] - sum(info['breakdown'].values())

        def _instrument(self, runner) -> None:
            model = _unwrap(runner.model)
            loss = _loss_module(model)
            hook = self

            def start(key):
                def record(*args):
                    hook.starts[key] = now()
                return record

            def gen_post(module, args, output):
                hook._add('dehazer_forward', now() - hook.starts['gen'])
                hook.phases[hook.phase]['passes']['forward'] += 1
                if isinstance(output, torch.Tensor) and output.requires_grad:
                    output.register_hook(hook._on_output_grad)

            def opt_post(optimizer, args, kwargs):
                hook._add('optimizer', now() - hook.starts['opt'])

            generator = _unwrap(model.generator)
            self.handles += [generator.register_forward_pre_hook(start('gen')),
                             generator.register_forward_hook(gen_post),
                             register_optimizer_step_pre_hook(start('opt')),
                             register_optimizer_step_post_hook(opt_post)]
            encode_image = loss.encode_image

            def timed_encode_image(*args, **kwargs):
                begin = now()
                out = encode_image(*args, **kwargs)
                key = 'clip_forward_grad' if torch.is_grad_enabled() else 'clip_forward_nograd'
                hook._add(key, now() - begin)
                return out

            loss.encode_image = timed_encode_image
            backward = torch.Tensor.backward

            def timed_backward(tensor, *args, **kwargs):
                begin, hook.grad_reached = now(), None
                backward(tensor, *args, **kwargs)
                end = now()
                hook.phases[hook.phase]['passes']['backward'] += 1
                reached = hook.grad_reached if hook.grad_reached is not None else end
                hook._add('clip_backward', reached - begin)
                hook._add('dehazer_backward', end - reached)

            torch.Tensor.backward = timed_backward
            self.restore += [lambda: delattr(loss, 'encode_image'),
                             lambda: setattr(torch.Tensor, 'backward', backward)]

        def _on_output_grad(self, grad):
            if self.grad_reached is None:
                self.grad_reached = now()

        def before_train(self, runner) -> None:
            self.setup_end = time.perf_counter()
            self._instrument(runner)
            self._open('first')
            self.mark = self.phases[self.phase]['clock_start']

        def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
            self._add('data', now() - self.mark)

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            self.phases[self.phase]['iters'] += 1
            if runner.iter + 1 >= runner.max_iters:
                self._close()
                self.train_end = wall_clock(device)
                return
            bilevel = hasattr(runner.optim_wrapper, 'bilevel_step')
            phase = _unwrap(runner.model).phase if bilevel else 'train'
            if phase != self.phase:
                self._close()
                self._open(phase)
            self.mark = now()

        def after_train(self, runner) -> None:
            self.teardown = wall_clock(device) - self.train_end
            for handle in self.handles:
                handle.remove()
            for restore in self.restore:
                restore()

    return PhaseTimingHook()


def _folder_dataset(dataset_cfg: dict) -> dict:
    """The innermost dataset config with a ``data_root`` (the image folder)."""
    while 'data_root' not in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def iters_per_epoch(images: int, batch: int) -> int:
    """Iterations of one pass over the lower half of ``BilevelSplitDataset`` (upper fraction
    0.5: ``round(images / 2)`` upper images, at least one on each side)."""
    upper = min(max(int(round(images * 0.5)), 1), images - 1)
    return math.ceil((images - upper) / batch)


def variant_config(args, variant: str, work_dir: str):
    """The Runner config of one run, from the network's BiLaLoRA config (random weights)."""
    from mmengine.config import Config

    from mmbilalora.datasets import scan_images
    from mmbilalora.utils import model_zoo
    cfg = Config.fromfile(model_zoo.config_path(NETWORKS[args.network]['config']))
    images = len(scan_images(args.data))
    ipe = iters_per_epoch(images, args.batch)
    epochs = args.search_epochs + args.finetune_epochs
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{args.network}_{variant}_{os.getpid()}'
    cfg.load_from = None  # every variant on random base weights
    cfg.resume = False
    cfg.model.loss.pretrained = None
    cfg.model.loss.clip_model = args.clip_model
    loader = cfg.train_dataloader
    folder = _folder_dataset(loader.dataset)
    folder.data_root = args.data
    for transform in folder.pipeline:
        if transform['type'] == 'RandomSquareCrop':
            transform['size'] = args.crop
    loader.batch_size = args.batch
    loader.num_workers = args.workers
    loader.persistent_workers = args.workers > 0
    loader.pin_memory = args.device == 'cuda'
    loader.sampler = (dict(type='BilevelPairSampler', shuffle=True, infinite=True)  # as (i)'s
                      if variant == 'i' else dict(type='InfiniteSampler', shuffle=True))  # config
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=epochs * ipe, val_interval=10**9)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=ipe)
    cfg.log_processor = dict(type='LogProcessor', window_size=ipe, by_epoch=False)
    cfg.param_scheduler = None
    cfg.env_cfg.cudnn_benchmark = args.cudnn_benchmark
    lora_optimizer = cfg.optim_wrapper.lora
    if variant == 'i':
        cfg.custom_hooks = [dict(type='BiLaLoRAHook', search_iters=args.search_epochs * ipe,
                                 top_k=3, log_interval=ipe, save_adapter=False,
                                 save_merged=False, keep_blocks=args.keep,
                                 require_pretrained=False)]
        if args.amp:
            cfg.optim_wrapper.amp = True
            cfg.optim_wrapper.amp_dtype = args.amp
    else:
        cfg.custom_hooks = []
        loader.dataset = folder
        if variant == 'ii':
            cfg.model.lora_cfg = None
        else:
            cfg.model.lora_cfg.gate = False
        cfg.optim_wrapper = dict(type='OptimWrapper', optimizer=lora_optimizer.optimizer,
                                 clip_grad=lora_optimizer.get('clip_grad'))
        if args.amp:  # CUDA only (parse_args)
            cfg.optim_wrapper.update(type='AmpOptimWrapper', dtype=args.amp)
            if args.amp == 'float16':
                cfg.optim_wrapper['loss_scale'] = 'dynamic'
    if args.cfg_options:
        cfg.merge_from_dict(parse_cfg_options(args.cfg_options))
    return cfg, images, ipe


def parse_cfg_options(options: List[str]) -> dict:
    """``['a.b=1', ...]`` -> ``{'a.b': 1, ...}`` (mmengine's ``--cfg-options`` syntax)."""
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, namespace, options)
    return namespace.options


def run_variant(args, variant: str) -> dict:
    """One whole run in this process; returns its measurements."""
    import torch
    from mmengine.runner import Runner

    from mmbilalora.models.lora import layer_gates
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    work_dir = tempfile.mkdtemp(prefix=f'adaptation_time_{variant}_', dir=args.work_dir)
    cfg, images, ipe = variant_config(args, variant, work_dir)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        runner = Runner.from_cfg(cfg)
        timing = make_timing_hook(args.device)
        runner.register_hook(timing)
        runner.train()
    generator = _unwrap(_unwrap(runner.model).generator)
    return dict(
        variant=variant, network=args.network, device=args.device, amp=args.amp,
        images=images, iters_per_epoch=ipe, threads=torch.get_num_threads(),
        setup=timing.setup_end - start, teardown=timing.teardown, phases=timing.phases,
        trainable=sum(p.numel() for p in generator.parameters() if p.requires_grad),
        kept=sorted(layer_gates(generator)) if variant == 'i' else None)


# ------------------------------------------------------------------ orchestration (parent)
def write_hazy_folder(out_dir: str, count: int, max_side: int = 400) -> str:
    """``count`` hazy photos (scikit-image photos with the demo's target haze) in ``out_dir``."""
    import cv2

    from mmbilalora.datasets.sample_images import degrade_to_target, load_skimage_photos
    os.makedirs(out_dir, exist_ok=True)
    photos = list(load_skimage_photos().items())
    for k in range(count):
        name, image = photos[k % len(photos)]
        scale = max_side / max(image.shape[:2])
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        hazy = degrade_to_target(cv2.resize(image, size, interpolation=cv2.INTER_AREA),
                                 f'{name}_{k}', 3)
        path = osp.join(out_dir, f'{k:03d}_{name}.png')
        if not cv2.imwrite(path, cv2.cvtColor(hazy, cv2.COLOR_RGB2BGR)):
            raise OSError(f'Could not write {path!r}')
    return out_dir


def child_command(args, variant: str) -> List[str]:
    cmd = [sys.executable, osp.abspath(__file__), '--run-variant', variant, '--network',
           args.network, '--device', args.device, '--data', args.data, '--batch',
           str(args.batch), '--crop', str(args.crop), '--search-epochs', str(args.search_epochs),
           '--finetune-epochs', str(args.finetune_epochs), '--workers', str(args.workers),
           '--clip-model', args.clip_model, '--work-dir', args.work_dir]
    for flag, value in (('--threads', args.threads), ('--amp', args.amp)):
        if value:
            cmd += [flag, str(value)]
    if args.cudnn_benchmark:
        cmd.append('--cudnn-benchmark')
    for flag, values in (('--keep', args.keep), ('--cfg-options', args.cfg_options)):
        if values:
            cmd += [flag, *values]
    return cmd


def run_child(args, variant: str) -> dict:
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    if args.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    proc = subprocess.run(child_command(args, variant), capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f'run ({variant}) failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def train_time(result: dict, key: str = 'time') -> float:
    """Wall time (``key='time'``) or main-process CPU time (``'cpu_time'``) of all phases."""
    return sum(p[key] for p in result['phases'].values())


def summarize(runs: Dict[str, List[dict]], search_epochs: int, finetune_epochs: int) -> dict:
    """Medians over repeats, per-repeat ratios, the breakdown per iteration and its bounds."""
    med = median_or_nan
    summary = dict(variants={}, ratios={})
    for variant, results in runs.items():
        phases = {}
        for name in results[0]['phases']:
            rows = [r['phases'][name] for r in results]
            iters = rows[0]['iters']
            n = max(iters, 1)
            keys = set().union(*(row['breakdown'] for row in rows))
            phases[name] = dict(
                iters=iters, time=med([row['time'] for row in rows]),
                cpu_time=med([row['cpu_time'] for row in rows]),
                peak_mb=med([row['peak_mb'] for row in rows]),
                per_iter=med([row['time'] / n for row in rows]),
                clock_per_iter=med([row['clock_time'] / n for row in rows]),
                passes={k: v / n for k, v in rows[0]['passes'].items()},
                breakdown={k: med([row['breakdown'].get(k, 0.0) / n for row in rows])
                           for k in keys})
        summary['variants'][variant] = dict(
            setup=med([r['setup'] for r in results]),
            teardown=med([r.get('teardown', 0.0) for r in results]),
            train=med([train_time(r) for r in results]),
            train_cpu=med([train_time(r, 'cpu_time') for r in results]),
            phases=phases, trainable=results[0]['trainable'], kept=results[0]['kept'])
    if 'ii' in runs:
        base = [train_time(r) for r in runs['ii']]
        base_cpu = [train_time(r, 'cpu_time') for r in runs['ii']]
        for variant in ('i', 'iii'):
            if variant in runs:
                summary['ratios'][f'({variant})/(ii)'] = dict(
                    median=summary['variants'][variant]['train'] / med(base),
                    repeats=[train_time(r) / b for r, b in zip(runs[variant], base)],
                    cpu_time=summary['variants'][variant]['train_cpu'] / med(base_cpu))
    if 'i' in runs and 'ii' in runs:
        summary['bounds'] = bounds(summary, search_epochs, finetune_epochs)
    return summary


SHARED = ('data', 'dehazer_forward', 'clip_forward_grad', 'clip_forward_nograd', 'clip_backward')


def bounds(summary: dict, search_epochs: int, finetune_epochs: int) -> dict:
    """What (i)/(ii) could reach: per-iteration costs c (search), d (fine-tune), a (full).

    All per iteration after the first. ``free_search``: the search costs nothing,
    F d / ((S + F) a); ``shared_only``: a fine-tune iteration costs only the work full
    fine-tuning does identically (data, dehazer forward, CLIP forwards and backward),
    (S c + F s) / ((S + F) a); ``floor``: both, F s / ((S + F) a).
    """
    phases_i = summary['variants']['i']['phases']
    a = summary['variants']['ii']['phases']['train']['clock_per_iter']
    c = (phases_i['search'] if 'search' in phases_i else phases_i['first'])['clock_per_iter']
    d = phases_i['finetune']['clock_per_iter']
    shared = sum(phases_i['finetune']['breakdown'].get(k, 0.0) for k in SHARED)
    s, f = search_epochs, finetune_epochs
    return dict(search_per_iter=c, finetune_per_iter=d, full_per_iter=a, shared_per_iter=shared,
                free_search=f * d / ((s + f) * a),
                shared_only=(s * c + f * shared) / ((s + f) * a),
                floor=f * shared / ((s + f) * a))


def print_report(args, summary: dict, images: int, ipe: int) -> None:
    memory = 'peak allocated' if args.device == 'cuda' else 'peak RSS'
    precision = args.amp or 'float32'
    print(f'\n{NETWORKS[args.network]["title"]} + H2C ({args.clip_model}, random weights), '
          f'{args.device}, {precision}; {images} images, batch {args.batch}, '
          f'{args.crop}x{args.crop} crops, epoch = {ipe} iterations; '
          f'{args.search_epochs} search + {args.finetune_epochs} fine-tune epochs vs '
          f'{args.search_epochs + args.finetune_epochs}; median of {args.repeats} interleaved '
          f'repeat(s)' + (f'; (i) keeps {", ".join(args.keep)}' if args.keep else ''))
    print(f'| run | setup / teardown (s) | first iteration (s) | search (s) | '
          f'fine-tune / train (s) | whole run (s) | whole run, CPU (s) | s / iteration | '
          f'{memory} (MB) | trainable weights |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')

    def cell(phase):
        return f'{phase["time"]:.1f} ({phase["iters"]} it)' if phase else '-'

    for variant, info in summary['variants'].items():
        phases = info['phases']
        steady = [p for name, p in phases.items() if name != 'first']
        per_iter = ' / '.join(f'{p["per_iter"]:.3f}' for p in steady)
        peaks = ' / '.join(f'{p["peak_mb"]:.0f}' for p in phases.values())
        print(f'| ({variant}) {VARIANTS[variant]} | {info["setup"]:.1f} / '
              f'{info["teardown"]:.1f} | {cell(phases.get("first"))} | '
              f'{cell(phases.get("search"))} | '
              f'{cell(phases.get("finetune") or phases.get("train"))} | {info["train"]:.1f} | '
              f'{info["train_cpu"]:.1f} | {per_iter} | {peaks} | {info["trainable"]:,} |')
    for name, ratio in summary['ratios'].items():
        spread = ', '.join(f'{r:.3f}' for r in ratio['repeats'])
        cpu = (f'; of main-process CPU time: {ratio["cpu_time"]:.3f}' if args.device == 'cpu'
               else '')
        print(f'{name} = {ratio["median"]:.3f}  (wall time; repeats: {spread}{cpu})')
    kept = summary['variants'].get('i', {}).get('kept')
    if kept:
        print(f'(i) kept blocks: {", ".join(kept)}')
    clock = 'wall' if args.device == 'cuda' else 'main-process CPU'
    print(f'\nCost breakdown, {clock} seconds per iteration (share of the iteration):')
    columns = [(v, p) for v, info in summary['variants'].items() for p in info['phases']]
    print('| part | ' + ' | '.join(f'({v}) {p}' for v, p in columns) + ' |')
    print('| --- |' + ' --- |' * len(columns))
    for key, title in CATEGORIES.items():
        cells = []
        for v, p in columns:
            phase = summary['variants'][v]['phases'][p]
            value = phase['breakdown'].get(key, 0.0)
            cells.append(f'{value:.3f} ({100 * value / phase["clock_per_iter"]:.0f} %)')
        print(f'| {title} | ' + ' | '.join(cells) + ' |')
    passes = ' | '.join(
        f'{summary["variants"][v]["phases"][p]["passes"]["forward"]:.0f} / '
        f'{summary["variants"][v]["phases"][p]["passes"]["backward"]:.0f}' for v, p in columns)
    print(f'| forward / backward passes | {passes} |')
    b = summary.get('bounds')
    if b:
        print(f'\nBounds on (i)/(ii) from the breakdown ({clock} s/it: search '
              f'{b["search_per_iter"]:.3f}, '
              f'fine-tune {b["finetune_per_iter"]:.3f}, full {b["full_per_iter"]:.3f}, '
              f'fine-tune work shared with full fine-tuning {b["shared_per_iter"]:.3f}):')
        print(f'  search free: {b["free_search"]:.3f}; fine-tune paying only the shared work: '
              f'{b["shared_only"]:.3f}; both: {b["floor"]:.3f}')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--network', nargs='+', choices=sorted(NETWORKS),
                        default=['dea-net', 'dehazeformer-t'])
    parser.add_argument('--device', choices=('cpu', 'cuda'), default=None,
                        help='default: cuda when available')
    parser.add_argument('--amp', choices=('float16', 'bfloat16'), default=None,
                        help='mixed precision for every run (default: float32; on CPU (i) only)')
    parser.add_argument('--data', help='folder of hazy photos (default: generated)')
    parser.add_argument('--images', type=int, default=8, help='generated images')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--crop', type=int, default=224)
    parser.add_argument('--search-epochs', type=int, default=1)
    parser.add_argument('--finetune-epochs', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--workers', type=int, default=1, help='dataloader workers')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads of each run (default: torch\'s)')
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument('--clip-model', default='ViT-B-32',
                        help='open_clip architecture name or config file')
    parser.add_argument('--cudnn-benchmark', action='store_true')
    parser.add_argument('--keep', nargs='+', metavar='BLOCK',
                        help='(i) keeps these blocks instead of the search\'s top-3')
    parser.add_argument('--work-dir', default=None, help='default: a temporary folder')
    parser.add_argument('--json', help='also write the measurements here (after every run)')
    parser.add_argument('--from-json', help='only print the tables of a saved --json')
    parser.add_argument('--cfg-options', nargs='+', default=None, metavar='KEY=VALUE',
                        help='overrides for every run (e.g. model.loss.clip_dtype=bfloat16)')
    parser.add_argument('--run-variant', choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.run_variant:
        args.network = args.network[0]
    if args.amp and args.device != 'cuda' and set([args.run_variant] if args.run_variant
                                                   else args.variants) - {'i'}:
        parser.error("--amp on CPU measures (i) only (mmengine's AmpOptimWrapper needs CUDA): "
                     'add --variants i')
    return args


def save(report: dict, path: Optional[str]) -> None:
    if path:
        from mmbilalora.utils.atomic_io import atomic_dump_json
        atomic_dump_json(report, path)


def print_saved(path: str) -> None:
    """Print the tables of a saved ``--json`` (also of an interrupted run: the finished runs)."""
    with open(path) as f:
        report = json.load(f)
    defaults = vars(parse_args(['--device', report['args']['device']]))
    for network, entry in report['networks'].items():
        runs = {v: r for v, r in entry['runs'].items() if r}
        args = argparse.Namespace(**{**defaults, **report['args'], 'network': network,
                                     'repeats': min(len(r) for r in runs.values())})
        runs = {v: r[:args.repeats] for v, r in runs.items()}
        first = next(iter(runs.values()))[0]
        print_report(args, summarize(runs, args.search_epochs, args.finetune_epochs),
                     first['images'], first['iters_per_epoch'])


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.run_variant:
        print(json.dumps(run_variant(args, args.run_variant)))
        return
    if args.from_json:
        print_saved(args.from_json)
        return
    with tempfile.TemporaryDirectory(prefix='adaptation_time_') as scratch:
        args.work_dir = osp.abspath(args.work_dir or scratch)
        os.makedirs(args.work_dir, exist_ok=True)
        if args.data is None:
            args.data = write_hazy_folder(osp.join(scratch, 'hazy'), args.images)
        from mmbilalora.datasets import scan_images
        images = len(scan_images(args.data))
        ipe = iters_per_epoch(images, args.batch)
        report = dict(args={k: v for k, v in vars(args).items()
                            if k not in ('run_variant', 'from_json')}, networks={})
        for network in list(args.network):
            args_n = argparse.Namespace(**{**vars(args), 'network': network})
            runs: Dict[str, List[dict]] = {v: [] for v in args.variants}
            report['networks'][network] = dict(runs=runs)
            for variant in interleaved_order(args.repeats, args.variants):
                print(f'[{network}] run ({variant}) ...', file=sys.stderr, flush=True)
                runs[variant].append(run_child(args_n, variant))
                save(report, args.json)  # every finished run is kept, even if a later one fails
            summary = summarize(runs, args.search_epochs, args.finetune_epochs)
            print_report(args_n, summary, images, ipe)
            report['networks'][network]['summary'] = summary
            save(report, args.json)


if __name__ == '__main__':
    main()
