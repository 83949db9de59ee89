"""SyntheticHaze: the scattering model exactly, value ranges, seeded determinism."""
import numpy as np
import pytest

from mmbilalora.datasets.transforms.synthetic_haze import (DEPTH_MODES, SyntheticHaze,
                                                            pseudo_depth)


def clear_image(h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)


@pytest.mark.parametrize('mode', DEPTH_MODES)
def test_scattering_model_and_ranges(mode):
    clear = clear_image()
    haze = SyntheticHaze(depth_modes=(mode, ), seed=3, keep_transmission=True)
    out = haze(dict(gt=clear, gt_path=f'x_{mode}.png'))
    t = out['transmission']
    assert t.shape == clear.shape[:2]
    assert t.min() > 0 and t.max() <= 1
    assert t.min() >= np.exp(-2.0) - 1e-6  # beta_max = 2.0, depth <= 1
    airlight = np.asarray(out['haze_params']['airlight'])
    expected = (clear / 255.0) * t[..., None] + airlight * (1 - t[..., None])
    np.testing.assert_allclose(out['img'] / 255.0, expected, atol=1e-5)
    assert out['img'].dtype == np.float32
    assert 0 <= out['img'].min() and out['img'].max() <= 255
    if mode == 'homogeneous':
        assert np.ptp(t) == 0
    else:
        assert np.ptp(t) > 0


def test_pseudo_depth_ranges():
    rng = np.random.default_rng(0)
    for mode in DEPTH_MODES:
        d = pseudo_depth(mode, (30, 40), rng)
        assert d.shape == (30, 40) and d.min() >= 0 and d.max() <= 1


def test_seeded_haze_is_deterministic_per_image_and_varies_across_images():
    clear = clear_image()
    haze = SyntheticHaze(seed=7)
    a = haze(dict(gt=clear, gt_path='a.png'))['img']
    a2 = haze(dict(gt=clear, gt_path='a.png'))['img']
    b = haze(dict(gt=clear, gt_path='b.png'))['img']
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a, b)
    other_seed = SyntheticHaze(seed=8)(dict(gt=clear, gt_path='a.png'))['img']
    assert not np.array_equal(a, other_seed)


def test_dense_homogeneous_haze_converges_to_airlight():
    clear = clear_image()
    haze = SyntheticHaze(beta_range=(30, 30), airlight_range=(0.8, 0.8), airlight_tint=0,
                         depth_modes=('homogeneous', ), seed=0)
    out = haze(dict(gt=clear, gt_path='x.png'))
    np.testing.assert_allclose(out['img'], 0.8 * 255, atol=1e-3)


def test_unseeded_haze_varies_between_calls():
    clear = clear_image()
    haze = SyntheticHaze()
    assert not np.array_equal(haze(dict(gt=clear))['img'], haze(dict(gt=clear))['img'])


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match='depth modes'):
        SyntheticHaze(depth_modes=('fog', ))
    with pytest.raises(ValueError, match='beta_range'):
        SyntheticHaze(beta_range=(2, 1))
    with pytest.raises(ValueError, match='airlight_range'):
        SyntheticHaze(airlight_range=(0.5, 1.5))
    with pytest.raises(ValueError, match='H, W, C'):
        SyntheticHaze()(dict(gt=np.zeros((4, 4), np.uint8)))


def test_sensor_noise_jpeg_is_seeded_and_degrades():
    from mmbilalora.datasets.transforms import SensorNoiseJPEG
    clean = np.full((32, 40, 3), 120, np.uint8)
    noisy = SensorNoiseJPEG(noise_std=(0.03, 0.03), jpeg_quality=(60, 60), seed=1)
    a = noisy(dict(img=clean.copy(), img_path='a.png'))
    b = noisy(dict(img=clean.copy(), img_path='a.png'))
    np.testing.assert_array_equal(a['img'], b['img'])
    assert a['img'].dtype == np.uint8 and a['img'].shape == clean.shape
    assert 2 < a['img'].astype(float).std() < 12  # about 0.03 * 255, softened by JPEG
    assert a['noise_jpeg_params']['jpeg_quality'] == 60
    with pytest.raises(ValueError, match='jpeg_quality'):
        SensorNoiseJPEG(jpeg_quality=(0, 50))


def test_target_set_has_references_and_differs_from_pretraining_haze(tmp_path):
    from mmbilalora.utils.image_io import read_rgb
    from mmbilalora.datasets.sample_images import write_target_set
    folders = write_target_set(str(tmp_path), realizations=2, max_side=96)
    train = sorted(p.name for p in (tmp_path / 'train').iterdir())
    assert len(train) == 10 and train[0] == 'astronaut_0.png'
    hazy = read_rgb(str(tmp_path / 'eval' / 'hazy' / 'coffee.png')).astype(float)
    clear = read_rgb(str(tmp_path / 'eval' / 'clear' / 'coffee.png')).astype(float)
    assert hazy.shape == clear.shape and hazy.shape[1] == 96
    assert np.abs(hazy - clear).mean() > 20
    channel_means = hazy.reshape(-1, 3).mean(0)
    assert folders['train'].endswith('train')
    assert np.ptp(channel_means) > 3  # coloured airlight, unlike the near-grey pretraining haze


def test_scene_depth_is_far_at_the_top_and_near_at_the_bottom():
    rng = np.random.default_rng(0)
    for _ in range(20):
        d = pseudo_depth('scene', (64, 48), rng)
        assert d.min() >= 0 and d.max() <= 1 + 1e-6
        assert d[:4].mean() > d[-4:].mean() + 0.2
        assert d[-1].mean() < 0.75


def test_log_uniform_beta_makes_thin_haze_as_common_as_dense():
    haze = SyntheticHaze(beta_range=(0.1, 3.0), beta_sampling='log_uniform',
                         depth_modes=('homogeneous', ))
    betas = np.array([haze(dict(gt=clear_image(8, 8)))['haze_params']['beta']
                      for _ in range(2000)])
    assert betas.min() >= 0.1 and betas.max() <= 3.0
    assert np.median(betas) == pytest.approx(np.sqrt(0.1 * 3.0), rel=0.1)  # geometric mean
    with pytest.raises(ValueError, match='log_uniform'):
        SyntheticHaze(beta_range=(0.0, 1.0), beta_sampling='log_uniform')


def test_clear_prob_leaves_the_image_unchanged():
    clear = clear_image()
    out = SyntheticHaze(clear_prob=1.0, seed=0)(dict(gt=clear, gt_path='a.png'))
    np.testing.assert_allclose(out['img'], clear.astype(np.float32), atol=1e-4)
    assert out['haze_params']['beta'] == 0.0
    hazy = [SyntheticHaze(clear_prob=0.3, seed=s)(dict(gt=clear, gt_path='a'))['haze_params']
            for s in range(200)]
    assert 0.2 < np.mean([p['beta'] == 0 for p in hazy]) < 0.4
    with pytest.raises(ValueError, match='clear_prob'):
        SyntheticHaze(clear_prob=1.5)


def test_natural_airlight_lies_on_the_warm_cool_axis():
    # colour = 0.8 * (1 + s * (1, 0.3, -1)) + jitter, |s| <= 0.1, |jitter| <= 0.01 per channel
    shifts = []
    for i in range(100):
        haze = SyntheticHaze(airlight_colour='natural', airlight_tint=0.1,
                             airlight_range=(0.8, 0.8), seed=i)
        r, g, b = haze(dict(gt=clear_image(8, 8), gt_path='a.png'))['haze_params']['airlight']
        shift = (r - b) / (2 * 0.8)  # the warm-cool shift, up to the jitter
        assert abs(shift) <= 0.1 + 0.02 / 1.6 + 1e-6
        assert abs(g - 0.8 * (1 + 0.3 * shift)) <= 0.01 + 0.3 * 0.02 / 2 + 1e-6
        shifts.append(shift)
    assert min(shifts) < -0.05 and max(shifts) > 0.05  # both warm and cool airlight occur
    with pytest.raises(ValueError, match='airlight_colour'):
        SyntheticHaze(airlight_colour='purple')


def test_linear_light_haze_follows_the_model_in_linear_light():
    from mmbilalora.datasets.transforms.synthetic_haze import linear_to_srgb, srgb_to_linear
    x = np.linspace(0, 1, 101, dtype=np.float32)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-5)
    clear = clear_image()
    haze = SyntheticHaze(linear_light_prob=1.0, seed=4, keep_transmission=True)
    out = haze(dict(gt=clear, gt_path='a.png'))
    t = out['transmission'][..., None]
    airlight = np.asarray(out['haze_params']['airlight'], np.float32)
    expected = linear_to_srgb(srgb_to_linear(clear / 255.0) * t
                              + srgb_to_linear(airlight) * (1 - t))
    assert out['haze_params']['linear_light'] is True
    np.testing.assert_allclose(out['img'] / 255.0, expected, atol=1e-5)
    srgb = SyntheticHaze(seed=4)(dict(gt=clear, gt_path='a.png'))['img']
    assert np.abs(out['img'] - srgb).mean() > 2  # a different (darker-shadow) haze


def test_noise_jpeg_prob_zero_only_rounds():
    from mmbilalora.datasets.transforms import SensorNoiseJPEG
    image = clear_image().astype(np.float32) + 0.3
    out = SensorNoiseJPEG(prob=0.0, seed=1)(dict(img=image.copy(), img_path='a.png'))
    np.testing.assert_array_equal(out['img'], np.round(image).astype(np.uint8))
    with pytest.raises(ValueError, match='prob'):
        SensorNoiseJPEG(prob=2)


def test_exposure_compensation_darkens_the_capture_towards_the_clear_mean():
    from mmbilalora.datasets.transforms.synthetic_haze import srgb_to_linear
    clear = clear_image()
    plain = SyntheticHaze(seed=3, beta_range=(1.5, 1.5))(dict(gt=clear, gt_path='a.png'))
    full = SyntheticHaze(seed=3, beta_range=(1.5, 1.5), exposure_compensation=(1.0, 1.0))(
        dict(gt=clear, gt_path='a.png'))
    assert plain['haze_params']['exposure_gain'] == 1.0
    gain = full['haze_params']['exposure_gain']
    mean_lin = srgb_to_linear(clear / 255.0).mean()
    np.testing.assert_allclose(gain, mean_lin / srgb_to_linear(plain['img'] / 255.0).mean(),
                               rtol=1e-5)
    assert gain < 0.8  # the haze made the capture brighter; exposure brings it back
    # full compensation: the hazy capture has the clear photo's mean linear light
    np.testing.assert_allclose(srgb_to_linear(full['img'] / 255.0).mean(), mean_lin, rtol=1e-3)
    half = SyntheticHaze(seed=3, beta_range=(1.5, 1.5), exposure_compensation=(0.5, 0.5))(
        dict(gt=clear, gt_path='a.png'))
    np.testing.assert_allclose(half['haze_params']['exposure_gain'], gain ** 0.5, rtol=1e-5)
    # haze-free samples stay as they are
    free = SyntheticHaze(seed=3, clear_prob=1.0, exposure_compensation=(1.0, 1.0))(
        dict(gt=clear, gt_path='a.png'))
    np.testing.assert_allclose(free['img'], clear.astype(np.float32), atol=1e-3)
    with pytest.raises(ValueError, match='exposure_compensation'):
        SyntheticHaze(exposure_compensation=(0.5, 0.2))


def test_display_metering_matches_the_mean_srgb_value_not_the_linear_mean():
    from mmbilalora.datasets.transforms.synthetic_haze import srgb_to_linear
    clear = clear_image()
    plain = SyntheticHaze(seed=3, beta_range=(1.5, 1.5))(dict(gt=clear, gt_path='a.png'))
    hazy_mean, clear_mean = plain['img'].mean() / 255.0, clear.mean() / 255.0
    gains = {}
    for strength in (1.0, 0.5):
        out = SyntheticHaze(seed=3, beta_range=(1.5, 1.5), exposure_metering='display',
                            exposure_compensation=(strength, strength))(
            dict(gt=clear, gt_path='a.png'))
        target = hazy_mean * (clear_mean / hazy_mean) ** strength
        np.testing.assert_allclose(out['img'].mean() / 255.0, target, rtol=1e-4)
        gains[strength] = out['haze_params']['exposure_gain']
    linear = SyntheticHaze(seed=3, beta_range=(1.5, 1.5), exposure_compensation=(1.0, 1.0))(
        dict(gt=clear, gt_path='a.png'))
    # equal linear means leave the low-contrast hazy capture brighter on screen than the clear
    # photo; display metering gives it the clear photo's screen brightness
    assert linear['img'].mean() / 255.0 > clear_mean + 0.01
    assert gains[1.0] < gains[0.5] < 1 and gains[1.0] < linear['haze_params']['exposure_gain']
    np.testing.assert_allclose(srgb_to_linear(linear['img'] / 255.0).mean(),
                               srgb_to_linear(clear / 255.0).mean(), rtol=1e-3)
    with pytest.raises(ValueError, match='exposure_metering'):
        SyntheticHaze(exposure_metering='spot')
