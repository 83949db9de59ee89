from .authors_checkpoint import authors_adapter, authors_dea_net, convert_authors_files
from .guidance import choose_guidance
from .inference import Dehazer, dehaze_array, load_dehazer, tile_windows
from .routing import PromptRouter
from .shipped import COMPACT_CLIP, SHIPPED_BASE_CHECKPOINT, SHIPPED_BASE_CONFIG

__all__ = [
    'Dehazer', 'dehaze_array', 'load_dehazer', 'tile_windows', 'authors_adapter',
    'authors_dea_net', 'convert_authors_files', 'PromptRouter', 'COMPACT_CLIP', 'choose_guidance',
    'SHIPPED_BASE_CONFIG', 'SHIPPED_BASE_CHECKPOINT'
]
