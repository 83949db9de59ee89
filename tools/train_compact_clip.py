"""Train the compact haze-aware CLIP used when real CLIP weights are unavailable.

A small open_clip architecture (``configs/compact_clip/haze-clip-tiny.json``) learns, with the
CLIP contrastive objective, to match captions to synthetic degradations of clear photos: haze of
several densities, colours and layouts (``SyntheticHaze``'s scattering model), clear photos, and
distractors (noise, blur, darkness, low contrast, and haze combined with them), so that the
"a clear photo" minus "a photo with haze" text direction means "less haze" rather than "any
change". Identical captions in a batch are positives of each other (multi-positive targets).

    python tools/train_compact_clip.py --clear ../shared/data/clear_pristine \
        --out checkpoints/haze_clip_tiny [--steps 1500] [--batch 96] [--holdout 10]

The first ``--holdout`` photos (sorted) are kept out of training for the evaluation. Writes, in
``--out`` (atomically): ``open_clip_model.safetensors`` (fp16), ``open_clip_config.json``
(loadable as ``pretrained='local-dir:<out>'``), ``train_log.json`` and ``evaluation.json``:
zero-shot accuracy of "a photo with haze" vs "a clear photo" on held-out synthetic pairs and, with
``--real-hazy``, on real hazy photos vs the held-out clear photos.
"""
import argparse
import json
import os.path as osp
import sys
import time
from typing import List, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmbilalora.datasets import scan_images  # noqa: E402
from mmbilalora.datasets.transforms.synthetic_haze import (apply_scattering_model,  # noqa: E402
                                                            pseudo_depth)
from mmbilalora.utils.atomic_io import atomic_dump_json, atomic_write_bytes  # noqa: E402
from mmbilalora.utils.image_io import read_rgb  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODEL_CONFIG = osp.join(ROOT, 'configs', 'compact_clip', 'haze-clip-tiny.json')
HAZY, CLEAR = 'a photo with haze', 'a clear photo'
TINT_WORDS = {(1.0, 0.9, 0.7): 'yellowish', (0.8, 0.9, 1.0): 'bluish', (1.0, 1.0, 1.0): 'white'}


def load_photos(paths: List[str], short_side: int = 192) -> List[np.ndarray]:
    """Photos as float32 RGB in [0, 1], shorter side resized to ``short_side``."""
    photos = []
    for path in paths:
        rgb = read_rgb(path)
        scale = short_side / min(rgb.shape[:2])
        size = (max(round(rgb.shape[1] * scale), short_side),
                max(round(rgb.shape[0] * scale), short_side))
        photos.append(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
                      / 255.0)
    return photos


def random_crop(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    h, w = photo.shape[:2]
    side = int(rng.integers(size, min(h, w) + 1))
    top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = photo[top:top + side, left:left + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=cv2.INTER_AREA)


def add_haze(img: np.ndarray, rng: np.random.Generator, beta: float) -> Tuple[np.ndarray, str]:
    tint, word = list(TINT_WORDS.items())[rng.integers(len(TINT_WORDS))]
    level = rng.uniform(0.7, 1.0)
    airlight = np.clip(level * np.asarray(tint, np.float32), 0, 1)
    mode = ('homogeneous', 'gradient', 'nonhomogeneous', 'mixed')[rng.integers(4)]
    depth = pseudo_depth(mode, img.shape[:2], rng)
    hazy = apply_scattering_model(img, np.exp(-beta * depth).astype(np.float32), airlight)
    density = 'thick haze' if beta > 1.6 else ('light haze' if beta < 0.9 else 'haze')
    return hazy, (f'a photo with {word} {density}' if word != 'white' else
                  f'a photo with {density}')


DISTRACTORS = ('noise', 'blur', 'dark', 'low contrast')


def add_distractor(img: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == 'noise':
        return np.clip(img + rng.normal(0, rng.uniform(0.04, 0.12), img.shape), 0, 1)
    if kind == 'blur':
        return cv2.GaussianBlur(img, (0, 0), rng.uniform(1.2, 3.0))
    if kind == 'dark':
        return img * rng.uniform(0.15, 0.45)
    mean = img.mean()
    return mean + (img - mean) * rng.uniform(0.25, 0.5)


def sample(photo: np.ndarray, size: int, rng: np.random.Generator) -> Tuple[np.ndarray, str]:
    """One degraded crop (H, W, 3) in [0, 1] and its caption."""
    img = random_crop(photo, size, rng)
    kind = rng.choice(['clear', 'haze', 'distractor', 'haze+distractor'], p=[.3, .35, .2, .15])
    if kind == 'clear':
        return img, ('a clear photo', 'a sharp clear photo',
                     'a photo on a clear day')[rng.integers(3)]
    if kind == 'haze':
        return add_haze(img, rng, rng.uniform(0.5, 2.5))
    distractor = DISTRACTORS[rng.integers(len(DISTRACTORS))]
    word = {'noise': 'noisy', 'blur': 'blurry', 'dark': 'dark', 'low contrast': 'low contrast'}
    if kind == 'distractor':
        return add_distractor(img, distractor, rng).astype(np.float32), \
            f'a {word[distractor]} photo'
    hazy, caption = add_haze(img, rng, rng.uniform(0.5, 2.5))
    return add_distractor(hazy, distractor, rng).astype(np.float32), \
        f'a {word[distractor]} ' + caption[2:]


def to_tensor(images: List[np.ndarray], mean, std) -> torch.Tensor:
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def multi_positive_clip_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor,
                             captions: List[str]) -> torch.Tensor:
    """Symmetric CLIP cross-entropy; identical captions share the target mass."""
    logits = scale * F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).t()
    same = torch.tensor([[a == b for b in captions] for a in captions], dtype=torch.float32)
    target = same / same.sum(1, keepdim=True)
    return 0.5 * (-(target * logits.log_softmax(1)).sum(1).mean()
                  - (target * logits.t().log_softmax(1)).sum(1).mean())


@torch.no_grad()
def zero_shot_hazy(model, tokenizer, images: torch.Tensor) -> np.ndarray:
    """True where the image is closer to "a photo with haze" than to "a clear photo"."""
    txt = F.normalize(model.encode_text(tokenizer([HAZY, CLEAR])), dim=-1)
    img = F.normalize(model.encode_image(images), dim=-1)
    sims = img @ txt.t()
    return (sims[:, 0] > sims[:, 1]).numpy()


def evaluate(model, tokenizer, holdout: List[np.ndarray], real_hazy: List[np.ndarray],
             size: int, mean, std) -> dict:
    rng = np.random.default_rng(1234)
    clear_imgs, hazy_imgs = [], []
    for photo in holdout:
        for _ in range(10):
            crop = random_crop(photo, size, rng)
            clear_imgs.append(crop)
            hazy_imgs.append(add_haze(crop, rng, rng.uniform(0.5, 2.5))[0])
    model.eval()
    clear_pred = zero_shot_hazy(model, tokenizer, to_tensor(clear_imgs, mean, std))
    hazy_pred = zero_shot_hazy(model, tokenizer, to_tensor(hazy_imgs, mean, std))
    result = dict(synthetic_pairs=dict(
        n_pairs=len(clear_imgs), accuracy=float((hazy_pred.sum() + (~clear_pred).sum())
                                                / (2 * len(clear_imgs))),
        hazy_recall=float(hazy_pred.mean()), clear_recall=float((~clear_pred).mean())))
    if real_hazy:
        def whole(photos):
            return to_tensor([cv2.resize(p, (size, size), interpolation=cv2.INTER_AREA)
                              for p in photos], mean, std)
        real_pred = zero_shot_hazy(model, tokenizer, whole(real_hazy))
        clear_whole = zero_shot_hazy(model, tokenizer, whole(holdout))
        result['real_photos'] = dict(
            n_real_hazy=len(real_hazy), n_clear=len(holdout),
            real_hazy_recall=float(real_pred.mean()), clear_recall=float((~clear_whole).mean()),
            accuracy=float((real_pred.sum() + (~clear_whole).sum())
                           / (len(real_hazy) + len(holdout))))
    model.train()
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clear', required=True, help='folder of clear photos')
    parser.add_argument('--real-hazy', help='folder of real hazy photos (evaluation only)')
    parser.add_argument('--out', required=True)
    parser.add_argument('--config', default=MODEL_CONFIG)
    parser.add_argument('--steps', type=int, default=1500)
    parser.add_argument('--batch', type=int, default=96)
    parser.add_argument('--lr', type=float, default=5e-4)
    parser.add_argument('--holdout', type=int, default=10)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    import open_clip
    from safetensors.torch import save
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    cfg = json.load(open(args.config))
    name = osp.splitext(osp.basename(args.config))[0]
    open_clip.add_model_config(args.config)
    model = open_clip.create_model(name)
    tokenizer = open_clip.get_tokenizer(name)
    size = cfg['vision_cfg']['image_size']
    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    paths = scan_images(args.clear)
    holdout = load_photos(paths[:args.holdout])
    train = load_photos(paths[args.holdout:])
    real = load_photos(scan_images(args.real_hazy)) if args.real_hazy else []
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(
        (step + 1) / warmup, 0.5 * (1 + np.cos(np.pi * min(step / args.steps, 1.0)))))
    log, start = [], time.time()
    model.train()
    for step in range(1, args.steps + 1):
        batch = [sample(train[rng.integers(len(train))], size, rng) for _ in range(args.batch)]
        images = to_tensor([b[0] for b in batch], mean, std)
        captions = [b[1] for b in batch]
        loss = multi_positive_clip_loss(model.encode_image(images),
                                        model.encode_text(tokenizer(captions)),
                                        model.logit_scale.exp(), captions)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, np.log(100))
        if step % 50 == 0 or step == args.steps:
            entry = dict(step=step, loss=float(loss), seconds=round(time.time() - start, 1))
            if step % 500 == 0 or step == args.steps:
                entry['eval'] = evaluate(model, tokenizer, holdout, real, size, mean, std)
            log.append(entry)
            print(json.dumps(entry), flush=True)
    evaluation = evaluate(model, tokenizer, holdout, real, size, mean, std)
    state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(osp.join(args.out, 'open_clip_model.safetensors'), save(state))
    preprocess = dict(size=size, mean=list(mean), std=list(std), interpolation='bicubic',
                      resize_mode='shortest')
    atomic_dump_json(dict(model_cfg=cfg, preprocess_cfg=preprocess),
                     osp.join(args.out, 'open_clip_config.json'))
    atomic_dump_json(dict(command=' '.join(sys.argv), args=vars(args), log=log),
                     osp.join(args.out, 'train_log.json'))
    atomic_dump_json(evaluation, osp.join(args.out, 'evaluation.json'))
    print(json.dumps(evaluation, indent=2))


if __name__ == '__main__':
    main()
