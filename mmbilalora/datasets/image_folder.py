"""Folder datasets: unlabeled image folders and hazy/clear paired folders."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmagic.registry import DATASETS
from mmengine.dataset import BaseDataset

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def scan_images(folder: str, recursive: bool = True,
                extensions: Sequence[str] = IMG_EXTENSIONS) -> List[str]:
    """Sorted image paths under ``folder`` (case-insensitive extensions).

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: the folder holds no file with one of ``extensions``.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'Image folder not found: {folder!r}')
    exts = tuple(e.lower() for e in extensions)
    paths = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        paths.extend(osp.join(root, f) for f in sorted(files) if f.lower().endswith(exts))
        if not recursive:
            break
    if not paths:
        raise ValueError(f'Image folder {folder!r} holds no image with extension '
                         f'{"/".join(exts)} (recursive={recursive}).')
    return sorted(paths)


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """Every image under one folder, as ``{f'{key}_path': path, 'key': relative path}``.

    Use ``key='gt'`` for a folder of clear photos (synthetic haze makes the input on the fly) and
    ``key='img'`` for an unlabeled folder of hazy photos (RTTS layout).

    Args:
        data_root: the folder (its sub-folders too when ``recursive``).
        key: results key the image is loaded under.
        recursive: descend into sub-folders.
        extensions: accepted file extensions (case-insensitive).
        skip_unreadable: decode every image once when the dataset is built and leave out the
            ones that cannot be read, listing them (relative path and reason) in
            ``self.unreadable``, so that one bad file does not stop a test run.
        exclude_keys: relative paths (``key``) to leave out, e.g. images already processed.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset` (pipeline, test_mode, ...).
    """

    METAINFO = dict(dataset_type='image_folder', task_name='dehazing')

    def __init__(self,
                 data_root: str,
                 key: str = 'img',
                 recursive: bool = True,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 skip_unreadable: bool = False,
                 exclude_keys: Sequence[str] = (),
                 **kwargs):
        self.key = key
        self.recursive = recursive
        self.extensions = tuple(extensions)
        self.skip_unreadable = skip_unreadable
        self.exclude_keys = set(exclude_keys)
        self.unreadable: List[Dict[str, str]] = []
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[Dict]:
        from ..utils.image_io import read_rgb
        data_list = []
        self.unreadable = []
        for path in scan_images(self.data_root, self.recursive, self.extensions):
            key = osp.relpath(path, self.data_root)
            if key in self.exclude_keys:
                continue
            if self.skip_unreadable:
                try:
                    read_rgb(path)
                except (OSError, ValueError) as err:
                    self.unreadable.append(dict(input=key, reason=str(err)))
                    continue
            data_list.append({f'{self.key}_path': path, 'key': key})
        return data_list


@DATASETS.register_module()
class PairedHazeDataset(BaseDataset):
    """Hazy/clear pairs in two folders (RESIDE ITS/OTS/SOTS, Haze4K, O-HAZE layouts).

    A hazy file is paired with the clear file whose stem equals the hazy stem, or (RESIDE
    naming, ``1400_1.png`` or ``1_1_0.90179.png`` -> ``1400.png`` / ``1.png``) the part of the
    hazy stem before ``separator``. Clear files may have another extension than hazy ones.

    Args:
        data_root: folder holding the two sub-folders.
        data_prefix: ``dict(img=hazy_subfolder, gt=clear_subfolder)``.
        separator: character that ends the clear-image id in hazy names; None pairs by equal stem.
    """

    METAINFO = dict(dataset_type='paired_haze', task_name='dehazing')

    def __init__(self,
                 data_root: str,
                 data_prefix: Optional[dict] = None,
                 separator: Optional[str] = '_',
                 **kwargs):
        self.separator = separator
        super().__init__(
            data_root=data_root, data_prefix=data_prefix or dict(img='hazy', gt='clear'),
            **kwargs)

    def load_data_list(self) -> List[Dict]:
        hazy_dir, clear_dir = self.data_prefix['img'], self.data_prefix['gt']
        clear_by_stem = {
            osp.splitext(osp.relpath(p, clear_dir))[0]: p
            for p in scan_images(clear_dir)
        }
        data_list = []
        for hazy in scan_images(hazy_dir):
            rel = osp.relpath(hazy, hazy_dir)
            stem = osp.splitext(rel)[0]
            clear = clear_by_stem.get(stem)
            if clear is None and self.separator:
                head, name = osp.split(stem)
                clear = clear_by_stem.get(osp.join(head, name.split(self.separator)[0]))
            if clear is None:
                raise FileNotFoundError(f'No clear image in {clear_dir!r} pairs with hazy image '
                                        f'{hazy!r} (looked for stem {stem!r}'
                                        + (f' and its prefix before {self.separator!r})'
                                           if self.separator else ')'))
            data_list.append(dict(img_path=hazy, gt_path=clear, key=rel))
        return data_list
