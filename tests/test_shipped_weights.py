"""The committed base checkpoint and compact CLIP load through the public paths and work."""
import json
import os.path as osp
import warnings

import numpy as np
import pytest
import torch

from conftest import ROOT, shared_path

from mmbilalora.utils import model_zoo

BASE = model_zoo.model_path(model_zoo.SHIPPED_BASE)
BASE_CONFIG = model_zoo.config_path(model_zoo.SHIPPED_BASE)
COMPACT = model_zoo.model_path(model_zoo.COMPACT_CLIP)


def test_base_checkpoint_is_small_loads_and_dehazes_synthetic_haze():
    from mmbilalora.apis import dehaze_array, load_dehazer
    from mmbilalora.datasets.transforms import SyntheticHaze
    from mmbilalora.utils.image_io import read_rgb
    assert osp.getsize(BASE) < 3_000_000
    meta = torch.load(BASE, weights_only=True)['meta']
    assert meta['val']['PSNR'] > 15
    dehazer = load_dehazer(BASE_CONFIG, BASE)
    clear = read_rgb(shared_path('data', 'clear_pristine', '03.jpg'))[:192, :192]
    # A metered capture (the camera brings the hazy scene to the clear scene's mean screen
    # brightness), as the base was trained for; on unmetered haze over this dark crop it keeps
    # the haze's brightness and gets no closer to the clear crop (see the README's note on
    # exposure).
    hazy = SyntheticHaze(seed=5, depth_modes=('homogeneous', ), exposure_compensation=(1, 1),
                         exposure_metering='display')(
        dict(gt=clear, gt_path='x'))['img'].round().clip(0, 255).astype(np.uint8)
    out = dehaze_array(dehazer, hazy, tile=None)

    def err(a):
        return np.abs(a.astype(float) - clear.astype(float)).mean()

    assert err(out) < 0.8 * err(hazy)  # measured 0.626 (stages 8-9: 0.678, stage 7: 0.618)


def test_base_leaves_haze_free_photos_alone():
    """Held-out haze-free photos (clear_pristine 01-08, never trained on), shrunk to 384 pixels
    for speed: the base keeps their brightness and barely changes them."""
    import cv2

    from mmbilalora.apis import dehaze_array, load_dehazer
    from mmbilalora.datasets import scan_images
    from mmbilalora.evaluation import brightness_ratio, mean_abs_change
    from mmbilalora.utils.image_io import read_rgb
    dehazer = load_dehazer(BASE_CONFIG, BASE)
    ratios, changes = [], []
    for path in scan_images(shared_path('data', 'clear_pristine'))[:8]:
        image = read_rgb(path)
        scale = 384 / max(image.shape[:2])
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        out = dehaze_array(dehazer, image, tile=None)
        ratios.append(brightness_ratio(out, image))
        changes.append(mean_abs_change(out, image))
    assert np.mean(ratios) >= 0.95, ratios
    # Measured 4.32 (0 on the five the haze gate calls haze-free, 7.3 and 1.9 on two it opens a
    # little, 25.4 on 05, whose sky is itself lightly hazy), brightness 1.017; stages 8-9: 4.35 /
    # 1.018, stage 7: 4.31 / 1.019, stage 6: 5.46 / 0.987; the first base moved these by 20.9.
    assert np.mean(changes) <= 6.0, changes


def test_base_adds_no_grid_to_a_dim_real_photo():
    """A dim, hazy city photo (RTTS CD_Baidu_451) at full size: the output has no 4-pixel patch
    grid or window seams beyond the input's own (stage 5, without the output filter: 1.24 grey
    levels at period 4) and is not darkened below the exposure floor."""
    from mmbilalora.apis import dehaze_array, load_dehazer
    from mmbilalora.evaluation import blockiness, brightness_ratio
    from mmbilalora.utils.image_io import read_rgb
    image = read_rgb(shared_path('data', 'real_hazy', 'CD_Baidu_451.jpeg'))
    out = dehaze_array(load_dehazer(BASE_CONFIG, BASE), image)
    assert abs(blockiness(image)) < 0.15  # measured 0.09; the output 0.118 (stage 9: 0.085)
    assert blockiness(out) < 0.3, blockiness(out, periods=(4, ))
    # The exposure floor, over 512-pixel tiles: the dim dusk scene keeps 0.85 of its light
    # (stage 9, without the floor: 0.73).
    assert brightness_ratio(out, image) == pytest.approx(0.85, abs=0.005)


def test_compact_clip_loads_as_local_dir_and_separates_haze_direction():
    from mmbilalora.models.losses import CLIPHazeClearLoss
    evaluation = json.load(open(osp.join(COMPACT, 'evaluation.json')))
    assert evaluation['zero_shot']['synthetic_pairs']['accuracy'] > 0.8
    # the guide prefers the clear crop over darkened, flattened, tinted, over-saturated, noisy
    # ones and over the clear crop tinted with the haze's colour
    h2c = evaluation['h2c_loss']
    assert {'noise', 'airlight cast'} <= set(h2c)
    assert all(h2c['clear'] < h2c[kind] for kind in h2c if kind != 'clear'), h2c
    # stage 2 (haze-clip-tiny_stage2.py) measured 0.37 / 0.27 / 0.60; over five
    # over-processings (the first guide, evaluated the same way: 0.40 / 0.27 / 0.60)
    assert evaluation['clear_preferred'] >= 0.35 and evaluation['half_preferred'] >= 0.25
    assert evaluation['airlight_cast_preferred'] >= 0.55
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no "random weights" warning: real trained weights
        loss = CLIPHazeClearLoss(pretrained=f'local-dir:{COMPACT}', input_range=(0, 1))
    assert 'haze_clip_tiny' in loss.weights_source
    assert osp.getsize(osp.join(COMPACT, 'open_clip_model.safetensors')) <= 20 * 2**20
    torch.manual_seed(0)
    clear = torch.rand(1, 3, 64, 64) * 0.8 + 0.1
    hazy = clear * 0.4 + 0.55
    # dehazing (hazy -> clear) follows the text direction better than adding haze
    assert loss(clear, hazy).item() < loss(hazy, clear).item()


@pytest.mark.parametrize('config', ['dehazeformer_rtts.py', 'dehazeformer_demo.py'])
def test_bilalora_configs_adapt_the_shipped_base(config):
    """The user's BiLaLoRA command adapts the shipped base: its generator and weights."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'bilalora', config))
    assert cfg.model.generator.to_dict() == Config.fromfile(BASE_CONFIG).model.generator.to_dict()
    assert osp.samefile(model_zoo.resolve(cfg.load_from), BASE)


# Per-channel means and the standard deviation of the shipped base's outputs (512-pixel tiles, as
# tools/dehaze.py), measured with the code at the tag lab-notebook-2026-12-07, before the base
# became a PriorRefinedDehazer; benchmarks/shipped_base_outputs.py compares every pixel.
OUTPUTS_AT_THE_TAG = {
    'flags_input.png': ((148.982, 142.769, 137.348), 63.680),
    'house_input.png': ((115.315, 129.992, 83.965), 51.902),
    'dolls_input.png': ((176.371, 135.281, 125.822), 69.709),
    'BJ_Baidu_544.jpeg': ((182.693, 188.769, 186.837), 69.199),
}


@pytest.mark.parametrize('name', sorted(OUTPUTS_AT_THE_TAG))
def test_the_shipped_base_dehazes_real_photos_as_before_the_redesign(name):
    from mmbilalora.apis import dehaze_array, load_dehazer
    from mmbilalora.utils.image_io import read_rgb
    out = dehaze_array(load_dehazer(), read_rgb(shared_path('data', 'real_hazy', name)))
    means, std = OUTPUTS_AT_THE_TAG[name]
    assert out.reshape(-1, 3).mean(axis=0) == pytest.approx(means, abs=0.01)
    assert out.std() == pytest.approx(std, abs=0.01)
