"""What tools, the browser UI and users call: load a dehazer, dehaze an image or a folder (resume,
routing between adapters, failures listed), adapt to a set of photos, convert checkpoints."""
from .adaptation import Adaptation, adapt
from .authors_checkpoint import authors_adapter, authors_dea_net, convert_authors_files
from .conversion import dehazeformer_to_prior_refined
from .folder import FolderRun, dehaze_folder
from .inference import Dehazer, dehaze_array, load_dehazer, tile_windows
from .routing import PromptRouter
from .session import DehazeSession

__all__ = [
    'Adaptation', 'DehazeSession', 'Dehazer', 'FolderRun', 'PromptRouter', 'adapt',
    'authors_adapter',
    'authors_dea_net', 'convert_authors_files', 'dehaze_array', 'dehaze_folder',
    'dehazeformer_to_prior_refined', 'load_dehazer', 'tile_windows'
]
