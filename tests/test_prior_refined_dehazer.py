"""PriorRefinedDehazer: the prior's image refined by a network, output filter, haze gate and
exposure step composed by config; image-global values as arguments; DEA-Net as its network."""
import numpy as np
import pytest
import torch
from mmagic.registry import MODELS

from mmbilalora.apis import Dehazer, dehaze_array, dehazeformer_to_prior_refined
from mmbilalora.models.archs import DarkChannelPrior, guided_filter, lift_strength, mean_luma
from mmbilalora.models.data_preprocessors import PixelConvention
from mmbilalora.models.editors import DehazeFormer, PriorRefinedDehazer
from mmbilalora.models.utils import pad_to_multiple
from test_dark_channel_prior import scene_with_dark_pixels

PRIOR = dict(type='DarkChannelPrior', value_range=(-1.0, 1.0))
NETWORK = dict(type='DehazeFormer', arch='t-conv', in_chans=6)
FILTER = dict(type='GuidedFilter', radius=8, eps=4e-3)


def refined(**parts) -> PriorRefinedDehazer:
    cfg = dict(type='PriorRefinedDehazer', network=NETWORK, network_method='forward_features',
               prior=PRIOR, output_filter=FILTER)
    return MODELS.build(dict(cfg, **parts))


def test_a_converted_dehazeformer_refines_the_priors_image_and_trains():
    """A plain DehazeFormer's weights, converted (first conv widened, the hazy image's channels
    at zero), refine the prior's image exactly as the plain network refines its input."""
    torch.manual_seed(0)
    plain = DehazeFormer(arch='t-conv')
    model = refined()
    converted = dehazeformer_to_prior_refined(
        dict(state_dict={f'generator.{k}': v for k, v in plain.state_dict().items()}))
    model.load_state_dict({k[len('generator.'):]: v
                           for k, v in converted['state_dict'].items()})
    first = model.network.patch_embed.proj.weight
    assert torch.equal(first[:, :3], plain.patch_embed.proj.weight)
    assert torch.count_nonzero(first[:, 3:]) == 0
    x = (scene_with_dark_pixels() * 0.5 + 0.45) * 2 - 1
    out = model(x)
    with torch.no_grad():
        dehazed = DarkChannelPrior(value_range=(-1.0, 1.0))(pad_to_multiple(x, 32))
        k, b = torch.split(guided_filter(dehazed.mean(dim=1, keepdim=True),
                                         plain.forward_features(dehazed), 8, 4e-3), (1, 3), dim=1)
        assert torch.allclose(out, (k * dehazed - b + dehazed)[..., :64, :80], atol=1e-5)
        assert (dehazed[..., :64, :80] - x).abs().mean() > 0.2
        first[:, 3:] = 0.1 * first[:, :3]
        assert (model(x) - out).abs().mean() > 1e-3  # the hazy image's channels are used
    model(x).square().mean().backward()
    assert model.network.patch_embed.proj.weight.grad[:, 3:].abs().sum() > 0
    assert [n for n, _ in model.named_parameters() if not n.startswith('network.')] == []
    with pytest.raises(ValueError, match='already a PriorRefinedDehazer'):
        dehazeformer_to_prior_refined(converted)


def test_the_haze_gate_passes_a_haze_free_photo_and_opens_fully_on_haze():
    torch.manual_seed(0)
    gated = refined(haze_gate=dict(type='HazeStrengthGate', low=0.15, high=0.55))
    free = refined()
    free.load_state_dict(gated.state_dict())
    clear = scene_with_dark_pixels() * 2 - 1  # median dark channel 0: strength 0
    hazy = (scene_with_dark_pixels() * 0.3 + 0.65) * 2 - 1  # median 0.7: strength 1
    with torch.no_grad():
        assert torch.allclose(gated(clear), clear, atol=1e-6)  # exactly as it came in
        assert (free(clear) - clear).abs().mean() > 1e-3  # the random network's correction
        assert torch.allclose(gated(hazy), free(hazy), atol=1e-6)
        assert float(gated.image_statistics(clear)['haze_strength']) == 0
        assert float(gated.image_statistics(hazy)['haze_strength']) == 1


def prior_only(**parts) -> PriorRefinedDehazer:
    """A model whose network predicts K = B = 0 (its last conv zeroed): the output is the
    prior's image, gated and exposed; a small prior (5-pixel patches, radius-2 refinement)."""
    model = refined(prior=dict(PRIOR, patch=5, refine_radius=2, refine_eps=1e-6),
                    pad_multiple=8, **parts).eval()
    last = model.network.patch_unembed.proj[0]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    return model


def test_image_global_values_are_arguments():
    """The statistics of the whole image passed to a crop give the whole image's values there;
    the crop's own statistics do not (it lacks the sky that gives the airlight)."""
    model = prior_only(haze_gate=dict(type='HazeStrengthGate'),
                       exposure=dict(type='ExposureFloor', floor=0.9, value_range=(-1, 1)))
    clear = scene_with_dark_pixels()
    airlight = torch.tensor([0.92, 0.9, 0.86]).view(1, 3, 1, 1)
    hazy = clear * 0.5 + airlight * 0.5
    hazy[..., :12, :24] = airlight
    x = hazy * 2 - 1
    with torch.no_grad():
        stats = model.image_statistics(x)
        assert torch.allclose(stats['airlight'].flatten(), airlight.flatten(), atol=1e-6)
        whole = model(x, **stats)
        assert torch.equal(whole, model(x))  # None: computed from the image given
        crop = x[..., 32:, 40:]
        assert (model.image_statistics(crop)['airlight'] - airlight).abs().max() > 0.05
        unlifted = model(x, **stats, exposure_strength=torch.zeros(1, 1, 1, 1))
        strength = model.exposure_strength(unlifted, x)
        assert float(strength) > 0
        assert torch.equal(model.expose(unlifted, strength), whole)
        held = model(crop, **stats, exposure_strength=strength)
        inner = (Ellipsis, slice(8, None), slice(8, None))
        assert torch.allclose(held[inner], whole[..., 32:, 40:][inner], atol=1e-4)
        assert (model(crop)[inner] - whole[..., 32:, 40:][inner]).abs().max() > 0.05


def test_tiles_are_dehazed_with_the_whole_images_values():
    model = prior_only(haze_gate=dict(type='HazeStrengthGate'),
                       exposure=dict(type='ExposureFloor', floor=0.95, value_range=(-1, 1)))
    clear = scene_with_dark_pixels()
    hazy = clear * 0.5 + torch.tensor([0.92, 0.9, 0.86]).view(1, 3, 1, 1) * 0.5
    hazy[..., :12, :24] = 0.9
    rgb = (hazy[0].permute(1, 2, 0) * 255).round().byte().numpy()
    dehazer = Dehazer(model, PixelConvention.symmetric(127.5, 127.5))
    whole = dehaze_array(dehazer, rgb, tile=None, pad_multiple=8).astype(int)
    tiled = dehaze_array(dehazer, rgb, tile=40, overlap=16, pad_multiple=8).astype(int)
    assert np.abs(whole - rgb.astype(int)).mean() > 10
    assert np.abs(tiled - whole).mean() < 1.0
    ratio = mean_luma(torch.from_numpy(whole).permute(2, 0, 1)[None] / 255.0) / mean_luma(hazy)
    assert float(ratio) == pytest.approx(0.95, abs=0.01)  # the floor over the assembled image


def test_the_exposure_step_comes_last():
    """A network whose last conv predicts K = -0.5, B = 0.5 everywhere halves the prior's image
    ([0, 1] units); with a floor of 0.9 the output's mean luma is 0.9 of the hazy image's."""
    models = [refined(output_filter=None, **floor).eval() for floor in (
        {}, dict(exposure=dict(type='ExposureFloor', floor=0.9, value_range=(-1, 1))))]
    for model in models:
        last = model.network.patch_unembed.proj[0]
        torch.nn.init.zeros_(last.weight)
        last.bias.data = torch.tensor([-0.5, 0.5, 0.5, 0.5])
    hazy = 0.2 + 0.7 * torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        prior = (models[0].prior(hazy * 2 - 1) + 1) / 2
        halved, lifted = [(model(hazy * 2 - 1) + 1) / 2 for model in models]
    assert torch.allclose(halved, prior / 2, atol=1e-6)
    assert mean_luma(lifted).item() == pytest.approx(0.9 * mean_luma(hazy).item(), abs=1e-4)
    assert float(lift_strength(halved, hazy, 0.9, 4.0)) > 0


def test_dea_net_predicts_k_and_b_by_config_and_trains():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='PriorRefinedDehazer',
                              network=dict(type='DEANet', base_dim=8, in_chans=6, out_chans=4),
                              prior=PRIOR, haze_gate=dict(type='HazeStrengthGate'),
                              output_filter=FILTER, pad_multiple=4))
    x = (scene_with_dark_pixels() * 0.4 + 0.5)[..., :30, :38] * 2 - 1
    out = model(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
    out.square().mean().backward()
    assert model.network.down1[0].weight.grad.abs().sum() > 0


def test_parts_are_checked_when_built_and_run():
    with pytest.raises(ValueError, match="no method 'predict'"):
        refined(network_method='predict')
    wrong = MODELS.build(dict(type='PriorRefinedDehazer', prior=PRIOR,
                              network=dict(type='DEANet', base_dim=8, in_chans=6, out_chans=3)))
    with pytest.raises(ValueError, match=r'must return K and B \(N, 4, 32, 32\)'):
        wrong(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match='HazeStrengthGate needs'):
        MODELS.build(dict(type='HazeStrengthGate', low=0.6, high=0.2))
    with pytest.raises(ValueError, match='GuidedFilter needs'):
        MODELS.build(dict(type='GuidedFilter', radius=0, eps=1e-3))


def test_the_network_sees_a_large_image_resized_and_a_small_one_as_it_is():
    torch.manual_seed(0)
    exact = refined(haze_gate=dict(type='HazeStrengthGate')).eval()
    fast = refined(haze_gate=dict(type='HazeStrengthGate'), network_pixels=64 * 80 // 4).eval()
    fast.load_state_dict(exact.state_dict())
    seen = []
    fast.network.patch_embed.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].shape))
    x = (scene_with_dark_pixels() * 0.5 + 0.45) * 2 - 1
    with torch.no_grad():
        stats = fast.image_statistics(x)
        assert stats['network_scale'] == pytest.approx(0.5)
        # the airlight and the haze strength are the full-resolution image's, as on the exact
        # path
        for key in ('airlight', 'haze_strength'):
            assert torch.equal(stats[key], exact.image_statistics(x)[key])
        out = fast(x)
        assert seen[-1][-2:] == (32, 64)  # 64 x 96 padded, resized by 1/2, padded to 32
        assert out.shape == x.shape
        # only the network's K and B from half size differ
        assert 0 < (out - exact(x)).abs().mean() < 0.05
        given = dict(airlight=stats['airlight'], haze_strength=stats['haze_strength'])
        assert 0 < (fast(x, **stats) - exact(x, **given)).abs().mean() < 0.05
        small = x[..., :32, :40]
        assert torch.equal(fast(small), exact(small))  # at most network_pixels: exact
    with pytest.raises(ValueError, match='needs an output_filter'):
        refined(output_filter=None, network_pixels=100)


def test_the_fast_path_dehazes_tiles_with_the_whole_photos_scale():
    model = prior_only(network_pixels=16 * 20, network_tile=10)  # scale 1/4 on 64 x 80
    seen = []
    model.network.patch_embed.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].shape[-2:]))
    clear = scene_with_dark_pixels()
    hazy = clear * 0.5 + torch.tensor([0.92, 0.9, 0.86]).view(1, 3, 1, 1) * 0.5
    rgb = (hazy[0].permute(1, 2, 0) * 255).round().byte().numpy()
    dehazer = Dehazer(model, PixelConvention.symmetric(127.5, 127.5))
    calls = []
    tiled = dehaze_array(dehazer, rgb, tile=512, overlap=16, pad_multiple=8,
                         progress=lambda done, total: calls.append((done, total)))
    # tiles the network sees at 10 pixels: 40 pixels of the photo, overlapping by 16: 2 x 3
    assert calls == [(i, 6) for i in range(1, 7)]
    assert set(seen) == {(16, 16)}  # each 40 x 40 tile at the photo's scale 1/4, padded to 8
    whole = dehaze_array(dehazer, rgb, tile=None, pad_multiple=8)
    assert np.abs(tiled.astype(int) - whole).mean() < 1.0
