from . import transforms  # noqa: F401
from .bilevel_split import BilevelPairSampler, BilevelSplitDataset
from .image_folder import IMG_EXTENSIONS, ImageFolderDataset, PairedHazeDataset, scan_images

__all__ = [
    'BilevelPairSampler', 'BilevelSplitDataset', 'ImageFolderDataset', 'PairedHazeDataset',
    'scan_images', 'IMG_EXTENSIONS'
]
