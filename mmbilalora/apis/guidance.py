"""The guidance CLIP of the H2C loss and of routing: real CLIP when its weights are at hand.

The demo, the browser UI, :class:`~mmbilalora.apis.routing.PromptRouter` and the domain-shift
benchmark use real CLIP ViT-B-32 (``'openai'``) when its weights are available locally
(``MMBILALORA_CLIP_WEIGHTS`` or the Hugging Face cache), else the compact haze-aware CLIP shipped
in ``checkpoints/haze_clip_tiny``. Nothing is downloaded.
"""
from typing import Tuple

from ..models.losses.clip_weights import local_clip_weights
from .shipped import COMPACT_CLIP


def choose_guidance(compact_dir: str = COMPACT_CLIP) -> Tuple[str, str, str]:
    """``(clip_model, pretrained, description)`` for ``CLIPHazeClearLoss`` /
    ``build_frozen_clip``: real CLIP ViT-B-32 when its weights are available locally, else the
    compact haze-aware CLIP folder ``compact_dir``. Never touches the network."""
    weights = local_clip_weights('ViT-B-32', 'openai')
    if weights:
        return 'ViT-B-32', 'openai', f'real CLIP ViT-B-32 (openai) from {weights}'
    return ('ViT-B-32', f'local-dir:{compact_dir}',
            f'compact haze-aware CLIP ({compact_dir}); real CLIP weights not found locally')
