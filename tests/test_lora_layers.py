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
    conv = nn.Conv2d(5, 7, 3)
    lora = LoRAConv2d.from_base(conv, r=8, lora_alpha=16)
    assert lora.lora_A.shape == (8 * 3, 5 * 3)
    assert lora.lora_B.shape == (7 * 3, 8 * 3)
    assert lora.scaling == 2.0


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
    torch.testing.assert_close(lora(x), adapted, atol=1e-5, rtol=1e-5)
    lora.unmerge()
    assert torch.equal(lora.weight, original)
    base = lora.to_base(merge=True)
    assert type(base) is nn.Conv2d
    assert set(base.state_dict()) == {'weight', 'bias'}
    torch.testing.assert_close(base(x), adapted, atol=1e-5, rtol=1e-5)
    plain = lora.to_base(merge=False)
    assert torch.equal(plain.weight, original)


def test_rank_must_be_positive():
    with pytest.raises(ValueError, match='rank'):
        LoRALinear.from_base(nn.Linear(3, 3), r=0)
