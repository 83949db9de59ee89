from .inference import Dehazer, dehaze_array, load_dehazer, tile_windows

__all__ = ['Dehazer', 'dehaze_array', 'load_dehazer', 'tile_windows']
