from . import transforms  # noqa: F401
from .bilevel_split import BilevelPairSampler, BilevelSplitDataset
from .caption_degradation_dataset import CaptionDegradationDataset
from .image_folder import IMG_EXTENSIONS, ImageFolderDataset, PairedHazeDataset, scan_images

__all__ = [
    'BilevelPairSampler', 'BilevelSplitDataset', 'CaptionDegradationDataset',
    'ImageFolderDataset', 'PairedHazeDataset', 'scan_images', 'IMG_EXTENSIONS'
]
