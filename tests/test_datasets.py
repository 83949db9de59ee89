"""Folder datasets and the checked image loader: listing, pairing and clear errors."""
import cv2
import numpy as np
import pytest
from mmagic.registry import DATASETS, TRANSFORMS


def write_png(path, h=20, w=24, value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((h, w, 3), value, np.uint8))


def test_image_folder_lists_recursively_sorted(tmp_path):
    write_png(tmp_path / 'b.png')
    write_png(tmp_path / 'a.PNG')
    write_png(tmp_path / 'sub' / 'c.png')
    (tmp_path / 'notes.txt').write_text('not an image')
    ds = DATASETS.build(dict(type='ImageFolderDataset', data_root=str(tmp_path), key='img'))
    assert [ds.get_data_info(i)['key'] for i in range(len(ds))] == ['a.PNG', 'b.png', 'sub/c.png']
    flat = DATASETS.build(dict(type='ImageFolderDataset', data_root=str(tmp_path),
                               recursive=False))
    assert len(flat) == 2


def test_missing_and_empty_folders_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match='Image folder not found'):
        DATASETS.build(dict(type='ImageFolderDataset', data_root=str(tmp_path / 'nope')))
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'readme.txt').write_text('x')
    with pytest.raises(ValueError, match='holds no image'):
        DATASETS.build(dict(type='ImageFolderDataset', data_root=str(tmp_path / 'empty')))


def test_paired_dataset_pairs_reside_names(tmp_path):
    write_png(tmp_path / 'clear' / '1400.png')
    write_png(tmp_path / 'clear' / '1401.jpg')
    write_png(tmp_path / 'clear' / 'same.png')
    write_png(tmp_path / 'hazy' / '1400_1.png')
    write_png(tmp_path / 'hazy' / '1400_2.png')
    write_png(tmp_path / 'hazy' / '1401_0.8_0.2.jpg')
    write_png(tmp_path / 'hazy' / 'same.png')
    ds = DATASETS.build(dict(type='PairedHazeDataset', data_root=str(tmp_path)))
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    pairs = {d['key']: d['gt_path'].rsplit('/', 1)[-1] for d in infos}
    assert pairs == {'1400_1.png': '1400.png', '1400_2.png': '1400.png',
                     '1401_0.8_0.2.jpg': '1401.jpg', 'same.png': 'same.png'}


def test_paired_dataset_names_unpaired_hazy_file(tmp_path):
    write_png(tmp_path / 'clear' / '1.png')
    write_png(tmp_path / 'hazy' / '2_1.png')
    with pytest.raises(FileNotFoundError, match='2_1.png'):
        DATASETS.build(dict(type='PairedHazeDataset', data_root=str(tmp_path)))


def test_checked_loader_names_corrupt_and_missing_files(tmp_path):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + b'garbage' * 10)
    load = TRANSFORMS.build(dict(type='LoadImageFromFileChecked', key='img'))
    with pytest.raises(ValueError, match='broken.png'):
        load(dict(img_path=str(bad)))
    with pytest.raises(FileNotFoundError, match='gone.png'):
        load(dict(img_path=str(tmp_path / 'gone.png')))
    good = tmp_path / 'good.png'
    write_png(good, value=77)
    out = load(dict(img_path=str(good)))
    assert out['img'].shape == (20, 24, 3) and int(out['img'][0, 0, 0]) == 77
