"""Artefact measures (brightness, colour cast, blocking) on constructed images, and their
registered metrics."""
import cv2
import numpy as np
import pytest

from conftest import shared_path
from mmbilalora.evaluation import blockiness, brightness_ratio, colour_cast, mean_abs_change
from mmbilalora.evaluation.metrics import BlockinessMetric, BrightnessRatioMetric
from mmbilalora.utils.image_io import read_rgb


def smooth_scene(h=192, w=256, seed=0):
    """A smooth sky-like gradient with soft blobs and mild noise, (h, w, 3) float in [0, 255]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = 140 + 60 * yy + 20 * np.sin(3 * xx) + cv2.resize(
        rng.standard_normal((4, 5)), (w, h), interpolation=cv2.INTER_CUBIC) * 8
    grey = base + rng.normal(0, 0.6, (h, w))
    return np.clip(np.stack([grey, grey + 2, grey + 4], -1), 0, 255)


def with_window_seams(image, period, amplitude=3.0, seed=1):
    """``image`` plus a random constant offset per period x period tile (window seams)."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    tiles = rng.uniform(-amplitude, amplitude, (h // period + 1, w // period + 1))
    offsets = np.kron(tiles, np.ones((period, period)))[:h, :w]
    return np.clip(image + offsets[..., None], 0, 255)


def jpeg(image, quality):
    ok, data = cv2.imencode('.jpg', np.round(image).astype(np.uint8)[..., ::-1],
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]


@pytest.mark.parametrize('period', [4, 16, 32])
def test_window_seams_score_worse_than_a_smooth_image(period):
    smooth = smooth_scene()
    blocky = with_window_seams(smooth, period)
    assert abs(blockiness(smooth)) < 0.15
    assert blockiness(blocky) > 0.8
    assert blockiness(with_window_seams(smooth, period, amplitude=6)) > blockiness(blocky)


def test_blockiness_ignores_the_jpeg_8x8_grid():
    smooth = smooth_scene(seed=3)
    compressed = jpeg(smooth, 15)
    d = np.abs(np.diff(compressed.astype(float).mean(-1), axis=1)).mean(0)
    assert d[7::8].mean() > 1.5 * np.delete(d, np.s_[7::8]).mean()  # visible 8x8 blocking
    assert abs(blockiness(compressed)) < 0.3
    assert abs(blockiness(jpeg(smooth, 75), periods=(4, ))) < 0.3  # measured 0.18
    assert blockiness(jpeg(with_window_seams(smooth, 32), 15)) > blockiness(compressed) + 0.5


def test_blockiness_of_a_real_photo_and_its_arguments():
    photo = read_rgb(shared_path('data', 'clear_pristine', '02.png'))
    assert abs(blockiness(photo)) < 0.3
    with pytest.raises(ValueError, match='4 or multiples of 16'):
        blockiness(photo, periods=(24, ))
    with pytest.raises(ValueError, match='at least'):
        blockiness(photo[:40, :40])


def test_colour_cast_sees_a_tint():
    neutral = smooth_scene()
    tinted = np.clip(neutral * np.array([0.9, 1.05, 1.02]), 0, 255)  # green-cyan
    assert colour_cast(neutral) < 2.5
    assert colour_cast(tinted) > colour_cast(neutral) + 4
    assert colour_cast(np.zeros((8, 8, 3))) == 0.0  # nothing but clipped black


def test_brightness_ratio_and_mean_abs_change():
    image = smooth_scene()
    assert brightness_ratio(image * 0.7, image) == pytest.approx(0.7, rel=1e-9)
    assert mean_abs_change(image + 5, image) == pytest.approx(5.0)
    with pytest.raises(ValueError, match='same-size'):
        mean_abs_change(image[:10], image)


def test_registered_metrics_score_output_against_input():
    from mmagic.registry import METRICS
    from mmengine.registry import init_default_scope
    init_default_scope('mmagic')
    image = np.round(smooth_scene()).astype(np.uint8)
    dark = np.round(image * 0.5).astype(np.uint8)
    sample = dict(output=dict(pred_img=dark.transpose(2, 0, 1)), input=image.transpose(2, 0, 1),
                  img_path='a.png')
    expected = dict(BrightnessRatio=brightness_ratio(dark, image),
                    MeanAbsChange=mean_abs_change(dark, image), ColourCast=colour_cast(dark),
                    Blockiness=blockiness(dark))
    for name, value in expected.items():
        metric = METRICS.build(dict(type=name))
        metric.process(None, [sample])
        assert metric.compute_metrics(metric.results) == {name: pytest.approx(value)}
    assert expected['BrightnessRatio'] == pytest.approx(0.5, abs=0.01)
    relative = BrightnessRatioMetric()
    with pytest.raises(KeyError, match='network input'):
        relative.process(None, [dict(output=sample['output'])])
    seams32 = with_window_seams(smooth_scene(), 32)
    only16 = METRICS.build(dict(type='Blockiness', periods=(16, )))
    assert isinstance(only16, BlockinessMetric)
    assert only16.score(seams32) == pytest.approx(blockiness(seams32, periods=(16, )))
