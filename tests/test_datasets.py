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


class _Halves:
    """Stands in for BilevelSplitDataset: 6 lower and 4 upper positions."""
    lower_indices = list(range(6))
    upper_indices = list(range(4))


def test_bilevel_pair_sampler_draws_upper_partners_independently():
    from mmbilalora.datasets import BilevelPairSampler
    sampler = BilevelPairSampler(_Halves(), seed=7)
    epochs = []
    for epoch in range(4):
        sampler.set_epoch(epoch)
        epochs.append(list(sampler))
    assert all(sorted(lo for lo, _ in pairs) == list(range(6)) for pairs in epochs)
    assert all(len(pairs) == len(sampler) == 6 for pairs in epochs)
    for pairs in epochs:  # the upper stream is whole random orders of the upper half
        assert sorted(up for _, up in pairs[:4]) == list(range(4))
    partners = {lo: {dict(pairs)[lo] for pairs in epochs} for lo in range(6)}
    assert max(len(p) for p in partners.values()) > 1  # pairs change between epochs
    sampler.set_epoch(2)
    assert list(sampler) == epochs[2]  # deterministic (resume)
    infinite = iter(BilevelPairSampler(_Halves(), seed=7, infinite=True))
    assert [next(infinite) for _ in range(12)] == epochs[0] + epochs[1]
    ranks = []
    for rank in range(2):
        split = BilevelPairSampler(_Halves(), seed=7)
        split.rank, split.world_size = rank, 2
        split.num_samples, split.total_size = 3, 6
        ranks.append(list(split))
    assert sorted(ranks[0] + ranks[1]) == sorted(epochs[0])


def test_bilevel_split_dataset_takes_pair_items(tmp_path):
    for i in range(4):
        cv2.imwrite(str(tmp_path / f'{i}.png'), np.full((8, 8, 3), 40 * i, np.uint8))
    dataset = DATASETS.build(dict(
        type='BilevelSplitDataset', split_seed=0,
        dataset=dict(type='ImageFolderDataset', data_root=str(tmp_path), key='img',
                     pipeline=[dict(type='LoadImageFromFileChecked', key='img'),
                               dict(type='PackInputs', keys=['img'])])))
    item = dataset[(1, 0)]
    lower_value = int(item['inputs'][0, 0, 0])
    upper_value = int(item['upper_inputs'][0, 0, 0])
    assert lower_value == 40 * dataset.lower_indices[1]
    assert upper_value == 40 * dataset.upper_indices[0]


@pytest.mark.parametrize('interpolation', ['bilinear', 'bicubic'])
def test_random_square_crop_upscales_small_images_as_pillow(interpolation):
    from PIL import Image
    image = (np.random.default_rng(0).random((40, 60, 3)) * 255).astype(np.uint8)
    crop = TRANSFORMS.build(dict(type='RandomSquareCrop', keys=['img'], size=64,
                                 interpolation=interpolation))
    out = crop.transform(dict(img=image.copy()))
    left, top, side, _ = out['crop_bbox']
    assert side == 40 and out['img'].shape == (64, 64, 3)
    resample = dict(bilinear=Image.BILINEAR, bicubic=Image.BICUBIC)[interpolation]
    expected = np.asarray(Image.fromarray(image[top:top + 40, left:left + 40]).resize(
        (64, 64), resample))
    assert np.array_equal(out['img'], expected)
    big = crop.transform(dict(img=np.zeros((80, 90, 3), np.uint8)))
    assert big['img'].shape == (64, 64, 3) and big['crop_bbox'][2] == 64


def test_random_square_crop_upscaled_output_takes_in_place_flips():
    """A photo smaller than the crop, then the training pipeline's in-place flips (MMagic's
    Flip writes into the array: Pillow's read-only buffer made it fail)."""
    image = (np.random.default_rng(1).random((40, 60, 3)) * 255).astype(np.uint8)
    out = TRANSFORMS.build(dict(type='RandomSquareCrop', keys=['img'], size=64))(
        dict(img=image))
    upscaled = out['img'].copy()
    for direction in ('horizontal', 'vertical'):
        out = TRANSFORMS.build(dict(type='Flip', keys=['img'], flip_ratio=1.0,
                                    direction=direction))(out)
    assert np.array_equal(out['img'], upscaled[::-1, ::-1])
