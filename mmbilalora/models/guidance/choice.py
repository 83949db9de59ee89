"""The guidance CLIP of the H2C loss and of routing: real CLIP when its weights are at hand.

The demo, the browser UI, :class:`~mmbilalora.apis.PromptRouter` and the domain-shift benchmark
use real CLIP ViT-B-32 (``'openai'``) when its weights are available locally
(``MMBILALORA_CLIP_WEIGHTS`` or the Hugging Face cache), else the compact haze-aware CLIP shipped
in ``checkpoints/haze_clip_tiny`` (found through :mod:`mmbilalora.utils.model_zoo`). Nothing is
downloaded.
"""
from typing import Optional, Tuple

from ...utils import model_zoo
from .clip_weights import local_clip_weights


def choose_guidance(compact_dir: Optional[str] = None) -> Tuple[str, str, str]:
    """``(clip_model, pretrained, description)`` for ``CLIPHazeClearLoss`` /
    ``build_frozen_clip``: real CLIP ViT-B-32 when its weights are available locally, else the
    compact haze-aware CLIP folder ``compact_dir`` (default: the shipped one). Never touches the
    network."""
    weights = local_clip_weights('ViT-B-32', 'openai')
    if weights:
        return 'ViT-B-32', 'openai', f'real CLIP ViT-B-32 (openai) from {weights}'
    compact_dir = compact_dir or model_zoo.model_path(model_zoo.COMPACT_CLIP)
    return ('ViT-B-32', f'local-dir:{compact_dir}',
            f'compact haze-aware CLIP ({compact_dir}); real CLIP weights not found locally')
