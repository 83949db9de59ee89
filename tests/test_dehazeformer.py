"""DehazeFormer: official parameter counts and key names, any input size, checkpoint loading."""
import pytest
import torch
from mmagic.registry import MODELS

import mmbilalora  # noqa: F401  (registers DehazeFormer)

# Parameter counts of the official variants in the DehazeFormer paper (Table 1), in millions.
# The paper's counter skips parameters that are not inside standard layers (RLN's affine weight
# and bias), so those are left out of the comparison; the full totals are pinned below.
PAPER_PARAMS_M = {'t': 0.686, 's': 1.283, 'b': 2.514, 'm': 4.634, 'l': 25.44}
TOTAL_PARAMS = {'t': 687404, 's': 1284884, 'b': 2517612, 'm': 4635952, 'l': 25451652}


def count_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('arch', sorted(PAPER_PARAMS_M))
def test_parameter_counts_match_paper(arch):
    model = MODELS.build(dict(type='DehazeFormer', arch=arch))
    rln_affine = sum(p.numel() for n, p in model.named_parameters()
                     if n.endswith(('norm1.weight', 'norm1.bias')))
    tolerance = 0.01 if arch == 'l' else 0.001
    assert abs((count_params(model) - rln_affine) / 1e6 - PAPER_PARAMS_M[arch]) <= tolerance
    assert count_params(model) == TOTAL_PARAMS[arch]


def test_state_dict_keys_follow_official_names():
    keys = set(MODELS.build(dict(type='DehazeFormer', arch='t')).state_dict())
    expected_subset = {
        'patch_embed.proj.weight', 'layer1.blocks.0.attn.conv.weight',
        'layer1.blocks.0.attn.V.weight', 'layer1.blocks.0.attn.proj.bias',
        'layer1.blocks.0.mlp.mlp.0.weight', 'layer1.blocks.0.mlp.mlp.2.weight',
        'layer2.blocks.2.norm1.meta1.weight', 'layer2.blocks.2.attn.QK.weight',
        'layer2.blocks.2.attn.attn.relative_positions', 'layer2.blocks.2.attn.attn.meta.0.weight',
        'layer3.blocks.3.attn.attn.meta.2.bias', 'patch_merge1.proj.weight', 'skip1.weight',
        'skip2.bias', 'patch_split1.proj.0.weight', 'fusion1.mlp.0.weight',
        'fusion2.mlp.2.weight', 'patch_unembed.proj.0.bias'
    }
    assert expected_subset <= keys
    # DehazeFormer-t: no attention in layer1 (attn_ratio 0) and attention everywhere in layer3
    assert 'layer1.blocks.3.attn.QK.weight' not in keys
    assert 'layer2.blocks.1.attn.QK.weight' not in keys
    assert 'layer2.blocks.2.attn.QK.weight' in keys
    assert all(f'layer3.blocks.{i}.attn.QK.weight' in keys for i in range(4))


@pytest.mark.parametrize('size', [(1, 1), (7, 5), (33, 47), (64, 64), (70, 31)])
def test_any_input_size_keeps_shape(size):
    model = MODELS.build(dict(type='DehazeFormer', arch='t')).eval()
    x = torch.rand(2, 3, *size) * 2 - 1
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


def test_official_padding_option_matches_default_on_window_multiples():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='DehazeFormer', arch='t')).eval()
    official = MODELS.build(dict(type='DehazeFormer', arch='t', pad_multiple=4)).eval()
    official.load_state_dict(model.state_dict())
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(model(x), official(x))


def test_official_checkpoint_layout_loads_through_init_cfg(tmp_path):
    """Official files are {'state_dict': {'module.<key>': tensor}}; init_cfg loads them as is."""
    source = MODELS.build(dict(type='DehazeFormer', arch='t'))
    ckpt = tmp_path / 'dehazeformer-t.pth'
    torch.save({'state_dict': {f'module.{k}': v for k, v in source.state_dict().items()}}, ckpt)
    model = MODELS.build(
        dict(type='DehazeFormer', arch='t', init_cfg=dict(type='Pretrained', checkpoint=str(ckpt))))
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_unknown_arch_is_rejected():
    with pytest.raises(ValueError, match='Unknown DehazeFormer arch'):
        MODELS.build(dict(type='DehazeFormer', arch='xl'))


def test_t_conv_is_t_without_attention_and_has_no_window_grid():
    from mmbilalora.models.editors.dehazeformer import DehazeFormer
    t, conv = DehazeFormer(arch='t'), DehazeFormer(arch='t-conv')
    conv_keys, t_keys = set(conv.state_dict()), set(t.state_dict())
    assert conv_keys < t_keys
    assert all(k.endswith(('norm1.weight', 'norm1.bias')) or '.norm1.meta' in k or '.QK.' in k
               or '.attn.attn.' in k for k in t_keys - conv_keys)
    assert count_params(conv) == 587788
    # translation equivariance on the padding grid: shifting the input by 8 pixels (a quarter of
    # t's 32-pixel window grid) shifts the output by 8 pixels away from the borders
    torch.manual_seed(0)
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        out = conv(x)
        shifted = conv(torch.roll(x, shifts=(8, 8), dims=(2, 3)))
    inner = (slice(None), slice(None), slice(32, 64), slice(32, 64))
    rolled = torch.roll(out, shifts=(8, 8), dims=(2, 3))
    assert torch.allclose(rolled[inner], shifted[inner], atol=1e-4)
