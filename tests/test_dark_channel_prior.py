"""Dark channel prior: dark channel, airlight, inverting known haze, as DehazeFormer's input."""
import pytest
import torch
import torch.nn.functional as F

import mmbilalora  # noqa: F401  (registers DehazeFormer and DarkChannelPrior)
from mmbilalora.models.editors.dehazeformer import DehazeFormer
from mmbilalora.models.utils import (DarkChannelPrior, dark_channel, estimate_airlight,
                                    holding_image_statistics)


def scene_with_dark_pixels(seed: int = 0) -> torch.Tensor:
    """(1, 3, 64, 80) clear scene in [0, 1] whose every 15x15 window holds a pixel with a zero
    channel (the prior's assumption): random colours with a black dot every 6 pixels."""
    g = torch.Generator().manual_seed(seed)
    scene = 0.2 + 0.6 * torch.rand(1, 3, 64, 80, generator=g)
    scene[..., ::6, ::6] = 0
    return scene


def test_dark_channel_is_the_min_over_channels_and_window():
    x = torch.rand(2, 3, 20, 23, generator=torch.Generator().manual_seed(1))
    padded = F.pad(x.amin(dim=1, keepdim=True), (3, 3, 3, 3), value=float('inf'))
    expected = padded.unfold(2, 7, 1).unfold(3, 7, 1).amin(dim=(-1, -2))
    assert torch.equal(dark_channel(x, 7), expected)


def test_airlight_is_the_colour_of_the_haziest_pixels_per_image():
    x = torch.full((2, 3, 30, 40), 0.3)
    x[0, :, :3, :3] = torch.tensor([0.9, 0.8, 0.7]).view(3, 1, 1)
    x[1, :, -4:, -5:] = torch.tensor([0.6, 0.6, 0.95]).view(3, 1, 1)
    airlight = estimate_airlight(x, x.amin(dim=1, keepdim=True), top_fraction=9 / 1200)
    assert torch.allclose(airlight.flatten(1), torch.tensor([[0.9, 0.8, 0.7], [0.6, 0.6, 0.95]]))


@pytest.mark.parametrize('value_range', [(0.0, 1.0), (-1.0, 1.0)])
def test_prior_inverts_uniform_haze_on_a_scene_that_meets_its_assumption(value_range):
    clear = scene_with_dark_pixels()
    airlight = torch.tensor([0.92, 0.9, 0.86]).view(1, 3, 1, 1)
    hazy = clear * 0.4 + airlight * 0.6
    hazy[..., :20, :20] = airlight  # sky: pure airlight, the brightest dark channel
    low, high = value_range
    prior = DarkChannelPrior(omega=1.0, refine_radius=4, refine_eps=1e-6,
                             value_range=value_range)
    out = (prior(hazy * (high - low) + low) - low) / (high - low)
    inner = (Ellipsis, slice(34, -4), slice(34, -4))  # beyond the sky's window and filter
    assert (out[inner] - clear[inner]).abs().max() < 0.02
    assert (hazy[inner] - clear[inner]).abs().mean() > 0.2
    half = DarkChannelPrior(omega=0.5, refine_radius=4, refine_eps=1e-6,
                            value_range=value_range)
    out_half = (half(hazy * (high - low) + low) - low) / (high - low)
    # omega 0.5 keeps half the haze: t = 1 - 0.5 * 0.6 = 0.7
    expected = (hazy - airlight) / 0.7 + airlight
    assert (out_half[inner] - expected[inner]).abs().max() < 0.02


def test_airlight_tolerance_leaves_a_noisy_sky_alone_and_still_dehazes_the_scene():
    clear = scene_with_dark_pixels()
    airlight = torch.tensor([0.92, 0.9, 0.86]).view(1, 3, 1, 1)
    hazy = clear * 0.4 + airlight * 0.6
    noise = 0.01 * torch.randn(1, 3, 24, 80, generator=torch.Generator().manual_seed(2))
    hazy[..., :24, :] = airlight + noise  # a sky with sensor noise / JPEG steps
    he = DarkChannelPrior(omega=1.0, refine_radius=4, refine_eps=1e-6)(hazy)
    tolerant = DarkChannelPrior(omega=1.0, refine_radius=4, refine_eps=1e-6,
                                airlight_tolerance=0.1)(hazy)
    sky = (Ellipsis, slice(0, 16), slice(None))
    # He et al.: the sky's noise amplified 9x (measured); tolerant: 2x, the sky nearly unchanged
    assert (he[sky] - airlight).std() > 5 * noise.std()
    assert (tolerant[sky] - airlight).std() < 2.5 * noise.std()
    assert (tolerant[sky] - hazy[sky]).abs().mean() < 0.01
    scene = (Ellipsis, slice(40, -4), slice(4, -4))
    assert (tolerant[scene] - clear[scene]).abs().mean() < 0.01  # the scene is still dehazed


def scene_under_a_blocky_sky():
    """(clear, hazy), each (1, 3, 64, 80) in [0, 1]: :func:`scene_with_dark_pixels` under 60 %
    haze, the top 24 rows of the hazy image a flat sky at the airlight with 8x8 JPEG-like steps
    (standard deviation 0.01)."""
    clear = scene_with_dark_pixels()
    airlight = torch.tensor([0.92, 0.9, 0.86]).view(1, 3, 1, 1)
    hazy = clear * 0.4 + airlight * 0.6
    steps = 0.01 * torch.randn(1, 3, 3, 10, generator=torch.Generator().manual_seed(3))
    steps = steps.repeat_interleave(8, dim=2).repeat_interleave(8, dim=3)
    hazy[..., :24, :] = airlight + steps
    return clear, hazy


def step_size(image: torch.Tensor) -> float:
    """Mean jump across the 8-pixel block lines, against the mean jump inside blocks."""
    jumps = (image[..., 1:] - image[..., :-1]).abs()
    return (jumps[..., 7::8].mean() - jumps.mean()).item()


def test_detail_layer_keeps_compression_steps_at_their_size_and_still_dehazes():
    clear, hazy = scene_under_a_blocky_sky()
    he = DarkChannelPrior(omega=1.0, refine_radius=4, refine_eps=1e-6)
    layered = DarkChannelPrior(omega=1.0, refine_radius=4, refine_eps=1e-6,
                               detail_layer=dict(radius=4, eps=1e-3, max_gain=1.0))
    sky = (Ellipsis, slice(0, 16), slice(None))
    # measured: He et al. stretch the steps 8.0x (1 / t_min = 10), the detail layer 1.07x
    assert step_size(he(hazy)[sky]) > 4 * step_size(hazy[sky])
    assert step_size(layered(hazy)[sky]) < 1.5 * step_size(hazy[sky])
    scene = (Ellipsis, slice(40, -4), slice(4, -4))
    smooth = torch.nn.functional.avg_pool2d
    # the scene's haze is removed at the base layer's scale: 6-pixel window means within 0.015
    # of the clear scene's (He et al.: 0.014; the hazy input: 0.24)
    assert (smooth(layered(hazy)[scene], 6) - smooth(clear[scene], 6)).abs().mean() < 0.02
    assert (smooth(hazy[scene], 6) - smooth(clear[scene], 6)).abs().mean() > 0.1


def test_noise_aware_detail_gain_stretches_the_scene_texture_but_not_the_compression_steps():
    clear, hazy = scene_under_a_blocky_sky()
    kept, aware = (DarkChannelPrior(omega=1.0, refine_radius=4, refine_eps=1e-6,
                                    detail_layer=dict(radius=4, eps=1e-3, **gain))
                   for gain in (dict(max_gain=1.0), dict(max_gain=10.0, noise=0.01)))
    sky = (Ellipsis, slice(0, 16), slice(None))
    scene = (Ellipsis, slice(40, -4), slice(4, -4))
    # measured: steps 1.07x with both; the scene's pixels 0.014 from the clear scene's with
    # the noise-aware gain (He et al.: 0.014), 0.074 with the detail kept at its hazy size
    assert step_size(aware(hazy)[sky]) < 1.5 * step_size(hazy[sky])
    assert (aware(hazy)[scene] - clear[scene]).abs().mean() < 0.02
    assert (kept(hazy)[scene] - clear[scene]).abs().mean() > 0.05


def test_haze_gate_leaves_a_haze_free_scene_alone_and_scales_omega_with_the_haze():
    clear = scene_with_dark_pixels()
    airlight = torch.tensor([0.92, 0.9, 0.86]).view(1, 3, 1, 1)
    gated = DarkChannelPrior(omega=1.0, refine_radius=4, refine_eps=1e-6, haze_gate=(0.15, 0.55))
    assert torch.equal(gated(clear), clear)  # median dark channel 0: the prior is off
    assert float(gated.image_statistics(clear)['strength']) == 0.0
    for haze, strength in ((0.6, 1.0), (0.35, 0.5)):  # median dark(x / A) = haze
        hazy = clear * (1 - haze) + airlight * haze
        hazy[..., :20, :20] = airlight
        stats = gated.image_statistics(hazy)
        assert torch.allclose(stats['airlight'].flatten(), airlight.flatten(), atol=1e-6)
        assert float(stats['strength']) == pytest.approx(strength, abs=0.01)
        plain = DarkChannelPrior(omega=float(stats['strength']), refine_radius=4,
                                 refine_eps=1e-6)
        assert torch.allclose(gated(hazy), plain(hazy), atol=1e-6)
        inner = (Ellipsis, slice(34, -4), slice(34, -4))  # the scene, beyond the sky
        remaining = (gated(hazy) - clear)[inner].abs().mean() / (hazy - clear)[inner].abs().mean()
        t_true, t_used = 1 - haze, 1 - strength * haze  # the share left: 1 - t_true / t_used
        assert remaining == pytest.approx((1 - t_true / t_used) / haze, abs=0.03)


def test_tiles_are_dehazed_with_the_whole_images_airlight_and_gate():
    from mmbilalora.apis import Dehazer, dehaze_array
    from mmbilalora.models.data_preprocessors import PixelConvention
    clear = scene_with_dark_pixels()
    airlight = torch.tensor([0.92, 0.9, 0.86]).view(1, 3, 1, 1)
    hazy = clear * 0.5 + airlight * 0.5
    hazy[..., :12, :24] = airlight  # the only sky: in the top-left tile
    prior = DarkChannelPrior(patch=5, refine_radius=2, refine_eps=1e-6, haze_gate=(0.15, 0.55),
                             value_range=(-1.0, 1.0))
    corner = prior.image_statistics(hazy[..., 32:, 40:] * 2 - 1)['airlight']
    assert (corner - airlight).abs().max() > 0.05  # a tile without sky finds another airlight
    with holding_image_statistics(prior, hazy * 2 - 1):
        held = prior(hazy[..., 32:, 40:] * 2 - 1)
    inner = (Ellipsis, slice(8, None), slice(8, None))  # beyond the crop's own border
    assert torch.allclose(held[inner], prior(hazy * 2 - 1)[..., 32:, 40:][inner], atol=1e-4)
    assert prior._held is None  # released after the block
    rgb = (hazy[0].permute(1, 2, 0) * 255).round().byte().numpy()
    dehazer = Dehazer(prior, PixelConvention.symmetric(127.5, 127.5))
    whole = dehaze_array(dehazer, rgb, tile=None, pad_multiple=1).astype(int)
    tiled = dehaze_array(dehazer, rgb, tile=40, overlap=16, pad_multiple=1).astype(int)
    assert abs(whole - rgb.astype(int)).mean() > 20
    assert abs(tiled - whole).mean() < 1.0


def test_prior_rejects_bad_settings():
    with pytest.raises(ValueError, match='odd patch'):
        DarkChannelPrior(patch=14)
    with pytest.raises(ValueError, match='omega'):
        DarkChannelPrior(omega=0.0)
    with pytest.raises(ValueError, match='airlight_tolerance'):
        DarkChannelPrior(airlight_tolerance=-0.1)
    with pytest.raises(ValueError, match='value_range'):
        DarkChannelPrior(value_range=(1.0, -1.0))
    with pytest.raises(ValueError, match='haze_gate'):
        DarkChannelPrior(haze_gate=(0.6, 0.2))
    with pytest.raises(ValueError, match='max_gain'):
        DarkChannelPrior(detail_layer=dict(radius=4, eps=1e-3, max_gain=0.5))
    with pytest.raises(ValueError, match='noise'):
        DarkChannelPrior(detail_layer=dict(radius=4, eps=1e-3, max_gain=2.0, noise=-0.1))


def test_dehazeformer_refines_the_priors_output_sees_the_input_and_trains():
    from mmbilalora.models.utils import pad_to_multiple
    torch.manual_seed(0)
    prior_cfg = dict(type='DarkChannelPrior', value_range=(-1.0, 1.0))
    plain = DehazeFormer(arch='t-conv', guided_output=dict(radius=8, eps=4e-3))
    with_prior = DehazeFormer(arch='t-conv', guided_output=dict(radius=8, eps=4e-3),
                              input_prior=prior_cfg)
    assert with_prior.patch_embed.proj.weight.shape[1] == 6  # prior's image, then the input
    with_prior.load_state_dict(plain.state_dict())  # a base without the prior loads ...
    first = with_prior.patch_embed.proj.weight
    assert torch.equal(first[:, :3], plain.patch_embed.proj.weight)
    assert torch.count_nonzero(first[:, 3:]) == 0  # ... ignoring the input at first
    x = (scene_with_dark_pixels() * 0.5 + 0.45) * 2 - 1
    out = with_prior(x)
    with torch.no_grad():
        dehazed = DarkChannelPrior(value_range=(-1.0, 1.0))(pad_to_multiple(x, 32))
        assert torch.allclose(out, plain(dehazed)[..., :64, :80], atol=1e-5)
        assert (dehazed[..., :64, :80] - x).abs().mean() > 0.2
        first[:, 3:] = 0.1 * first[:, :3]
        assert (with_prior(x) - out).abs().mean() > 1e-3  # the input's channels are used
    with_prior(x).square().mean().backward()
    assert with_prior.patch_embed.proj.weight.grad[:, 3:].abs().sum() > 0
    assert not any(True for _ in with_prior.input_prior.parameters())
    with_prior.load_state_dict(with_prior.state_dict())  # its own 6-channel weights load as is


def test_prior_as_hint_keeps_the_loaded_model_and_acts_on_the_input():
    torch.manual_seed(0)
    prior_cfg = dict(type='DarkChannelPrior', value_range=(-1.0, 1.0))
    plain = DehazeFormer(arch='t-conv', guided_output=dict(radius=8, eps=4e-3))
    hint = DehazeFormer(arch='t-conv', guided_output=dict(radius=8, eps=4e-3),
                        input_prior=prior_cfg, prior_role='hint')
    hint.load_state_dict(plain.state_dict())
    first = hint.patch_embed.proj.weight
    assert torch.count_nonzero(first[:, :3]) == 0  # the prior's channels start at zero
    assert torch.equal(first[:, 3:], plain.patch_embed.proj.weight)
    x = (scene_with_dark_pixels() * 0.5 + 0.45) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(hint(x), plain(x), atol=1e-5)  # exactly the loaded model
        first[:, :3] = 0.1 * first[:, 3:]
        assert (hint(x) - plain(x)).abs().mean() > 1e-3  # the prior's channels are used
    with pytest.raises(ValueError, match='prior_role'):
        DehazeFormer(arch='t-conv', input_prior=prior_cfg, prior_role='refine')


def test_gated_prior_gates_the_networks_correction():
    torch.manual_seed(0)
    prior_cfg = dict(type='DarkChannelPrior', value_range=(-1.0, 1.0), haze_gate=(0.15, 0.55))
    gated, free = (DehazeFormer(arch='t-conv', guided_output=dict(radius=8, eps=4e-3),
                                input_prior=prior_cfg, prior_gates_output=flag)
                   for flag in (True, False))
    free.load_state_dict(gated.state_dict())
    clear = scene_with_dark_pixels() * 2 - 1  # median dark channel 0: strength 0
    hazy = (scene_with_dark_pixels() * 0.3 + 0.65) * 2 - 1  # median 0.7: strength 1
    with torch.no_grad():
        assert torch.allclose(gated(clear), clear, atol=1e-6)  # exactly as it came in
        assert (free(clear) - clear).abs().mean() > 1e-3  # the random network's correction
        assert torch.allclose(gated(hazy), free(hazy), atol=1e-6)
    with pytest.raises(ValueError, match='prior_gates_output'):
        DehazeFormer(arch='t-conv', prior_gates_output=True)
