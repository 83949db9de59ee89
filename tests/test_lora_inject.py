"""LoRA injection on real networks: identity at init, merge equivalence, gates, adapters, errors."""
import copy

import pytest
import torch
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope

from mmbilalora.models.lora import (LayerGate, LoRAConv2d, LoRALinear, extract_adapter,
                                    inject_lora, layer_gates, load_adapter, lora_layers,
                                    merge_lora, read_adapter, remove_lora, save_adapter)

init_default_scope('mmagic')

NETWORKS = {
    'DEANet': (dict(type='DEANet', deploy=True),
               dict(search_space=['down_level2_block*', 'level3_block*'],
                    targets=dict(types=('Conv2d', ), recursive=False)), 32),
    'DehazeFormer': (dict(type='DehazeFormer', arch='t'),
                     dict(search_space=['layer2.blocks.*', 'layer3.blocks.*'],
                          targets=dict(exclude=('*meta*', ))), 32),
    'NAFNet': (dict(type='NAFNet', img_channels=3, mid_channels=16, enc_blk_nums=[1, 1],
                    middle_blk_num=1, dec_blk_nums=[1, 1]),
               dict(search_space=[dict(type='NAFBlock')]), 32),
    'Restormer': (dict(type='Restormer', inp_channels=3, out_channels=3, dim=16,
                       num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 1, 2, 2]),
                  dict(search_space=[dict(type='TransformerBlock')]), 32),
    'SwinIR': (dict(type='SwinIRNet', upscale=1, in_chans=3, img_size=32, window_size=8,
                    img_range=1., depths=[2, 2], embed_dim=24, num_heads=[2, 2], mlp_ratio=2,
                    upsampler='', resi_connection='1conv'),
               dict(search_space=['layers.*.residual_group.blocks.*']), 32),
}


def build(name):
    """The network with its init perturbed, standing in for trained weights (NAFNet's residual
    scales start at zero, which would hide every block)."""
    torch.manual_seed(0)
    model = MODELS.build(NETWORKS[name][0]).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    return model


def randomize_adapters(model, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in lora_layers(model).values():
            layer.lora_A.copy_(torch.randn(layer.lora_A.shape, generator=g) * 0.05)
            layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=g) * 0.05)
        for gate in layer_gates(model).values():
            gate.alpha.fill_(float(torch.randn((), generator=g)))


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_identity_at_init_and_merge_equivalence(name, device):
    base = build(name).to(device)
    size = NETWORKS[name][2]
    x = torch.rand(2, 3, size, size).to(device)
    with torch.no_grad():
        expected = base(x)
    model = copy.deepcopy(base)
    report = inject_lora(model, r=4, lora_alpha=8, verbose=False, **NETWORKS[name][1])
    assert report.lora_params > 0 and all(b.layers for b in report.blocks)
    with torch.no_grad():
        assert torch.equal(model(x), expected)
    randomize_adapters(model)
    with torch.no_grad():
        adapted = model(x)
        assert (adapted - expected).abs().max() > 1e-4
        merged = merge_lora(model)
        assert not lora_layers(merged) and not layer_gates(merged)
        assert torch.equal(merged(x), adapted)  # W + delta, stored or computed: the same bits
    fresh = MODELS.build(NETWORKS[name][0]).eval().to(device)
    fresh.load_state_dict(merged.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.equal(fresh(x), adapted)


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_gradients_reach_adapters_and_gates_only(name, device):
    model = build(name).train().to(device)
    inject_lora(model, r=2, lora_alpha=4, verbose=False, **NETWORKS[name][1])
    randomize_adapters(model)
    size = NETWORKS[name][2]
    model(torch.rand(1, 3, size, size).to(device)).square().mean().backward()
    for n, p in model.named_parameters():
        if n.endswith(('lora_A', 'lora_B')) or 'lora_gate' in n:
            assert p.grad is not None and p.grad.abs().sum() > 0, n
        else:
            assert p.grad is None and not p.requires_grad, n


def test_dehazeformer_report_gates_and_recursive_targets():
    model = build('DehazeFormer')
    report = inject_lora(model, search_space=['layer3.blocks.*'], targets=dict(
        exclude=('*meta*', )), r=8, lora_alpha=16, verbose=False)
    blocks = [b.block for b in report.blocks]
    assert blocks == [f'layer3.blocks.{i}' for i in range(4)]
    first = report.blocks[0]
    assert first.layers == ['attn.V', 'attn.proj', 'attn.QK', 'mlp.mlp.0', 'mlp.mlp.2']
    # the depthwise 5x5 conv (2,400 weights) would get 200 + 19,200 LoRA weights: skipped
    assert report.skipped[0] == ('layer3.blocks.0.attn.conv', 19400, 2400)
    assert len(report.skipped) == 4 and 'skipped 4 layer(s)' in report.table()
    assert isinstance(model.layer3.blocks[0].attn.QK, LoRAConv2d)
    assert not isinstance(model.layer3.blocks[0].norm1.meta1, LoRAConv2d)
    gate = model.layer3.blocks[0].lora_gate
    assert isinstance(gate, LayerGate)
    assert all(layer.gate is gate for name, layer in lora_layers(model).items()
               if name.startswith('layer3.blocks.0.'))
    keys = list(model.state_dict())
    assert len(keys) == len(set(keys))
    assert sum(k.endswith('lora_gate.alpha') for k in keys) == 4
    params = list(model.parameters())
    assert len(params) == len({id(p) for p in params})
    # per block, r=8 on 1x1 convs (r * (in + out)): V 96->96, proj 96->96, QK 96->192,
    # mlp 96->384 and 384->96
    assert report.lora_params == sum(layer.num_lora_parameters()
                                     for layer in lora_layers(model).values())
    assert report.lora_params == 4 * 8 * (192 + 192 + 288 + 480 + 480)
    assert 'total' in report.table() and 'layer3.blocks.0' in report.table()
    # qk conv 96 -> 192, 1x1, r=8: A (8, 96), B (192, 8)
    assert model.layer3.blocks[0].attn.QK.lora_A.shape == (8, 96)
    assert model.layer3.blocks[0].attn.QK.lora_B.shape == (192, 8)


def test_swinir_linear_attention_projections_are_adapted():
    model = build('SwinIR')
    inject_lora(model, search_space=['layers.0.residual_group.blocks.0'],
                targets=dict(types=('Linear', ), include=('attn.*', )), verbose=False)
    wrapped = sorted(lora_layers(model))
    assert wrapped == ['layers.0.residual_group.blocks.0.attn.proj',
                       'layers.0.residual_group.blocks.0.attn.qkv']
    assert all(isinstance(m, LoRALinear) for m in lora_layers(model).values())


def test_unknown_block_name_lists_closest_names():
    model = build('DehazeFormer')
    with pytest.raises(KeyError) as err:
        inject_lora(model, search_space=['layer3.block.0'], verbose=False)
    assert 'layer3.blocks.0' in str(err.value)
    with pytest.raises(KeyError, match='pattern'):
        inject_lora(model, search_space=['layer9.*'], verbose=False)
    with pytest.raises(KeyError, match="module type 'NoSuchBlock'"):
        inject_lora(model, search_space=[dict(type='NoSuchBlock')], verbose=False)


def test_search_space_errors():
    model = build('DehazeFormer')
    with pytest.raises(ValueError, match='empty'):
        inject_lora(model, search_space=[], verbose=False)
    with pytest.raises(ValueError, match='must not nest'):
        inject_lora(model, search_space=['layer3', 'layer3.blocks.0'], verbose=False)
    with pytest.raises(ValueError, match='no layer matching'):
        inject_lora(model, search_space=['layer3.blocks.0'], targets=dict(include=('nope*', )),
                    verbose=False)
    with pytest.raises(ValueError, match='Unsupported LoRA target types'):
        inject_lora(model, search_space=['layer3.blocks.0'], targets=dict(types=('GRU', )),
                    verbose=False)


def test_remove_lora_keeps_only_selected_blocks():
    model = build('DehazeFormer')
    inject_lora(model, search_space=['layer3.blocks.*'], targets=dict(exclude=('*meta*', )),
                verbose=False)
    randomize_adapters(model)
    x = torch.rand(1, 3, 32, 32)
    dropped = ['layer3.blocks.1', 'layer3.blocks.3']
    reference = copy.deepcopy(model)
    for block in dropped:
        with torch.no_grad():
            for name, layer in lora_layers(reference).items():
                if name.startswith(block + '.'):
                    layer.lora_B.zero_()
    restored = remove_lora(model, blocks=dropped)
    assert restored and all(n.startswith(tuple(b + '.' for b in dropped)) for n in restored)
    assert sorted(layer_gates(model)) == ['layer3.blocks.0', 'layer3.blocks.2']
    assert {n.split('.attn')[0].split('.mlp')[0] for n in lora_layers(model)} == {
        'layer3.blocks.0', 'layer3.blocks.2'}
    with torch.no_grad():
        assert (model(x) - reference(x)).abs().max() < 1e-6


def test_adapter_round_trip_and_errors(tmp_path):
    model = build('DehazeFormer')
    inject_lora(model, search_space=['layer3.blocks.*'], targets=dict(exclude=('*meta*', )),
                r=4, lora_alpha=8, verbose=False)
    randomize_adapters(model)
    adapter = extract_adapter(model, selected_blocks=['layer3.blocks.0', 'layer3.blocks.2'],
                              meta=dict(note='test'))
    remove_lora(model, blocks=['layer3.blocks.1', 'layer3.blocks.3'])
    path = tmp_path / 'adapter.pth'
    save_adapter(adapter, str(path))
    assert path.stat().st_size < 200_000
    loaded = read_adapter(str(path))  # weights_only=True inside
    torch.load(path, weights_only=True)
    assert loaded['selected_blocks'] == ['layer3.blocks.0', 'layer3.blocks.2']
    assert loaded['r'] == 4 and loaded['lora_alpha'] == 8.0 and loaded['meta']['note'] == 'test'

    fresh = build('DehazeFormer')
    load_adapter(fresh, str(path))
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert (fresh(x) - model(x)).abs().max() < 1e-6
    assert sorted(layer_gates(fresh)) == ['layer3.blocks.0', 'layer3.blocks.2']

    other = MODELS.build(dict(type='DehazeFormer', arch='s'))
    with pytest.raises(ValueError, match='different base architecture'):
        load_adapter(other, str(path))
    with pytest.raises(FileNotFoundError, match='Adapter file not found'):
        read_adapter(str(tmp_path / 'missing.pth'))
    corrupt = tmp_path / 'corrupt.pth'
    corrupt.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match='corrupt'):
        read_adapter(str(corrupt))
    not_adapter = tmp_path / 'weights.pth'
    torch.save({'state_dict': {}}, not_adapter)
    with pytest.raises(ValueError, match='not an mmbilalora adapter'):
        read_adapter(str(not_adapter))


def test_direct_children_only_and_multihead_out_proj_guard():
    model = build('DehazeFormer')
    block = model.layer3.blocks[0]
    from mmbilalora.models.lora import find_target_layers
    assert find_target_layers(block, recursive=False) == []  # its convs are nested
    assert find_target_layers(block.attn, recursive=False) == ['conv', 'V', 'proj', 'QK']
    mha_block = torch.nn.Module()
    mha_block.attn = torch.nn.MultiheadAttention(8, 2)
    mha_block.fc = torch.nn.Linear(8, 8)
    assert find_target_layers(mha_block) == ['fc']


@pytest.mark.parametrize('batch_first', [False, True])
def test_multihead_attention_in_proj_and_out_proj_adapters(batch_first):
    torch.manual_seed(0)
    block = torch.nn.Module()
    block.attn = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).eval()
    model = torch.nn.Module()
    model.block = block
    x = torch.rand(3, 5, 8)
    with torch.no_grad():
        expected = model.block.attn(x, x, x)[0]
    report = inject_lora(model, search_space=['block'], targets=dict(
        types=('MultiheadAttention', 'Linear')), r=2, verbose=False)
    assert report.blocks[0].layers == ['attn', 'attn.out_proj']
    assert set(model.block.attn.state_dict()) >= {'in_proj_weight', 'in_proj_bias',
                                                  'out_proj.weight', 'lora_A', 'lora_B',
                                                  'out_proj.lora_A'}
    with torch.no_grad():  # the base's eval fast path may round differently: not bit-equal
        torch.testing.assert_close(model.block.attn(x, x, x)[0], expected, atol=1e-6, rtol=1e-5)
    randomize_adapters(model)
    with torch.no_grad():
        adapted = model.block.attn(x, x, x)[0]
        assert (adapted - expected).abs().max() > 1e-3
        merged = merge_lora(model)
        assert type(merged.block.attn) is torch.nn.MultiheadAttention
        assert (merged.block.attn(x, x, x)[0] - adapted).abs().max() < 1e-5
    fresh = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    fresh.load_state_dict(merged.block.attn.state_dict(), strict=True)


def test_oversized_layers_are_skipped_unless_allowed():
    """A LoRA is kept only when it has fewer weights than its layer: 1x1 conv 8 -> 8 has 64
    weights, r=4 gives 4 * (8 + 8) = 64 (skipped), r=3 gives 48 (kept)."""
    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Sequential(torch.nn.Conv2d(8, 8, 1),
                                                       torch.nn.Conv2d(8, 16, 1)))
    report = inject_lora(net(), search_space=['0'], r=4, verbose=False)
    assert report.blocks[0].layers == ['1'] and report.skipped == [('0.0', 64, 64)]
    assert report.blocks[0].lora_params == 4 * (8 + 16)
    assert inject_lora(net(), search_space=['0'], r=3, verbose=False).skipped == []
    allowed = inject_lora(net(), search_space=['0'], r=4, oversized='allow', verbose=False)
    assert allowed.blocks[0].layers == ['0', '1'] and not allowed.skipped
    small = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Conv2d(8, 8, 1)))
    with pytest.raises(ValueError, match='at least as large as the layer'):
        inject_lora(small, search_space=['0'], r=4, verbose=False)
    with pytest.raises(ValueError, match='oversized'):
        inject_lora(net(), search_space=['0'], oversized='nope', verbose=False)


def _config_model(path):
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model.generator)
    return model, inject_lora(model, verbose=False, **cfg.model.lora_cfg)


@pytest.mark.parametrize('config,space_max,top3_max', [
    ('configs/bilalora/dehazeformer_rtts.py', 0.15, 0.04),
    ('configs/bilalora/dea-net_rtts.py', 0.12, 0.031)])
def test_config_search_spaces_stay_low_rank(config, space_max, top3_max):
    """Search space and the largest possible top-3 adapter as shares of the base model; no
    depthwise conv and no layer with a LoRA as large as itself."""
    import os.path as osp
    from conftest import ROOT
    model, report = _config_model(osp.join(ROOT, config))
    total = report.model_base_params
    largest3 = sum(sorted((b.lora_params for b in report.blocks), reverse=True)[:3])
    assert report.lora_params / total <= space_max
    assert largest3 / total <= top3_max
    for name, layer in lora_layers(model).items():
        assert layer.groups == 1 or layer.groups != layer.in_channels, name
        assert layer.num_lora_parameters() < layer.weight.numel(), name
