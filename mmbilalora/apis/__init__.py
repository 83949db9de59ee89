from .authors_checkpoint import authors_adapter, authors_dea_net, convert_authors_files
from .guidance import COMPACT_CLIP, choose_guidance
from .inference import Dehazer, dehaze_array, load_dehazer, tile_windows
from .routing import PromptRouter

__all__ = [
    'Dehazer', 'dehaze_array', 'load_dehazer', 'tile_windows', 'authors_adapter',
    'authors_dea_net', 'convert_authors_files', 'PromptRouter', 'COMPACT_CLIP', 'choose_guidance'
]
