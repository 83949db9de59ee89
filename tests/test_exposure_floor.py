"""ExposureFloor: a dehazed image darker than the floor is lifted to it, others are left alone."""
import pytest
import torch

from mmbilalora.models.archs import ExposureFloor, lift_curve, lift_strength, mean_luma
from mmbilalora.models.archs.exposure_floor import regular_subsample


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


def test_a_given_strength_is_used_instead_of_the_images_own():
    hazy = photo()
    output = hazy * 0.5
    floor = ExposureFloor(floor=0.85)
    own = floor.strength(output, hazy)
    assert torch.equal(floor(output, hazy), floor(output, strength=own))
    assert torch.equal(floor(output, strength=torch.zeros_like(own)), output)
    with pytest.raises(ValueError, match='needs the input image or the strength'):
        floor(output)


def test_the_strength_read_from_a_subsample_is_close_to_every_pixels():
    hazy = photo(size=(1, 3, 240, 320))
    output = hazy * 0.5
    floor = ExposureFloor(floor=0.85)
    every = floor.strength(output, hazy)
    assert regular_subsample(hazy, 240 * 320 // 16).shape[-2:] == (60, 80)  # stride 4
    assert torch.equal(regular_subsample(hazy, 240 * 320), hazy)
    assert torch.equal(floor.strength(output, hazy, pixels=240 * 320), every)
    sampled = floor.strength(output, hazy, pixels=240 * 320 // 16)
    assert not torch.equal(sampled, every)
    assert sampled.item() == pytest.approx(every.item(), rel=0.01)


def test_floor_rejects_bad_settings():
    with pytest.raises(ValueError, match='floor'):
        ExposureFloor(floor=1.5)
    with pytest.raises(ValueError, match='max_strength'):
        ExposureFloor(max_strength=0)
    with pytest.raises(ValueError, match='shoulder'):
        ExposureFloor(shoulder=0.5)
    with pytest.raises(ValueError, match='value_range'):
        ExposureFloor(value_range=(1.0, 0.0))
