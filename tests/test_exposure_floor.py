"""ExposureFloor: a dehazed image darker than the floor is lifted to it, others are left alone."""
import numpy as np
import pytest
import torch
import torch.nn as nn

import mmbilalora  # noqa: F401  (registers DehazeFormer and ExposureFloor)
from mmbilalora.models.editors.dehazeformer import DehazeFormer
from mmbilalora.models.utils import ExposureFloor, lift_curve, lift_strength
from mmbilalora.models.utils.exposure_floor import mean_luma


def photo(seed: int = 0, size=(2, 3, 24, 40)) -> torch.Tensor:
    """A random image in [0.2, 0.9] (N, 3, H, W)."""
    return 0.2 + 0.7 * torch.rand(*size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('shoulder', [1.0, 4.0])
def test_curve_keeps_black_and_white_and_bounds_the_gain(shoulder):
    v = torch.linspace(0, 1, 101).view(1, 1, 1, -1).expand(1, 3, 1, -1)
    k = torch.tensor(1.0).view(1, 1, 1, 1)
    lifted = lift_curve(v, k, shoulder)
    assert lifted[..., 0].abs().max() == 0 and torch.allclose(lifted[..., -1], torch.ones(1, 3, 1))
    assert (lifted[..., 1:].diff(dim=-1) > 0).all()  # monotone: no tone is inverted
    gain = lifted[..., 1:] / v[..., 1:]
    assert gain.max() <= 2 + 1e-6 and gain.min() >= 1 - 1e-6
    if shoulder == 1:
        assert torch.allclose(lifted, 2 * v / (1 + v))  # the rational curve
    else:  # a camera's exposure change below the shoulder: a gain of about 2 up to mid-grey
        assert gain[..., :20].min() > 1.98 and gain[..., 49].max() < 1.75


def test_a_dark_output_is_lifted_exactly_to_the_floor_and_a_bright_one_is_left_alone():
    hazy = photo()
    output = hazy * torch.tensor([0.5, 0.95]).view(2, 1, 1, 1)  # ratios 0.5 and 0.95
    strength = lift_strength(output, hazy, floor=0.85, max_strength=4.0)
    assert strength[0].item() > 0 and strength[1].item() == 0
    output[1, :, 0, 0] = 1.2  # out of range: an image left alone keeps even that
    lifted = ExposureFloor(floor=0.85)(output, hazy)
    ratio = mean_luma(lifted) / mean_luma(hazy)
    assert ratio[0].item() == pytest.approx(0.85, abs=1e-4)
    assert torch.equal(lifted[1], output[1])


def test_the_floor_works_in_the_networks_value_range_and_passes_the_gradient():
    hazy = photo() * 2 - 1
    output = (((hazy + 1) / 2) * 0.6 * 2 - 1).requires_grad_()
    lifted = ExposureFloor(floor=0.9, value_range=(-1.0, 1.0))(output, hazy)
    ratio = mean_luma((lifted + 1) / 2) / mean_luma((hazy + 1) / 2)
    assert torch.allclose(ratio, torch.full((2,), 0.9), atol=1e-4)
    lifted.sum().backward()
    v = ((output + 1) / 2).detach()
    k = lift_strength(v, (hazy + 1) / 2, 0.9, 4.0)
    g, n = 1 + k, 4.0
    slope = g * (1 + (g ** n - 1) * v ** n) ** (-1 / n - 1)
    assert torch.allclose(output.grad, slope, atol=1e-5)


def test_a_strength_cap_that_cannot_reach_the_floor_stops_at_the_cap():
    hazy = photo(size=(1, 3, 16, 16))
    output = hazy * 0.2
    strength = lift_strength(output, hazy, floor=0.9, max_strength=0.5)
    assert strength.item() == pytest.approx(0.5, abs=1e-6)


class Halving(nn.Module):
    """A stand-in dehazer: halves every pixel value ([0, 1] units), then an ExposureFloor."""

    def __init__(self):
        super().__init__()
        self.floor = ExposureFloor(floor=0.8, value_range=(-1.0, 1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.floor((x + 1) / 2 - 1, x)


def test_tiles_are_lifted_by_the_whole_images_strength():
    from mmbilalora.apis import Dehazer, dehaze_array
    from mmbilalora.evaluation import brightness_ratio
    from mmbilalora.models.data_preprocessors import PixelConvention
    image = photo(size=(1, 3, 48, 96))
    image[..., :48] *= 0.3  # a dark left half and a bright right half: as tiles, the left one
    image[..., 48:] = 0.9 + 0.1 * image[..., 48:]  # (no highlights to roll off) needs less lift
    strengths = [lift_strength(part / 2, part, 0.8, 4.0).item()
                 for part in (image, image[..., :48])]
    assert strengths[0] - strengths[1] > 0.1
    rgb = (image[0].permute(1, 2, 0) * 255).round().byte().numpy()
    dehazer = Dehazer(Halving(), PixelConvention.symmetric(127.5, 127.5))
    whole = dehaze_array(dehazer, rgb, tile=None, pad_multiple=1).astype(int)
    tiled = dehaze_array(dehazer, rgb, tile=48, overlap=16, pad_multiple=1).astype(int)
    assert brightness_ratio(whole, rgb) == pytest.approx(0.8, abs=0.01)
    assert np.abs(tiled - whole).max() <= 1


def test_dehazeformer_applies_its_floor_last():
    """A DehazeFormer whose last conv predicts K = -0.5, B = 0.5 everywhere halves its input
    ([0, 1] units); with a floor of 0.9 its output's mean luma is 0.9 of the input's."""
    models = [DehazeFormer(arch='t-conv', **floor).eval() for floor in (
        {}, dict(exposure_floor=dict(type='ExposureFloor', floor=0.9, value_range=(-1, 1))))]
    for model in models:
        last = model.patch_unembed.proj[0]
        nn.init.zeros_(last.weight)
        last.bias.data = torch.tensor([-0.5, 0.5, 0.5, 0.5])
    hazy = photo(size=(1, 3, 32, 32))
    with torch.no_grad():
        halved, lifted = [(model(hazy * 2 - 1) + 1) / 2 for model in models]
    assert torch.allclose(halved, hazy / 2, atol=1e-6)
    assert mean_luma(lifted).item() == pytest.approx(0.9 * mean_luma(hazy).item(), abs=1e-4)
    assert torch.allclose(lifted, lift_curve(halved, lift_strength(halved, hazy, 0.9, 4.0)),
                          atol=1e-6)


def test_floor_rejects_bad_settings():
    with pytest.raises(ValueError, match='floor'):
        ExposureFloor(floor=1.5)
    with pytest.raises(ValueError, match='max_strength'):
        ExposureFloor(max_strength=0)
    with pytest.raises(ValueError, match='shoulder'):
        ExposureFloor(shoulder=0.5)
    with pytest.raises(ValueError, match='value_range'):
        ExposureFloor(value_range=(1.0, 0.0))
