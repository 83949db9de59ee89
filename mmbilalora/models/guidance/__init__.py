"""Everything CLIP: building frozen CLIP models offline-safe (:mod:`.clip_weights`), choosing the
guidance CLIP (:mod:`.choice`), the prompts (:mod:`.prompts`) and the compact haze-aware CLIP
(:mod:`.compact_clip`)."""
from .choice import choose_guidance
from .clip_weights import (CLIPWeightsUnavailable, build_frozen_clip, local_clip_weights,
                           resolve_clip_source)
from .compact_clip import CompactHazeCLIP, direction_cosines, direction_ranking_loss
from .prompts import CLEAR_PROMPT, HAZY_PROMPT

__all__ = ['CLEAR_PROMPT', 'CLIPWeightsUnavailable', 'CompactHazeCLIP', 'HAZY_PROMPT',
           'build_frozen_clip', 'choose_guidance', 'direction_cosines', 'direction_ranking_loss',
           'local_clip_weights', 'resolve_clip_source']
