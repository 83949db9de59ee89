"""CompactHazeCLIP: train a small open_clip model as the haze-to-clear guide.

Two objectives, summed:

- ``loss_contrastive``: CLIP's symmetric cross-entropy between images and captions of
  :func:`~mmbilalora.datasets.transforms.caption_degradations.caption_sample` (identical
  captions in a batch are positives of each other);
- ``loss_direction`` (weight ``direction_weight``): shapes the direction the H2C loss follows,
  ``d(a, b) = cos(n(n(E(a)) - n(E(b))), n(n(T(clear)) - n(T(hazy))))``. On each direction set
  (clear c, hazy h, over-processed clear o, half-dehazed p, over-processed half-dehazed q) it
  asks for ``d(c, h) > d(o, h)``, ``d(c, h) > d(p, h)`` and ``d(p, h) > d(q, h)`` by a margin
  (dehazing beats over-processing, and more dehazing beats less), ``d(o, c) < -margin``
  (over-processing a clear photo points away from "clear"), and ``d(c, h)`` near 1. With
  ``half_hinge`` it also asks for ``d(q, p) < -margin``: over-processing a partly dehazed photo
  -- what an adapted dehazer starts from -- points away from "clear" too.

Without the second term the compact model rewarded darkening, crushed contrast and colour casts
(the H2C loss of a darkened clear photo was lower than that of the clear photo itself).
"""
import json
import os.path as osp
from typing import Dict, List, Optional

import open_clip
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmengine.model import BaseModel

from ...utils.atomic_io import atomic_dump_json, atomic_write_bytes
from .prompts import CLEAR_PROMPT, HAZY_PROMPT


def multi_positive_clip_loss(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor,
                             captions: List[str]) -> torch.Tensor:
    """Symmetric CLIP cross-entropy of (N, D) embeddings; identical captions share the target."""
    logits = scale * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).t()
    same = torch.tensor([[a == b for b in captions] for a in captions], dtype=logits.dtype,
                        device=logits.device)
    target = same / same.sum(1, keepdim=True)
    return 0.5 * (-(target * logits.log_softmax(1)).sum(1).mean()
                  - (target * logits.t().log_softmax(1)).sum(1).mean())


def direction_cosines(embeddings: torch.Tensor,
                      text_direction: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Cosines with ``text_direction`` (D,) of the image directions of direction sets.

    Args:
        embeddings: (N, 5, D) image embeddings of (clear, hazy, over-processed clear,
            half dehazed, over-processed half dehazed).

    Returns:
        (N,) tensors ``c_h`` (clear from hazy), ``o_h``, ``p_h``, ``q_h``, ``o_c`` and ``q_p``.
    """
    e = F.normalize(embeddings, dim=-1)
    c, h, o, p, q = e.unbind(1)

    def cos(a, b):
        return F.normalize(a - b, dim=-1) @ text_direction

    return dict(c_h=cos(c, h), o_h=cos(o, h), p_h=cos(p, h), q_h=cos(q, h), o_c=cos(o, c),
                q_p=cos(q, p))


def direction_ranking_loss(cosines: Dict[str, torch.Tensor], margin: float,
                           half_hinge: bool = False) -> torch.Tensor:
    """Hinge losses of the orderings in the module docstring plus ``1 - d(c, h)``; the
    ``d(q, p) < -margin`` hinge only with ``half_hinge``."""
    hinge = (F.relu(margin - (cosines['c_h'] - cosines['o_h']))
             + F.relu(margin - (cosines['c_h'] - cosines['p_h']))
             + F.relu(margin - (cosines['p_h'] - cosines['q_h']))
             + F.relu(margin + cosines['o_c']))
    if half_hinge:
        hinge = hinge + F.relu(margin + cosines['q_p'])
    return (hinge + 1.0 - cosines['c_h']).mean()


@MODELS.register_module()
class CompactHazeCLIP(BaseModel):
    """A small open_clip model (architecture from a JSON config) trained as the H2C guide.

    Inputs are images in [0, 1]; they are CLIP-normalised here (OpenAI mean / std).

    Args:
        model_config: path of an open_clip model-config JSON (its stem names the architecture).
        direction_weight: weight of ``loss_direction``.
        margin: margin of the direction-ranking hinges.
        half_hinge: add the ``d(q, p) < -margin`` hinge (see the module docstring).
        hazy_prompt / clear_prompt: the text pair whose direction is shaped.
    """

    def __init__(self, model_config: str, direction_weight: float = 1.0, margin: float = 0.1,
                 half_hinge: bool = False, hazy_prompt: str = HAZY_PROMPT,
                 clear_prompt: str = CLEAR_PROMPT,
                 init_cfg: Optional[dict] = None, data_preprocessor: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        if not osp.isfile(model_config):
            raise FileNotFoundError(f'open_clip model config not found: {model_config!r}')
        open_clip.add_model_config(model_config)
        self.arch = osp.splitext(osp.basename(model_config))[0]
        with open(model_config) as f:
            self.model_cfg = json.load(f)
        self.clip = open_clip.create_model(self.arch)
        self.tokenizer = open_clip.get_tokenizer(self.arch)
        self.image_size = self.model_cfg['vision_cfg']['image_size']
        self.register_buffer('clip_mean', torch.tensor(open_clip.OPENAI_DATASET_MEAN).view(
            1, 3, 1, 1), persistent=False)
        self.register_buffer('clip_std', torch.tensor(open_clip.OPENAI_DATASET_STD).view(
            1, 3, 1, 1), persistent=False)
        self.direction_weight = direction_weight
        self.margin = margin
        self.half_hinge = half_hinge
        self.prompts = (hazy_prompt, clear_prompt)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) in [0, 1] -> (N, D) unnormalised embeddings."""
        return self.clip.encode_image((images - self.clip_mean) / self.clip_std)

    def encode_text(self, captions: List[str]) -> torch.Tensor:
        return self.clip.encode_text(self.tokenizer(captions).to(self.clip_mean.device))

    def text_direction(self) -> torch.Tensor:
        """(D,) ``n(n(T(clear)) - n(T(hazy)))``."""
        hazy, clear = F.normalize(self.encode_text(list(self.prompts)), dim=-1)
        return F.normalize(clear - hazy, dim=0)

    def forward(self, image: torch.Tensor, caption: List[str], direction: torch.Tensor,
                mode: str = 'loss') -> Dict[str, torch.Tensor]:
        """Losses for a batch: ``image`` (N, 3, S, S), ``caption`` N strings, ``direction``
        (N, 5, 3, S, S) direction sets (see :func:`direction_cosines`)."""
        if mode != 'loss':
            raise ValueError(f"CompactHazeCLIP only computes losses (mode='loss'), got {mode!r}")
        contrastive = multi_positive_clip_loss(self.encode_image(image),
                                               self.encode_text(list(caption)),
                                               self.clip.logit_scale.exp(), list(caption))
        n = direction.shape[0]
        embeddings = self.encode_image(direction.flatten(0, 1)).view(n, 5, -1)
        cosines = direction_cosines(embeddings, self.text_direction())
        return dict(loss_contrastive=contrastive,
                    loss_direction=self.direction_weight * direction_ranking_loss(
                        cosines, self.margin, self.half_hinge))

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        log_vars = super().train_step(data, optim_wrapper)
        with torch.no_grad():  # CLIP's temperature stays within (1, 100), as in open_clip
            self.clip.logit_scale.clamp_(0, torch.log(torch.tensor(100.0)).item())
        return log_vars

    def export(self, out_dir: str) -> None:
        """Write ``open_clip_model.safetensors`` (fp16) and ``open_clip_config.json`` into
        ``out_dir`` (atomically): loadable as ``pretrained='local-dir:<out_dir>'``."""
        from safetensors.torch import save
        state = {k: v.detach().half().contiguous().cpu()
                 for k, v in self.clip.state_dict().items()}
        atomic_write_bytes(osp.join(out_dir, 'open_clip_model.safetensors'), save(state))
        preprocess = dict(size=self.image_size, mean=list(open_clip.OPENAI_DATASET_MEAN),
                          std=list(open_clip.OPENAI_DATASET_STD), interpolation='bicubic',
                          resize_mode='shortest')
        atomic_dump_json(dict(model_cfg=self.model_cfg, preprocess_cfg=preprocess),
                         osp.join(out_dir, 'open_clip_config.json'))
