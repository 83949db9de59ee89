"""Automatic routing: pick, per image, the adapter whose prompts best match it under CLIP.

Zero-shot, as CLIP classification: every adapter of the bank carries (hazy, clear) prompt pairs
describing its target domain (``'a photo with haze'`` for daytime haze, ``'a photo with
nighttime haze'`` for the paper's night adapter). Each adapter is represented by the mean of its
hazy prompts' normalised text embeddings, renormalised (CLIP's prompt ensembling); the image's
CLIP embedding is compared with each (cosine) and the highest-scoring adapter is chosen. The
guidance CLIP is the one the H2C loss would use: real ViT-B-32 when its weights are available
locally, else the compact haze-aware CLIP shipped in ``checkpoints/haze_clip_tiny``
(:func:`~mmbilalora.models.guidance.choose_guidance`); nothing is downloaded.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..models.guidance import build_frozen_clip, choose_guidance


class PromptRouter:
    """Choose among adapters by matching images to their hazy prompts.

    Args:
        prompts: ``{adapter name: [hazy prompt, ...]}`` (at least one prompt each).
        clip_model / pretrained: the CLIP to use (see ``build_frozen_clip``); default: the
            guidance CLIP of :func:`choose_guidance`.
        device: where CLIP runs.
    """

    def __init__(self, prompts: Dict[str, Sequence[str]], clip_model: Optional[str] = None,
                 pretrained: Optional[str] = None, device: str = 'cpu'):
        empty = [name for name, texts in prompts.items() if not texts]
        if not prompts or empty:
            raise ValueError(f'Automatic routing needs prompts for every adapter; none for '
                             f'{empty or "any"} (adapter files written before prompts were '
                             'stored have none: tools/dehaze.py --prompt NAME=TEXT adds them).')
        if clip_model is None:
            clip_model, pretrained, self.guidance = choose_guidance()
        else:
            self.guidance = f'{clip_model} ({pretrained})'
        bundle = build_frozen_clip(clip_model, pretrained)
        self.model = bundle.model.to(device)
        self.device = device
        self.image_size = bundle.image_size
        self.mean = torch.tensor(bundle.mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(bundle.std, device=device).view(1, 3, 1, 1)
        self.names = list(prompts)
        with torch.no_grad():
            self.text = torch.stack([
                F.normalize(F.normalize(self.model.encode_text(
                    bundle.tokenizer(list(prompts[name])).to(device)).float(), dim=-1).mean(0),
                    dim=0) for name in self.names])

    @torch.no_grad()
    def scores(self, rgb: np.ndarray) -> Dict[str, float]:
        """Cosine similarity of an (H, W, 3) uint8 RGB image to each adapter's prompts."""
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float()
        x = F.interpolate(x.to(self.device) / 255.0, size=self.image_size, mode='bicubic',
                          align_corners=False, antialias=True).clamp(0, 1)
        image = F.normalize(self.model.encode_image((x - self.mean) / self.std).float(), dim=-1)
        sims = (image @ self.text.t())[0].cpu()
        return {name: float(sims[i]) for i, name in enumerate(self.names)}

    def route(self, rgb: np.ndarray) -> Tuple[str, Dict[str, float]]:
        """The best-matching adapter's name and every adapter's score."""
        scores = self.scores(rgb)
        return max(scores, key=scores.get), scores
