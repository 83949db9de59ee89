"""Training the compact haze-aware CLIP: degradations, objectives, export, a Runner smoke run."""
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import ROOT, shared_path
from mmbilalora.datasets import CaptionDegradationDataset
from mmbilalora.datasets.transforms.caption_degradations import (OVER_PROCESSING, add_haze,
                                                                  add_night_haze,
                                                                  airlight_cast, is_tinted,
                                                                  caption_sample, direction_set,
                                                                  over_process)
from mmbilalora.models.guidance.compact_clip import (CompactHazeCLIP, direction_cosines,
                                                     direction_ranking_loss,
                                                     multi_positive_clip_loss)

TINY = {'embed_dim': 16,
        'vision_cfg': {'image_size': 32, 'layers': 1, 'width': 32, 'patch_size': 8,
                       'head_width': 16},
        'text_cfg': {'context_length': 32, 'vocab_size': 49408, 'width': 32, 'heads': 2,
                     'layers': 1}}


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp('cc') / 'compact-test-tiny.json'
    path.write_text(json.dumps(TINY))
    return str(path)


def photo(seed=0, h=80, w=96):
    rng = np.random.default_rng(seed)
    base = np.linspace(0.2, 0.8, w)[None, :, None] * np.ones((h, 1, 3))
    return np.clip(base + rng.normal(0, 0.05, (h, w, 3)), 0, 1).astype(np.float32)


def test_over_processing_does_what_its_caption_says():
    rng = np.random.default_rng(0)
    img = photo() * np.array([0.9, 1.0, 1.1], np.float32)
    dark, caption = over_process(img, rng, 'dark')
    assert caption == OVER_PROCESSING['dark'] and dark.mean() < 0.9 * img.mean()
    contrast, _ = over_process(img, rng, 'contrast')
    assert contrast.std() > 1.2 * img.std()
    cast, _ = over_process(img, rng, 'cast')
    ratio = cast.reshape(-1, 3).mean(0) / img.reshape(-1, 3).mean(0)
    assert np.ptp(ratio) > 0.01 and abs(cast.mean() - img.mean()) < 0.05
    saturated, _ = over_process(img, rng, 'saturation')
    chroma = lambda x: np.abs(x - x.mean(-1, keepdims=True)).mean()  # noqa: E731
    assert chroma(saturated) > 1.3 * chroma(img)
    smooth = cv2.GaussianBlur(img, (0, 0), 2.0)
    noisy, caption = over_process(smooth, rng, 'noise')
    assert caption == 'a noisy photo' and abs(noisy.mean() - smooth.mean()) < 0.03
    detail = lambda x: np.abs(x - cv2.GaussianBlur(x, (0, 0), 1.0)).mean()  # noqa: E731
    blotches = cv2.GaussianBlur(noisy, (0, 0), 4.0) - cv2.GaussianBlur(smooth, (0, 0), 4.0)
    assert detail(noisy) > 3 * detail(smooth) and np.abs(blotches).mean() > 0.01
    ramp = np.repeat(np.linspace(0, 1, 101, dtype=np.float32)[None, :, None], 3, axis=2)
    shadows, caption = over_process(ramp, rng, 'shadows')
    assert caption == 'a photo with crushed shadows'
    assert (shadows[0, 40:60] < ramp[0, 40:60] - 0.03).all()  # mid-tones darker
    assert (shadows[0, 99:] > ramp[0, 99:] - 0.02).all()  # highlights kept
    assert shadows[0, 0].max() == 0 and shadows[0, -1].min() == 1
    sharpened, caption = over_process(img, rng, 'sharpened')
    coarse = lambda x: cv2.GaussianBlur(x, (0, 0), 4.0)  # noqa: E731
    assert caption == 'an oversharpened photo' and detail(sharpened) > 1.25 * detail(img)
    assert np.abs(coarse(sharpened) - coarse(img))[8:-8, 8:-8].max() < 0.01  # coarse scale kept
    with pytest.raises(ValueError, match='over-processing'):
        over_process(img, rng, 'vignette')


def test_haze_captions_and_direction_sets():
    rng = np.random.default_rng(1)
    hazy, caption = add_haze(photo(), rng, beta=2.0)
    assert 'thick haze' in caption and hazy.mean() > photo().mean()
    night, caption = add_night_haze(photo(), rng, beta=1.2)
    red, green, blue = night.reshape(-1, 3).mean(0)
    assert caption == 'a dark photo with haze' and night.mean() < 0.5 * photo().mean()
    assert red > green > blue  # a grey photo lit by artificial light
    for _ in range(30):
        image, caption = caption_sample(photo(), 32, rng)
        assert image.shape == (32, 32, 3) and 0 <= image.min() and image.max() <= 1
        assert caption.startswith(('a ', 'an ')) and 'photo' in caption and '  ' not in caption
    sets = direction_set(photo(), 32, np.random.default_rng(2))
    assert sets.shape == (5, 32, 32, 3)
    np.testing.assert_allclose(sets[3], 0.5 * (sets[0] + sets[1]), atol=1e-6)


def test_airlight_cast_keeps_the_haze_colour_and_direction_sets_use_it():
    rng = np.random.default_rng(3)
    magenta = np.array([0.9, 0.6, 0.85], np.float32)
    assert is_tinted(magenta) and not is_tinted(np.full(3, 0.8, np.float32))
    cast = airlight_cast(photo(), magenta, rng)
    ratio = cast.reshape(-1, 3).mean(0) / photo().reshape(-1, 3).mean(0)
    assert ratio[0] > ratio[2] > ratio[1]  # the airlight's channel order
    assert abs(cast.mean() - photo().mean()) < 0.03
    tinted = 0
    for seed in range(40):
        with_cast = direction_set(photo(), 32, np.random.default_rng(seed), airlight_casts=1.0)
        plain = direction_set(photo(), 32, np.random.default_rng(seed))
        np.testing.assert_array_equal(with_cast[:2], plain[:2])  # same clear and hazy crops
        changed = not np.array_equal(with_cast[2], plain[2])
        tinted += changed
        if changed:  # the over-processed crop is the clear crop times one gain per channel
            clear, over = with_cast[0].reshape(-1, 3), with_cast[2].reshape(-1, 3)
            gains = over.mean(0) / clear.mean(0)
            np.testing.assert_allclose(np.clip(clear * gains, 0, 1), over, atol=2e-3)
    assert 10 <= tinted < 40  # grey airlight keeps the random over-processing


def test_dim_scene_direction_sets_start_from_a_dimmed_clear_crop():
    ratios = []
    for seed in range(20):
        dim = direction_set(photo(), 32, np.random.default_rng(seed), dim_scenes=1.0)
        plain = direction_set(photo(), 32, np.random.default_rng(seed))
        np.testing.assert_allclose(dim[0] / dim[0].mean(), plain[0] / plain[0].mean(), rtol=1e-4)
        ratios.append(dim[0].mean() / plain[0].mean())  # the same crop, dimmed
        np.testing.assert_allclose(dim[3], 0.5 * (dim[0] + dim[1]), atol=1e-6)
    assert 0.349 <= min(ratios) and max(ratios) <= 0.701 and np.ptp(ratios) > 0.15


def test_dataset_options_name_bad_over_processings():
    with pytest.raises(ValueError, match='over_processings.*sharpen'):
        CaptionDegradationDataset(shared_path('data', 'clear_pristine'), indices=[0],
                                  over_processings=('dark', 'sharpen'))


def test_direction_cosines_and_ranking_loss_by_hand():
    direction = F.normalize(torch.tensor([1.0, 0.0, 0.0]), dim=0)
    h = torch.tensor([0.0, 1.0, 0.0])
    c = torch.tensor([1.0, 1.0, 0.0])          # clear: exactly along the direction from h
    o = torch.tensor([0.0, 1.0, 1.0])          # over-processed: orthogonal to it
    p = torch.tensor([0.5, 1.0, 0.0])
    q = torch.tensor([-1.0, 1.0, 0.0])         # against the direction
    e = torch.stack([c, h, o, p, q])[None]
    cos = direction_cosines(e, direction)

    def d(a, b):
        return float(F.normalize(F.normalize(a, dim=0) - F.normalize(b, dim=0), dim=0)
                     @ direction)
    for key, (a, b) in dict(c_h=(c, h), o_h=(o, h), p_h=(p, h), q_h=(q, h), o_c=(o, c),
                            q_p=(q, p)).items():
        assert float(cos[key]) == pytest.approx(d(a, b), abs=1e-6)
    margin = 0.1
    expected = (max(0, margin - (d(c, h) - d(o, h))) + max(0, margin - (d(c, h) - d(p, h)))
                + max(0, margin - (d(p, h) - d(q, h))) + max(0, margin + d(o, c))
                + 1 - d(c, h))
    assert float(direction_ranking_loss(cos, margin)) == pytest.approx(expected, abs=1e-6)
    assert max(0, margin + d(q, p)) == 0  # q lies against the direction seen from p
    assert float(direction_ranking_loss(cos, margin, half_hinge=True)) == pytest.approx(
        expected, abs=1e-6)
    q = torch.tensor([1.5, 1.0, 0.0])           # over-processing p further along the direction
    cos = direction_cosines(torch.stack([c, h, o, p, q])[None], direction)
    expected = (max(0, margin - (d(c, h) - d(o, h))) + max(0, margin - (d(c, h) - d(p, h)))
                + max(0, margin - (d(p, h) - d(q, h))) + max(0, margin + d(o, c))
                + 1 - d(c, h))
    half_hinge = max(0, margin + d(q, p))
    assert half_hinge > 0.5
    assert float(direction_ranking_loss(cos, margin, half_hinge=True)) == pytest.approx(
        expected + half_hinge, abs=1e-6)


def test_multi_positive_clip_loss_shares_targets_between_identical_captions():
    image = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    text = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    captions = ['a', 'a', 'b']
    logits = 2.0 * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).t()
    target = torch.tensor([[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 1.0]])
    expected = 0.5 * (-(target * logits.log_softmax(1)).sum(1).mean()
                      - (target * logits.t().log_softmax(1)).sum(1).mean())
    assert float(multi_positive_clip_loss(image, text, torch.tensor(2.0), captions)) == \
        pytest.approx(float(expected), abs=1e-6)


def test_training_lowers_both_losses_and_export_loads_as_guidance(tiny_config, tmp_path):
    from mmbilalora.models.losses import CLIPHazeClearLoss
    torch.manual_seed(0)
    model = CompactHazeCLIP(tiny_config)
    rng = np.random.default_rng(0)
    samples = [caption_sample(photo(i), 32, rng) for i in range(8)]
    batch = dict(image=torch.from_numpy(np.stack([s[0] for s in samples])).permute(0, 3, 1, 2),
                 caption=[s[1] for s in samples],
                 direction=torch.from_numpy(np.stack([direction_set(photo(i), 32, rng)
                                                      for i in range(4)])).permute(0, 1, 4, 2, 3))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    first = None
    for _ in range(25):
        losses = model(**batch)
        if first is None:
            first = {k: float(v) for k, v in losses.items()}
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    last = {k: float(v) for k, v in model(**batch).items()}
    assert last['loss_contrastive'] < 0.8 * first['loss_contrastive']
    assert last['loss_direction'] < 0.8 * first['loss_direction']
    model.export(str(tmp_path))
    guide = CLIPHazeClearLoss(pretrained=f'local-dir:{tmp_path}', input_range=(0, 1))
    x = batch['image'][:2]
    with torch.no_grad():
        ours = F.normalize(model.encode_image(x), dim=-1)
        theirs = guide.encode_image(x, clamp=True)
        expected_direction = model.text_direction()
    assert torch.allclose(ours, theirs, atol=2e-2)  # fp16 export
    assert torch.allclose(guide.text_direction[0], expected_direction, atol=2e-2)
    with pytest.raises(ValueError, match='losses'):
        model(**batch, mode='predict')


def test_runner_smoke_run_exports_and_evaluates(tiny_config, tmp_path):
    clear = shared_path('data', 'clear_pristine')
    out = tmp_path / 'guide'
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'),
           osp.join(ROOT, 'configs', 'compact_clip', 'haze-clip-tiny_stage1.py'),
           '--work-dir', str(tmp_path / 'work'), '--cfg-options',
           f'model.model_config={tiny_config}', f'train_dataloader.dataset.data_root={clear}',
           'train_dataloader.dataset.indices=[10,11]',
           'train_dataloader.dataset.image_size=32', 'train_dataloader.batch_size=4',
           'train_dataloader.num_workers=0',
           'train_dataloader.persistent_workers=False', 'train_cfg.max_iters=2',
           'param_scheduler.0.end=1', 'param_scheduler.1.begin=1', 'param_scheduler.1.end=2',
           'param_scheduler.1.T_max=1', f'custom_hooks.0.holdout_root={clear}',
           'custom_hooks.0.holdout_indices=[0]', 'custom_hooks.0.real_hazy_root=None',
           f'custom_hooks.0.out_dir={out}']
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    evaluation = json.loads((out / 'evaluation.json').read_text())
    assert evaluation['iterations'] == 2
    assert {'clear', 'half dehazed', *OVER_PROCESSING} <= set(evaluation['h2c_loss']) <= {
        'clear', 'half dehazed', 'airlight cast', *OVER_PROCESSING}
    assert evaluation['airlight_cast_preferred'] is None or \
        0 <= evaluation['airlight_cast_preferred'] <= 1
    assert 0 <= evaluation['clear_preferred'] <= 1
    assert 0 <= evaluation['half_preferred'] <= 1
    assert (out / 'open_clip_model.safetensors').stat().st_size > 0
