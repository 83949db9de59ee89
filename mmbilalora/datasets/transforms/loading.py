"""Image loading that names the file it cannot decode."""
import numpy as np
from mmagic.datasets.transforms import LoadImageFromFile
from mmagic.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """MMagic's ``LoadImageFromFile`` that fails with the file's path on a missing, empty,
    truncated or non-image file instead of a ``NoneType`` error further down the pipeline.

    Arguments are those of ``LoadImageFromFile``.
    """

    def _load_image(self, filename: str) -> np.ndarray:
        try:
            img = super()._load_image(filename)
        except FileNotFoundError as err:
            raise FileNotFoundError(f'Image file not found: {filename!r}') from err
        except Exception as err:  # decoders raise many types on corrupt data
            raise ValueError(f'Cannot decode image file {filename!r}: {err}') from err
        if img is None or img.size == 0:
            raise ValueError(f'Cannot decode image file {filename!r}: not a readable image '
                             '(corrupt, truncated or of an unsupported format).')
        return img
