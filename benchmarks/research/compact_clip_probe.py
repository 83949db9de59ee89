"""What a compact haze-aware CLIP rewards on the demo's images, and how it routes day vs night.

For each guide folder (``--guide NAME=DIR``, default: the shipped ``haze_clip_tiny``, found by
``mmbilalora.utils.model_zoo``)
it prints, with the H2C loss ``1 - cos(E(x) - E(hazy), T(clear) - T(hazy))`` (lower = preferred)
on the demo's embedded target set (written to ``--target``, eval images with references):

- noise: the mean rise of the loss when Gaussian noise (std ``--noise`` grey levels) is added to
  the clear crop and to the half-dehazed crop (mean of clear and hazy); 128 x 128 crops, the
  demo's training size, scored with 16 random views of 0.5-1 of a crop (the demo's views);
- airlight cast: the mean rise when the clear photo is tinted with the hazy photo's channel
  ratios (the target haze's colour left in); whole images, 16 views;
- base cast: on how many images the guide prefers the shipped base's output to the same output
  with the clear photo's channel means (the colour a dehazer should restore);
- darkening: on how many real hazy photos (``--real``, shorter side 320 px, 32 views) the guide
  prefers the shipped base's output darkened -- gamma 1.3 (mid-tones and shadows) or times 0.9
  -- to the output itself, and the mean loss rise of each (negative = darker preferred: the
  adaptation is pulled toward darker pictures);
- stretched detail: on how many of the embedded set's images the guide prefers the shipped
  base's output with its fine detail (the difference from a Gaussian blur of sigma 1 px, where
  the output's grain and JPEG steps are) stretched 1.5 times, or halved, to the output itself,
  and the mean loss rise of each; whole images, 32 views of 10-20 % of the side (32-64 px, the
  size of the demo's views);
- reference: on how many of the embedded set's images the guide prefers the clear reference to
  the shipped base's output, and the mean loss difference (reference minus base output;
  negative = the reference preferred), at the demo's view size (32 views of 10-20 % of the
  side) and on views of 50-100 % of the side (16 views); with ``--adapter`` (e.g. the demo's
  ``work_dirs/demo/bilalora/bilalora_adapter.pth``: the demo writes the same embedded set) the
  same against the adapted model's outputs: where the guide prefers them to the reference, the
  H2C loss is lower away from the reference than at it;
- routing: night minus day cosine of "a dark photo with haze" vs "a photo with haze" for the day
  and the night images of :func:`~mmbilalora.datasets.sample_images.day_and_night_images`
  (night images should be positive, day negative).

    python benchmarks/research/compact_clip_probe.py [--guide NAME=DIR ...] [--target DIR]
        [--noise 10] [--real ../shared/data/real_hazy] [--adapter bilalora_adapter.pth]
"""
import argparse
import os.path as osp
from functools import partial

import numpy as np
import torch

from mmbilalora.apis import PromptRouter, dehaze_array, load_dehazer
from mmbilalora.datasets import scan_images
from mmbilalora.datasets.sample_images import day_and_night_images, write_target_set
from mmbilalora.datasets.transforms.caption_degradations import scale_fine_detail
from mmbilalora.models.losses import CLIPHazeClearLoss
from mmbilalora.utils import model_zoo
from mmbilalora.utils.image_io import read_rgb, resize_shorter_side

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CROP, VIEWS = 128, 16
REAL_SIDE, REAL_VIEWS = 320, 32
DETAIL_VIEWS, DETAIL_SCALE = 32, (0.1, 0.2)
DARKENINGS = {'gamma 1.3': lambda x: 255.0 * (x / 255.0)**1.3, 'x0.9': lambda x: 0.9 * x}
DETAIL_CHANGES = {f'detail x{gain}': partial(scale_fine_detail, sigma=1.0, gain=gain)
                  for gain in (1.5, 0.5)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--guide', action='append', default=None, metavar='NAME=DIR',
                        help='compact CLIP folder (repeatable; default: the shipped one)')
    parser.add_argument('--target', default=osp.join(ROOT, 'work_dirs', 'compact_clip_probe'),
                        help='folder the embedded target set is written to')
    parser.add_argument('--noise', type=float, default=10.0, help='noise std, grey levels')
    parser.add_argument('--real', default=osp.join(osp.dirname(ROOT), 'shared', 'data',
                                                   'real_hazy'),
                        help='folder of real hazy photos for the darkening probe')
    parser.add_argument('--adapter', help="an adapter of the shipped base (e.g. the demo's): "
                        'the reference is scored against its outputs too')
    return parser.parse_args()


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) float or uint8 in [0, 255] -> (1, 3, H, W) in [0, 1]."""
    rgb = np.clip(np.asarray(rgb, np.float32), 0, 255)
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None] / 255.0


def h2c(loss: CLIPHazeClearLoss, out: np.ndarray, hazy: np.ndarray, seed: int = 1) -> float:
    """The loss of ``out`` from ``hazy``; the same random views for every call with ``seed``."""
    torch.manual_seed(seed)
    with torch.no_grad():
        return float(loss(to_tensor(out), to_tensor(hazy)))


def noise_penalty(loss, pairs, std: float, rng: np.random.Generator) -> dict:
    rises = {'clear': [], 'half dehazed': []}
    for hazy, clear in pairs:
        for top in range(0, hazy.shape[0] - CROP + 1, 60):
            for left in range(0, hazy.shape[1] - CROP + 1, 90):
                h = hazy[top:top + CROP, left:left + CROP].astype(np.float32)
                c = clear[top:top + CROP, left:left + CROP].astype(np.float32)
                for kind, x in (('clear', c), ('half dehazed', 0.5 * (c + h))):
                    noisy = x + rng.normal(0, std, x.shape)
                    rises[kind].append(h2c(loss, noisy, h) - h2c(loss, x, h))
    return {k: float(np.mean(v)) for k, v in rises.items()}


def guide_loss(folder: str, views: int, scale: tuple = (0.5, 1.0)) -> CLIPHazeClearLoss:
    """The H2C loss under the compact CLIP in ``folder``, on ``views`` random views whose side is
    ``scale`` (min, max) of the image's."""
    return CLIPHazeClearLoss(clip_model='ViT-B-32', pretrained=f'local-dir:{folder}',
                             input_range=(0, 1), augment_views=views, augment_scale=scale)


def preference(loss: CLIPHazeClearLoss, hazy: list, outputs: list, changes: dict) -> dict:
    """Per change of ``changes`` (name: function of an output): (images on which the changed
    output is preferred to the output, mean loss rise)."""
    rises = {kind: [] for kind in changes}
    for image, out in zip(hazy, outputs):
        plain = h2c(loss, out, image)
        for kind, change in changes.items():
            rises[kind].append(h2c(loss, change(out), image) - plain)
    return {kind: (int((np.array(r) < 0).sum()), float(np.mean(r))) for kind, r in rises.items()}


def reference_preference(loss: CLIPHazeClearLoss, pairs: list, outputs: list) -> tuple:
    """(images on which the clear reference is preferred to the output, mean loss of the
    reference minus that of the output) over (hazy, clear) ``pairs`` and their ``outputs``."""
    diffs = np.array([h2c(loss, clear, hazy) - h2c(loss, out, hazy)
                      for (hazy, clear), out in zip(pairs, outputs)])
    return int((diffs < 0).sum()), float(diffs.mean())


def main() -> None:
    args = parse_args()
    guides = (dict(g.split('=', 1) for g in args.guide) if args.guide
              else {'shipped': model_zoo.model_path(model_zoo.COMPACT_CLIP)})
    for name, folder in guides.items():
        if not osp.isdir(folder):
            raise FileNotFoundError(f'--guide {name}={folder}: no such folder')
    folders = write_target_set(args.target)
    pairs = [(read_rgb(p), read_rgb(osp.join(folders['eval/clear'], osp.basename(p))))
             for p in scan_images(folders['eval/hazy'])]
    base = load_dehazer()  # the shipped base
    base_outputs = [dehaze_array(base, hazy, tile=None).astype(np.float32) for hazy, _ in pairs]
    scored = {'base': base_outputs}
    if args.adapter:
        adapted = load_dehazer(adapter=args.adapter)
        scored['adapted'] = [dehaze_array(adapted, hazy, tile=None).astype(np.float32)
                             for hazy, _ in pairs]
    real = [resize_shorter_side(read_rgb(p), REAL_SIDE) for p in scan_images(args.real)]
    real_outputs = [dehaze_array(base, hazy).astype(np.float32) for hazy in real]
    day, night = day_and_night_images()
    print('| guide | noise on clear | noise on half dehazed | airlight cast | base cast kept '
          'preferred | ' + ' | '.join(f'{k} preferred (rise)'
                                      for k in {**DARKENINGS, **DETAIL_CHANGES})
          + ''.join(f' | reference preferred to {name}, {views} views (difference)'
                    for name in scored for views in ('demo', '50-100 %'))
          + ' | night margin (night images) | night margin (day images) |')
    print('| --- ' * (7 + len(DARKENINGS) + len(DETAIL_CHANGES) + 2 * len(scored)) + '|')
    for name, folder in guides.items():
        loss = guide_loss(folder, VIEWS)
        noise = noise_penalty(loss, pairs, args.noise, np.random.default_rng(0))
        cast_rise, kept = [], 0
        for (hazy, clear), out in zip(pairs, base_outputs):
            clear = clear.astype(np.float32)
            tint = hazy.reshape(-1, 3).mean(0) / hazy.mean()
            cast_rise.append(h2c(loss, clear * tint, hazy) - h2c(loss, clear, hazy))
            corrected = out * (clear.reshape(-1, 3).mean(0) / out.reshape(-1, 3).mean(0))
            kept += h2c(loss, out, hazy) < h2c(loss, corrected, hazy)
        router = PromptRouter({'day': ['a photo with haze'], 'night': ['a dark photo with haze']},
                              clip_model='ViT-B-32', pretrained=f'local-dir:{folder}')

        def margins(images):
            return [router.scores(im)['night'] - router.scores(im)['day'] for im in images]
        night_m, day_m = margins(night), margins(day)
        darker = preference(guide_loss(folder, REAL_VIEWS), real, real_outputs, DARKENINGS)
        demo_views = guide_loss(folder, DETAIL_VIEWS, DETAIL_SCALE)
        detail = preference(demo_views, [hazy for hazy, _ in pairs], base_outputs,
                            DETAIL_CHANGES)
        reference = [reference_preference(view_loss, pairs, outputs)
                     for outputs in scored.values() for view_loss in (demo_views, loss)]
        print(f'| {name} | {noise["clear"]:+.4f} | {noise["half dehazed"]:+.4f} | '
              f'{np.mean(cast_rise):+.4f} | {kept} of {len(pairs)} | '
              + ''.join(f'{n} of {len(real)} ({rise:+.3f}) | ' for n, rise in darker.values())
              + ''.join(f'{n} of {len(pairs)} ({rise:+.3f}) | ' for n, rise in detail.values())
              + ''.join(f'{n} of {len(pairs)} ({diff:+.3f}) | ' for n, diff in reference) +
              f'{min(night_m):+.3f} to {max(night_m):+.3f} | '
              f'{min(day_m):+.3f} to {max(day_m):+.3f} |', flush=True)


if __name__ == '__main__':
    main()
