"""No-reference evaluation: the FADE port against the MATLAB release, metrics, bad inputs."""
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, shared_path
from mmbilalora.evaluation import fade, load_fade_models
from helpers.fade_reference import FADE_RELEASE_VALUES
from mmbilalora.evaluation.metrics import EntropyMetric, FADEMetric, NIQEMetric
from mmbilalora.utils.image_io import read_rgb

# 4:2:0 JPEGs decode differently in Octave's GraphicsMagick than in libjpeg-turbo (Pillow,
# OpenCV); the rest match the release to 1e-6. BJ_Baidu_544's gap is the decoder's (README).
TOLERANCE = {'data/real_hazy/BJ_Baidu_544.jpeg': 0.007}


@pytest.fixture(scope='module')
def fade_models():
    return load_fade_models(shared_path('fade'))


@pytest.mark.parametrize('name', sorted(FADE_RELEASE_VALUES))
def test_fade_matches_matlab_release(name, fade_models):
    image = np.asarray(Image.open(shared_path(*name.split('/'))).convert('RGB'))
    value = fade(image, fade_models)
    reference = FADE_RELEASE_VALUES[name]
    assert abs(value - reference) / reference <= TOLERANCE.get(name, 0.005), value


def test_fade_is_exact_on_lossless_images(fade_models):
    for name in ('fade/test_image1.png', 'data/real_hazy/cityscape_input.png',
                 'data/real_hazy/house_input.png'):
        image = np.asarray(Image.open(shared_path(*name.split('/'))).convert('RGB'))
        assert fade(image, fade_models) == pytest.approx(FADE_RELEASE_VALUES[name], abs=2e-6)


def test_fade_map_and_monotonic_in_haze(fade_models):
    clear = np.asarray(Image.open(shared_path('data', 'clear_pristine', '01.jpg'))
                       .convert('RGB'))[:256, :256]
    hazy = (clear * 0.4 + 0.6 * 230).astype(np.uint8)
    d_clear, dmap = fade(clear, fade_models, return_map=True)
    assert dmap.shape == (32, 32)
    assert fade(hazy, fade_models) > 2 * d_clear


def test_fade_leaves_out_patches_whose_vertical_mscn_products_are_all_positive(fade_models):
    """As the LIVE release (``nanvar`` of no non-positive product, then ``nanmean`` over the
    patches): a photo beside vertical stripes, whose vertical MSCN products are squares, is
    scored on the photo's patches only (the README's note on the demo's Beijing photo)."""
    photo = np.asarray(Image.open(shared_path('data', 'clear_pristine', '01.jpg'))
                       .convert('RGB'))[:64, :64]
    profile = np.round(128 + 60 * np.cos(2 * np.pi * (np.arange(64) + 0.3) / 8))
    stripes = np.repeat(np.broadcast_to(profile, (64, 64))[..., None], 3, axis=2)
    density, dmap = fade(np.concatenate([photo, stripes.astype(np.uint8)], axis=1), fade_models,
                         return_map=True)
    assert dmap.shape == (8, 16)
    assert np.isnan(dmap[:, 8:]).all() and np.isfinite(dmap[:, :8]).all()
    assert np.isfinite(density)


def test_missing_statistics_say_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.delenv('MMBILALORA_FADE_DIR', raising=False)
    with pytest.raises(FileNotFoundError, match='LIVE FADE release'):
        load_fade_models()
    with pytest.raises(FileNotFoundError, match='natural_fogfree_image_features_ps8.mat'):
        load_fade_models(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='LIVE FADE release'):
        FADEMetric()


def test_fade_input_layouts(fade_models):
    rgb = (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)
    gray = rgb[..., 0]
    assert fade(gray, fade_models) == pytest.approx(fade(np.stack([gray] * 3, -1), fade_models))
    rgba = np.concatenate([rgb, np.full((40, 48, 1), 7, np.uint8)], axis=2)
    assert fade(rgba, fade_models) == pytest.approx(fade(rgb, fade_models))
    with pytest.raises(ValueError, match='at least 8x8'):
        fade(rgb[:5, :40], fade_models)
    with pytest.raises(TypeError, match='uint8'):
        fade(rgb.astype(np.uint16), fade_models)


def test_read_rgb_documented_handling(tmp_path):
    gray16 = (np.arange(20 * 24).reshape(20, 24) * 100).astype(np.uint16)
    cv2.imwrite(str(tmp_path / 'g16.png'), gray16)
    out = read_rgb(str(tmp_path / 'g16.png'))
    assert out.shape == (20, 24, 3) and out.dtype == np.uint8
    assert out[-1, -1, 0] == round(gray16[-1, -1] / 257)
    Image.fromarray(np.zeros((5, 6, 4), np.uint8) + 9, 'RGBA').save(tmp_path / 'a.png')
    assert read_rgb(str(tmp_path / 'a.png')).shape == (5, 6, 3)
    Image.fromarray(np.zeros((5, 6), np.uint8) + 3, 'L').save(tmp_path / 'l.png')
    assert (read_rgb(str(tmp_path / 'l.png')) == 3).all()
    (tmp_path / 'notes.png').write_text('not an image')
    with pytest.raises(ValueError, match='notes.png'):
        read_rgb(str(tmp_path / 'notes.png'))
    rotated = Image.fromarray(np.zeros((10, 20, 3), np.uint8))
    exif = rotated.getexif()
    exif[274] = 6  # rotate 90 degrees on display
    rotated.save(tmp_path / 'r.jpg', exif=exif)
    assert read_rgb(str(tmp_path / 'r.jpg')).shape == (20, 10, 3)


def make_samples(images):
    import torch
    return [dict(output=dict(pred_img=torch.from_numpy(out).permute(2, 0, 1).float()),
                 input=torch.from_numpy(inp).permute(2, 0, 1).float(), img_path=f'/x/{i}.png')
            for i, (inp, out) in enumerate(images)]


def test_no_reference_metrics_score_output_and_input(fade_models):
    rng = np.random.default_rng(1)
    clear = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    hazy = (clear * 0.3 + 170).astype(np.uint8)
    metric = FADEMetric(fade_dir=shared_path('fade'), score_input=True)
    metric.process(None, make_samples([(hazy, clear), (hazy, clear)]))
    result = metric.compute_metrics(metric.results)
    assert result['FADE'] == pytest.approx(fade(clear, fade_models))
    assert result['FADE_input'] == pytest.approx(fade(hazy, fade_models))
    assert [r['name'] for r in metric.last_per_image] == ['0.png', '1.png']
    entropy = EntropyMetric()
    entropy.process(None, make_samples([(hazy, clear)]))
    flat = EntropyMetric()
    flat.process(None, make_samples([(hazy, np.full_like(clear, 80))]))
    assert flat.compute_metrics(flat.results)['Entropy'] == 0.0
    assert entropy.compute_metrics(entropy.results)['Entropy'] > 7.5
    niqe = NIQEMetric()
    photo = read_rgb(shared_path('data', 'clear_pristine', '01.jpg'))[:192, :192]
    niqe.process(None, make_samples([(photo, photo)]))
    assert 0 < niqe.compute_metrics(niqe.results)['NIQE'] < 30
    missing_input = FADEMetric(fade_dir=shared_path('fade'), score_input=True)
    with pytest.raises(KeyError, match='score_input'):
        missing_input.process(None, [dict(output=dict(pred_img=make_samples(
            [(hazy, clear)])[0]['output']['pred_img']))])


# ---------------------------------------------------------------- tools: test report, dehaze


@pytest.fixture(scope='module')
def base_checkpoint(tmp_path_factory):
    """A DehazeFormer-t BaseEditModel checkpoint (random weights)."""
    import torch
    from mmagic.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmagic')
    torch.manual_seed(0)
    net = MODELS.build(dict(type='DehazeFormer', arch='t'))
    path = tmp_path_factory.mktemp('ckpt') / 'base.pth'
    torch.save(dict(state_dict={f'generator.{k}': v for k, v in net.state_dict().items()},
                    meta=dict()), path)
    return path


def run_tool(args, env=None):
    import os
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, **(env or {})))
    return proc


UNLABELED_CONFIG = osp.join(ROOT, 'configs', 'dehazeformer',
                            'dcp-dehazeformer-t-conv_test-unlabeled.py')


def test_test_tool_writes_report_and_images_for_unlabeled_folder(sample_split, tmp_path):
    folder = sample_split / 'val'
    inputs_before = {p.name: p.read_bytes() for p in folder.iterdir()}
    proc = run_tool([osp.join(ROOT, 'tools', 'test.py'), UNLABELED_CONFIG,
                     'mmbilalora://dcp-dehazeformer-t-conv_synhaze_clear-pristine',
                     '--work-dir', str(tmp_path), '--cfg-options',
                     f'test_dataloader.dataset.data_root={folder}',
                     'test_dataloader.num_workers=0'],
                    env=dict(MMBILALORA_FADE_DIR=shared_path('fade')))
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    # photos without references: no "Cannot find key 'gt_img'"; no third-party FutureWarnings
    assert 'Cannot find key' not in log and 'FutureWarning' not in log
    report = json.loads((tmp_path / 'test_report' / 'report.json').read_text())
    assert len(report['images']) == 5
    assert set(report['mean']) == {'FADE', 'FADE_input', 'NIQE', 'NIQE_input', 'Entropy',
                                   'Entropy_input', 'BrightnessRatio', 'ColourCast',
                                   'ColourCast_input', 'Blockiness', 'Blockiness_input'}
    first = report['images'][0]
    assert set(first['FADE']) == {'input', 'output'}
    assert set(first['BrightnessRatio']) == {'output'}  # relative to the input already
    assert np.mean([im['FADE']['output'] for im in report['images']]) == pytest.approx(
        report['mean']['FADE'])
    table = (tmp_path / 'test_report' / 'report.md').read_text()
    assert '| image | FADE input | FADE output |' in table
    outputs = sorted(p.name for p in (tmp_path / 'test_report' / 'images').iterdir())
    assert outputs == sorted(inputs_before)
    for name in outputs:
        assert read_rgb(str(tmp_path / 'test_report' / 'images' / name)).shape == read_rgb(
            str(folder / name)).shape
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == inputs_before


def test_dehaze_tool_folder_grid_and_input_protection(base_checkpoint, sample_split, tmp_path):
    folder = sample_split / 'val'
    out = tmp_path / 'out'
    script = osp.join(ROOT, 'tools', 'dehaze.py')
    common = ['--config', osp.join(ROOT, 'configs', 'dehazeformer',
                                   'dehazeformer-t_synhaze.py'),
              '--checkpoint', str(base_checkpoint)]
    proc = run_tool([script, str(folder), *common, '--out', str(out), '--grid', '--tile',
                     '128'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    for image in folder.iterdir():
        result = read_rgb(str(out / image.name))
        assert result.shape == read_rgb(str(image)).shape
        compare = read_rgb(str(out / (image.stem + '_compare.jpg')))
        assert compare.shape[1] == 2 * result.shape[1]
    refused = run_tool([script, str(folder), *common, '--out', str(folder)])
    assert refused.returncode != 0 and 'input folder' in refused.stderr
    empty = tmp_path / 'empty'
    empty.mkdir()
    proc = run_tool([script, str(empty), *common, '--out', str(out)])
    assert proc.returncode != 0 and 'holds no image' in proc.stderr
    corrupt = tmp_path / 'corrupt.pth'
    corrupt.write_bytes(b'not a checkpoint')
    proc = run_tool([script, str(folder), common[0], common[1], '--checkpoint', str(corrupt),
                     '--out', str(out)])
    assert proc.returncode != 0 and 'corrupt.pth' in proc.stderr


def test_tiled_inference_matches_whole_image_for_local_network():
    import torch
    from mmbilalora.apis import Dehazer, dehaze_array
    from mmbilalora.models.data_preprocessors import PixelConvention
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 3, 3, padding=1, padding_mode='reflect')
    dehazer = Dehazer(conv.eval(), PixelConvention.symmetric(127.5, 127.5))
    image = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    whole = dehaze_array(dehazer, image, tile=None, pad_multiple=1)
    tiled = dehaze_array(dehazer, image, tile=32, overlap=8, pad_multiple=1)
    assert tiled.shape == image.shape
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1


def test_pyiqa_metric_offline_behaviour():
    from mmbilalora.evaluation.metrics import PyIQAMetric, PyIQAWeightsUnavailable
    piqe = PyIQAMetric('piqe', score_input=True)
    photo = read_rgb(shared_path('data', 'clear_pristine', '01.jpg'))[:128, :128]
    blurred = cv2.GaussianBlur(photo, (9, 9), 4)
    piqe.process(None, make_samples([(blurred, photo)]))
    scores = piqe.compute_metrics(piqe.results)
    assert set(scores) == {'PIQE', 'PIQE_input'}
    assert 0 <= scores['PIQE'] <= 100 and scores['PIQE'] != scores['PIQE_input']
    with pytest.raises(PyIQAWeightsUnavailable, match='musiq'):
        PyIQAMetric('musiq')
    with pytest.raises(KeyError, match='no-reference pyiqa metric'):
        PyIQAMetric('psnr')


def test_patch_entropy_matches_histogram_definition():
    import importlib
    fade_module = importlib.import_module('mmbilalora.evaluation.fade')
    rng = np.random.default_rng(0)
    patches = np.concatenate([
        np.full((1, 64), 7, np.uint8),                    # one value: 0 bits
        np.arange(64, dtype=np.uint8)[None],              # 64 distinct values: 6 bits
        rng.integers(0, 256, (50, 64)).astype(np.uint8),
        rng.integers(100, 104, (50, 64)).astype(np.uint8)])
    expected = []
    for row in patches:
        prob = np.bincount(row, minlength=256) / 64.0
        prob = prob[prob > 0]
        expected.append(-(prob * np.log2(prob)).sum())
    got = fade_module._patch_entropy(patches)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert got[0] == 0 and got[1] == pytest.approx(6.0)
