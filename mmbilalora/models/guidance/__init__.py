from .compact_clip import (CompactHazeCLIP, direction_cosines, direction_ranking_loss,
                           evaluate_guide)

__all__ = ['CompactHazeCLIP', 'direction_cosines', 'direction_ranking_loss', 'evaluate_guide']
