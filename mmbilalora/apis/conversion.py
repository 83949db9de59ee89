"""Checkpoint conversion: a plain DehazeFormer into the network of a ``PriorRefinedDehazer``."""
from typing import Dict, Optional

import torch

FIRST_CONV = 'patch_embed.proj.weight'


def network_state(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The generator weights of a checkpoint, without ``generator.`` / ``module.`` prefixes:
    mmengine's (``{'state_dict': {'generator.<key>': ...}}``), the official DehazeFormer release
    (``{'state_dict': {'module.<key>': ...}}``) or a bare state dict."""
    state = checkpoint.get('state_dict', checkpoint)
    if any(k.startswith('generator.') for k in state):
        state = {k[len('generator.'):]: v for k, v in state.items() if k.startswith('generator.')}
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def dehazeformer_to_prior_refined(checkpoint: dict, meta: Optional[dict] = None) -> dict:
    """A ``PriorRefinedDehazer`` checkpoint (``generator.network.<key>``) of a DehazeFormer
    checkpoint (any layout of :func:`network_state`).

    The network of a ``PriorRefinedDehazer`` sees the prior's image and the hazy image (6
    channels, the prior's first). A first conv of 3 input channels is widened: its weights go to
    the prior's channels and the hazy image's start at zero, so the converted network starts by
    refining the prior's image as the plain one refined its input. A 6-channel first conv (a
    DehazeFormer trained behind a prior) is kept.

    Raises:
        ValueError: not a DehazeFormer state (no ``patch_embed.proj.weight``), or already a
            ``PriorRefinedDehazer``'s.
    """
    state = network_state(checkpoint)
    if any(k.startswith('network.') for k in state):
        raise ValueError('already a PriorRefinedDehazer checkpoint (generator.network.* keys)')
    first = state.get(FIRST_CONV)
    if first is None or first.dim() != 4:
        raise ValueError(f'not a DehazeFormer checkpoint: no {FIRST_CONV} (first keys '
                         f'{list(state)[:3]})')
    if first.shape[1] == 3:
        state = dict(state, **{FIRST_CONV: torch.cat([first, torch.zeros_like(first)], dim=1)})
    elif first.shape[1] != 6:
        raise ValueError(f'{FIRST_CONV} has {first.shape[1]} input channels; expected 3 (a '
                         'plain DehazeFormer) or 6 (one trained behind a prior)')
    old_meta = checkpoint.get('meta', {}) if 'state_dict' in checkpoint else {}
    return dict(state_dict={f'generator.network.{k}': v for k, v in state.items()},
                meta=dict(old_meta, **(meta or {})))
