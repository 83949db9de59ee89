"""How well a compact haze-aware CLIP guides dehazing, measured on held-out photos."""
from typing import Dict, List

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..datasets.transforms.caption_degradations import (FIRST_OVER_PROCESSINGS, OVER_PROCESSING,
                                                        add_haze_with_airlight, airlight_cast,
                                                        is_tinted, over_process,
                                                        random_square_crop)
from ..models.guidance import CompactHazeCLIP


@torch.no_grad()
def evaluate_guide(model: CompactHazeCLIP, holdout: List, real_hazy: List = (),
                   crops_per_photo: int = 10, seed: int = 1234) -> Dict[str, dict]:
    """How well ``model`` guides dehazing, on photos it never trained on.

    Args:
        holdout: clear photos, float32 (H, W, 3) in [0, 1].
        real_hazy: real hazy photos (same format), for zero-shot recall only.

    Returns:
        ``zero_shot``: accuracy of hazy-vs-clear on held-out synthetic pairs (and on whole real
        hazy photos vs whole held-out clear photos); ``h2c_loss``: the mean H2C loss
        ``1 - d(x, hazy)`` of the clear crop and of each over-processing of it (lower is
        preferred by the guide), and ``clear_preferred``: the fraction of crops for which the
        clear crop has a lower loss than every over-processing of it; ``half_preferred``: the
        same for the half-dehazed crop (mean of clear and hazy) against every over-processing of
        it -- the choice an adapted dehazer faces; ``airlight_cast_preferred``: over the crops
        hazed with a tinted airlight, the fraction whose clear crop has a lower loss than the
        clear crop tinted with the haze's colour (mean loss of those in ``h2c_loss['airlight
        cast']``). The over-processings added after the first guide ('noise', the airlight cast)
        draw from their own random stream, so the first four's values do not depend on them.
    """
    was_training = model.training
    model.eval()
    rng = np.random.default_rng(seed)
    half_rng = np.random.default_rng(seed + 1)  # own streams: the other draws stay as before
    added_rng = np.random.default_rng(seed + 2)
    size = model.image_size
    device = model.clip_mean.device

    def tensor(images):
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().to(device)

    text = F.normalize(model.encode_text(list(model.prompts)), dim=-1)  # (hazy, clear)
    direction = F.normalize(text[1] - text[0], dim=0)

    def is_hazy(images):
        e = F.normalize(model.encode_image(tensor(images)), dim=-1)
        return ((e @ text.t())[:, 0] > (e @ text.t())[:, 1]).cpu().numpy()

    clear, hazy, variants = [], [], {k: [] for k in ('clear', 'half dehazed', *OVER_PROCESSING)}
    half_over = {k: [] for k in OVER_PROCESSING}
    tinted, tinted_cast = [], []  # whether each crop's airlight is tinted; its airlight cast
    for photo in holdout:
        for _ in range(crops_per_photo):
            crop = random_square_crop(photo, size, rng)
            h, _, airlight = add_haze_with_airlight(crop, rng, rng.uniform(0.5, 2.5))
            tinted.append(is_tinted(airlight))
            if tinted[-1]:
                tinted_cast.append(airlight_cast(crop, airlight, added_rng))
            clear.append(crop)
            hazy.append(h)
            variants['clear'].append(crop)
            half = (0.5 * (crop + h)).astype(np.float32)
            variants['half dehazed'].append(half)
            for kind in OVER_PROCESSING:
                first = kind in FIRST_OVER_PROCESSINGS
                variants[kind].append(over_process(crop, rng if first else added_rng, kind)[0])
                half_over[kind].append(over_process(half, half_rng if first else added_rng,
                                                    kind)[0])
    hazy_pred, clear_pred = is_hazy(hazy), is_hazy(clear)
    zero_shot = dict(synthetic_pairs=dict(
        n_pairs=len(clear), accuracy=float((hazy_pred.sum() + (~clear_pred).sum())
                                           / (2 * len(clear))),
        hazy_recall=float(hazy_pred.mean()), clear_recall=float((~clear_pred).mean())))
    if len(real_hazy):
        def whole(photos):
            return [cv2.resize(p, (size, size), interpolation=cv2.INTER_AREA) for p in photos]
        real_pred, clear_whole = is_hazy(whole(real_hazy)), is_hazy(whole(holdout))
        zero_shot['real_photos'] = dict(
            n_real_hazy=len(real_hazy), n_clear=len(holdout),
            real_hazy_recall=float(real_pred.mean()), clear_recall=float((~clear_whole).mean()))
    hazy_emb = F.normalize(model.encode_image(tensor(hazy)), dim=-1)

    def h2c_loss(images, reference=hazy_emb):
        emb = F.normalize(model.encode_image(tensor(images)), dim=-1)
        return 1.0 - F.normalize(emb - reference, dim=-1) @ direction

    losses = {kind: h2c_loss(images) for kind, images in variants.items()}
    cast_preferred = None
    if tinted_cast:
        mask = torch.tensor(tinted, device=hazy_emb.device)
        losses['airlight cast'] = h2c_loss(tinted_cast, hazy_emb[mask])
        cast_preferred = float((losses['clear'][mask] < losses['airlight cast']).float().mean())
    over = torch.stack([losses[k] for k in OVER_PROCESSING])
    half_over_losses = torch.stack([h2c_loss(half_over[k]) for k in OVER_PROCESSING])
    model.train(was_training)
    return dict(zero_shot=zero_shot,
                h2c_loss={k: float(v.mean()) for k, v in losses.items()},
                clear_preferred=float((losses['clear'] < over.min(0).values).float().mean()),
                half_preferred=float((losses['half dehazed']
                                      < half_over_losses.min(0).values).float().mean()),
                airlight_cast_preferred=cast_preferred)
