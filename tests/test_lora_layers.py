"""LoRA layers: shapes, exact identity at init, delta arithmetic, merge/unmerge, gradients."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmbilalora.models.lora import LayerGate, LoRAConv2d, LoRALinear


def randomize_lora(layer, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # drawn on the CPU: the same values on every device
        layer.lora_A.copy_(torch.randn(layer.lora_A.shape, generator=g) * 0.1)
        layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=g) * 0.1)


CONV_CASES = [
    dict(in_channels=6, out_channels=8, kernel_size=3, padding=1),
    dict(in_channels=6, out_channels=8, kernel_size=1),
    dict(in_channels=6, out_channels=9, kernel_size=(3, 5), padding=(1, 2), stride=2),
    dict(in_channels=6, out_channels=12, kernel_size=3, padding=1, groups=3),
    dict(in_channels=8, out_channels=8, kernel_size=5, padding=2, groups=8,
         padding_mode='reflect'),
]


@pytest.mark.parametrize('kwargs', CONV_CASES)
def test_conv_identity_at_init_and_shapes(kwargs):
    torch.manual_seed(0)
    conv = nn.Conv2d(**kwargs)
    x = torch.randn(2, kwargs['in_channels'], 11, 13)
    expected = conv(x)
    lora = LoRAConv2d.from_base(conv, r=4, lora_alpha=8)
    out_ch, in_pg, kh, kw = conv.weight.shape
    assert lora.lora_A.shape == (4 * kh, in_pg * kw)
    assert lora.lora_B.shape == (out_ch * kh, 4 * kh)
    assert lora.weight is conv.weight and lora.bias is conv.bias
    assert torch.equal(lora(x), expected)
    assert torch.count_nonzero(lora.lora_A) > 0 and torch.count_nonzero(lora.lora_B) == 0


@pytest.mark.parametrize('kwargs', CONV_CASES)
def test_conv_delta_matches_explicit_conv(kwargs, device):
    torch.manual_seed(1)
    conv = nn.Conv2d(**kwargs).to(device)
    gate = LayerGate().to(device)
    with torch.no_grad():
        gate.alpha.fill_(0.7)
    lora = LoRAConv2d.from_base(copy.deepcopy(conv), r=3, lora_alpha=6, gate=gate)
    randomize_lora(lora)
    x = torch.randn(2, kwargs['in_channels'], 10, 12).to(device)
    delta = (lora.lora_B @ lora.lora_A).reshape(conv.weight.shape)
    merged_weight = conv.weight + torch.sigmoid(torch.tensor(0.7)).item() * (6 / 3) * delta
    if conv.padding_mode != 'zeros':
        ph, pw = conv.padding
        xp = F.pad(x, (pw, pw, ph, ph), mode=conv.padding_mode)
        expected = F.conv2d(xp, merged_weight, conv.bias, conv.stride, 0, conv.dilation,
                            conv.groups)
    else:
        expected = F.conv2d(x, merged_weight, conv.bias, conv.stride, conv.padding,
                            conv.dilation, conv.groups)
    assert lora.delta_weight().shape == conv.weight.shape
    torch.testing.assert_close(lora(x), expected, atol=1e-5, rtol=1e-5)


def test_conv_matches_loralib_form_for_square_kernel():
    """loralib's ConvLoRA: W + (B @ A).view(W.shape) * lora_alpha / r, element by element (small
    integers, so every product and sum is exact)."""
    conv = nn.Conv2d(5, 7, 3)
    lora = LoRAConv2d.from_base(conv, r=8, lora_alpha=16)
    assert lora.lora_A.shape == (8 * 3, 5 * 3)
    assert lora.lora_B.shape == (7 * 3, 8 * 3)
    assert lora.scaling == 2.0
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        lora.lora_A.copy_(torch.randint(-3, 4, lora.lora_A.shape, generator=g))
        lora.lora_B.copy_(torch.randint(-3, 4, lora.lora_B.shape, generator=g))
    A, B, delta = lora.lora_A, lora.lora_B, lora.delta_weight()
    for o, i, p, q in [(0, 0, 0, 0), (6, 4, 2, 2), (3, 1, 0, 2), (5, 2, 1, 0), (1, 3, 2, 1)]:
        row, col = divmod(((o * 5 + i) * 3 + p) * 3 + q, 5 * 3)  # the row-major view of B @ A
        expected = 2.0 * sum(B[row, j].item() * A[j, col].item() for j in range(8 * 3))
        assert delta[o, i, p, q].item() == expected
    x = torch.randn(2, 5, 9, 9)
    assert torch.equal(lora(x), F.conv2d(x, conv.weight + (B @ A).view(7, 5, 3, 3) * 2.0,
                                         conv.bias))


def test_linear_identity_delta_and_dropout_branch():
    torch.manual_seed(2)
    linear = nn.Linear(10, 6)
    x = torch.randn(4, 7, 10)
    expected = linear(x)
    lora = LoRALinear.from_base(linear, r=2, lora_alpha=4)
    assert torch.equal(lora(x), expected)
    randomize_lora(lora)
    w = linear.weight + 2.0 * lora.lora_B @ lora.lora_A
    torch.testing.assert_close(lora(x), F.linear(x, w, linear.bias))
    # dropout in eval mode: the merged-weight path; with p=0 the branch equals the merged path
    drop = LoRALinear.from_base(copy.deepcopy(linear), r=2, lora_alpha=4, dropout=0.5)
    drop.load_state_dict(lora.state_dict())
    drop.eval()
    torch.testing.assert_close(drop(x), lora(x))
    drop.train()
    drop.lora_dropout.p = 0.0
    torch.testing.assert_close(drop(x), lora(x), atol=1e-6, rtol=1e-5)


def test_gradients_reach_lora_and_gate_not_base(device):
    gate = LayerGate().to(device)
    conv = LoRAConv2d.from_base(nn.Conv2d(3, 4, 3, padding=1).to(device), r=2, gate=gate)
    linear = LoRALinear.from_base(nn.Linear(4, 4).to(device), r=2, gate=gate)
    randomize_lora(conv)
    randomize_lora(linear, seed=1)
    x = torch.randn(2, 3, 8, 8, device=device)
    y = linear(conv(x).permute(0, 2, 3, 1)).square().mean()
    y.backward()
    for p in (conv.lora_A, conv.lora_B, linear.lora_A, linear.lora_B, gate.alpha):
        assert p.grad is not None and p.grad.abs().sum() > 0
    for p in (conv.weight, conv.bias, linear.weight, linear.bias):
        assert p.grad is None and not p.requires_grad


def test_gate_is_not_registered_in_layer():
    gate = LayerGate()
    lora = LoRALinear.from_base(nn.Linear(4, 4), r=2, gate=gate)
    assert set(lora.state_dict()) == {'weight', 'bias', 'lora_A', 'lora_B'}
    assert all(p is not gate.alpha for p in lora.parameters())
    assert lora.gate is gate


def test_merge_unmerge_is_exact_and_to_base_restores_class(device):
    torch.manual_seed(3)
    conv = nn.Conv2d(4, 4, 3, padding=1).to(device)
    original = conv.weight.detach().clone()
    lora = LoRAConv2d.from_base(conv, r=2, gate=LayerGate(0.3).to(device))
    randomize_lora(lora)
    x = torch.randn(1, 4, 9, 9, device=device)
    adapted = lora(x)
    lora.merge()
    assert torch.equal(lora(x), adapted)
    lora.unmerge()
    assert torch.equal(lora.weight, original)
    base = lora.to_base(merge=True)
    assert type(base) is nn.Conv2d
    assert set(base.state_dict()) == {'weight', 'bias'}
    assert torch.equal(base(x), adapted)
    plain = lora.to_base(merge=False)
    assert torch.equal(plain.weight, original)


def test_rank_must_be_positive():
    with pytest.raises(ValueError, match='rank'):
        LoRALinear.from_base(nn.Linear(3, 3), r=0)


def test_layers_are_built_by_the_base_constructor_and_adopt_the_base_tensors():
    """No module state is copied: the LoRA layer is what ``nn.Conv2d(...)`` builds (same random
    draws), plus the base layer's Parameter objects and train/eval mode."""
    torch.manual_seed(5)
    plain = nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2, padding_mode='reflect')
    plain_a = torch.empty(2 * 3, 2 * 3)
    nn.init.kaiming_uniform_(plain_a, a=5**0.5)
    torch.manual_seed(5)
    built = LoRAConv2d(4, 6, 3, stride=2, padding=1, groups=2, padding_mode='reflect', r=2)
    assert torch.equal(built.weight, plain.weight) and torch.equal(built.lora_A, plain_a)

    base = plain.eval()
    hook_calls = []
    base.register_forward_hook(lambda *_: hook_calls.append('base'))
    lora = LoRAConv2d.from_base(base, r=2)
    assert type(lora) is LoRAConv2d and not lora.training and not lora.lora_dropout.training
    assert lora.weight is base.weight and lora.bias is base.bias
    assert (lora.stride, lora.padding, lora.groups, lora.padding_mode) == ((2, 2), (1, 1), 2,
                                                                          'reflect')
    assert list(lora.state_dict()) == ['weight', 'bias', 'lora_A', 'lora_B']
    x = torch.randn(1, 4, 8, 8)
    lora(x)
    assert hook_calls == []  # hooks stay with the layer they were registered on
    handle = lora.register_forward_hook(lambda *_: hook_calls.append('lora'))
    lora(x)
    handle.remove()
    lora(x)
    assert hook_calls == ['lora']
    plain_again = lora.to_base(merge=False)
    assert type(plain_again) is nn.Conv2d and plain_again.weight is base.weight
    assert not plain_again.training and plain_again.padding_mode == 'reflect'
    assert torch.equal(plain_again(x), base(x))


class Doubled(nn.Module):

    def forward(self, weight):
        return 2 * weight


def test_parametrisation_on_the_lora_layer_applies_and_parametrised_bases_are_refused():
    from torch.nn.utils import parametrize
    torch.manual_seed(6)
    lora = LoRALinear.from_base(nn.Linear(4, 3), r=2, lora_alpha=2)
    randomize_lora(lora)
    parametrize.register_parametrization(lora, 'weight', Doubled())
    x = torch.randn(5, 4)
    stored = lora.parametrizations.weight.original
    expected = F.linear(x, 2 * stored + lora.lora_B @ lora.lora_A, lora.bias)
    assert torch.equal(lora(x), expected)
    with pytest.raises(ValueError, match='parametrised'):
        lora.merge()
    base = nn.Linear(4, 3)
    parametrize.register_parametrization(base, 'weight', Doubled())
    with pytest.raises(ValueError, match='parametrised'):
        LoRALinear.from_base(base, r=2)
