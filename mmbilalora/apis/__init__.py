from .inference import Dehazer, dehaze_array, load_dehazer, tile_windows
from .routing import PromptRouter

__all__ = ['Dehazer', 'dehaze_array', 'load_dehazer', 'tile_windows', 'PromptRouter']
