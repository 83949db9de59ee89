"""Box filter, guided filter and fast guided filter: window means, edges kept, resolution."""
import pytest
import torch
import torch.nn.functional as F

from mmbilalora.models.archs import box_mean, fast_guided_filter, guided_filter


def test_box_mean_is_the_border_clipped_window_mean():
    torch.manual_seed(0)
    for shape, r in (((2, 3, 21, 34), 4), ((1, 2, 3, 1), 5), ((1, 1, 2, 7), 3)):
        x = torch.rand(*shape, dtype=torch.float64)
        sums = F.avg_pool2d(F.pad(x, (r, r, r, r)), 2 * r + 1, stride=1, divisor_override=1)
        counts = F.avg_pool2d(F.pad(torch.ones_like(x), (r, r, r, r)), 2 * r + 1, stride=1,
                              divisor_override=1)
        assert torch.allclose(box_mean(x, r), sums / counts, atol=1e-12), (shape, r)
    assert box_mean(x, r)[0, 0, 0, 0].item() == pytest.approx(x[0, 0, :, :4].mean().item())


def test_guided_filter_keeps_the_guides_edges_and_drops_blocks_it_lacks():
    yy, xx = torch.meshgrid(torch.arange(64.), torch.arange(64.), indexing='ij')
    guide = (0.2 + 0.6 * (xx >= 32).double()).view(1, 1, 64, 64)
    # a function of the guide passes through (eps -> 0)
    linear = 3 * guide - 0.5
    assert torch.allclose(guided_filter(guide, linear, 8, 1e-9), linear, atol=1e-5)
    # an 8-pixel checkerboard the guide does not have is flattened; the guide's edge stays sharp
    blocks = 0.1 * (((yy // 8 + xx // 8) % 2) * 2 - 1).double().view(1, 1, 64, 64)
    out = guided_filter(guide, linear + blocks, 8, 1e-3)
    inner = (Ellipsis, slice(8, 56), slice(None))
    left, right = out[inner][..., 4:24], out[inner][..., 40:60]
    assert blocks[inner][..., 4:24].std() > 0.09
    assert left.std() < 0.02 and right.std() < 0.02
    edge = out[..., 32] - out[..., 31]
    assert edge.mean().item() == pytest.approx(1.8, abs=0.1)


def test_the_fast_guided_filter_follows_the_full_resolution_guide():
    """Maps at a quarter of the guide's resolution come back at full resolution with the guide's
    sharp edge (a linear function of the guide passes through), where bilinear upsampling
    blurs it."""
    xx = torch.arange(128.).view(1, 1, 1, 128).expand(1, 1, 96, 128)
    guide = 0.2 + 0.6 * (xx >= 61).double()  # an edge between two of the maps' pixels
    low = F.interpolate(guide, size=(24, 32), mode='bilinear',
                                          align_corners=False, antialias=True)
    out = fast_guided_filter(guide, 3 * low - 0.5, 8, 1e-6)
    assert out.shape == guide.shape
    assert torch.allclose(out, 3 * guide - 0.5, atol=1e-3)
    blurred = F.interpolate(3 * low - 0.5, size=(96, 128), mode='bilinear',
                                              align_corners=False)
    assert (blurred - (3 * guide - 0.5)).abs().max() > 0.5
