from . import transforms  # noqa: F401
from .image_folder import IMG_EXTENSIONS, ImageFolderDataset, PairedHazeDataset, scan_images

__all__ = ['ImageFolderDataset', 'PairedHazeDataset', 'scan_images', 'IMG_EXTENSIONS']
