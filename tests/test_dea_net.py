"""DEA-Net: official names and counts, DEConv against its definition, re-parameterisation,
the paper's LoRA search space, and both configs through tools/train.py."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope

from conftest import ROOT
from mmbilalora.models.editors.dea_net import (ANGULAR_ORDER, DEConv,
                                               reparameterize_dea_net)
from mmbilalora.models.lora import inject_lora

init_default_scope('mmagic')

PAPER_SEARCH_SPACE = ([f'down_level1_block{i}' for i in range(1, 5)]
                      + [f'down_level2_block{i}' for i in range(1, 5)]
                      + [f'level3_block{i}' for i in range(1, 9)])


def randomized(model, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    return model.eval()


def test_parameter_count_and_official_names():
    deployed = MODELS.build(dict(type='DEANet'))
    assert sum(p.numel() for p in deployed.parameters()) == 3_653_377
    keys = set(deployed.state_dict())
    for key in ('down1.0.weight', 'down2.0.bias', 'fe_level_2.weight', 'fe_level_3.bias',
                'level3_block8.conv1.weight', 'level3_block1.pa.pa2.weight',
                'level3_block1.ca.ca.2.weight', 'level3_block1.sa.sa.weight', 'up1.0.weight',
                'up3.0.bias', 'mix1.conv.weight', 'mix2.pa.pa2.bias', 'up_level1_block4.conv2.weight'):
        assert key in keys, key
    training = MODELS.build(dict(type='DEANet', deploy=False))
    tkeys = set(training.state_dict())
    assert 'level3_block1.conv1.conv1_2.conv.weight' in tkeys
    assert training.state_dict()['level3_block1.conv1.conv1_2.conv.weight'].shape == (128, 128, 3)
    assert set(reparameterize_dea_net(training.state_dict())) == keys


def windows(x):
    """(N, C, H, W) -> (N, C, 9, H, W) zero-padded 3x3 neighbourhoods (row-major taps)."""
    n, c, h, w = x.shape
    return F.unfold(x, 3, padding=1).view(n, c, 9, h, w)


def test_deconv_equals_its_five_branch_definitions():
    torch.manual_seed(0)
    conv = DEConv(4)
    with torch.no_grad():
        for p in conv.parameters():
            p.normal_(0, 0.3)
    x = torch.rand(2, 4, 9, 11)
    nb = windows(x)  # nb[:, i, k] = tap k of input channel i
    center = nb[:, :, 4:5]

    def apply(weight_taps, taps):  # weight (O, I, 9), taps (N, I, 9, H, W)
        return torch.einsum('oik,nikhw->nohw', weight_taps, taps)

    w1 = conv.conv1_1.conv.weight.flatten(2)
    cdc = apply(w1, nb - center)  # sum_k w_k (x_k - x_c)
    w2 = conv.conv1_2.conv.weight  # (O, I, 3): rows of the left column minus the right column
    hdc = torch.einsum('oir,nirhw->nohw', w2, nb[:, :, [0, 3, 6]] - nb[:, :, [2, 5, 8]])
    w3 = conv.conv1_3.conv.weight
    vdc = torch.einsum('oic,nichw->nohw', w3, nb[:, :, [0, 1, 2]] - nb[:, :, [6, 7, 8]])
    w4 = conv.conv1_4.conv.weight.flatten(2)
    adc = apply(w4 - w4[:, :, ANGULAR_ORDER], nb)
    vanilla = apply(conv.conv1_5.weight.flatten(2), nb)
    bias = sum(b.view(1, -1, 1, 1) for b in (
        conv.conv1_1.conv.bias, conv.conv1_2.conv.bias, conv.conv1_3.conv.bias,
        conv.conv1_4.conv.bias, conv.conv1_5.bias))
    expected = cdc + hdc + vdc + adc + vanilla + bias
    with torch.no_grad():
        torch.testing.assert_close(conv(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('size', [(32, 32), (37, 50), (5, 3)])
def test_reparameterisation_keeps_outputs(size, device):
    training = randomized(MODELS.build(dict(type='DEANet', deploy=False))).to(device)
    deployed = MODELS.build(dict(type='DEANet', deploy=True)).eval().to(device)
    deployed.load_state_dict(reparameterize_dea_net(training.state_dict()))
    x = torch.rand(2, 3, *size).to(device)
    with torch.no_grad():
        expected = training(x)
        assert expected.shape == x.shape
        assert (deployed(x) - expected).abs().max() < 1e-4
        assert (training.reparameterize()(x) - expected).abs().max() < 1e-4
    assert training.deploy and not any(isinstance(m, DEConv) for m in training.modules())


def test_paper_search_space_lora_counts():
    model = MODELS.build(dict(type='DEANet'))
    report = inject_lora(model, search_space=PAPER_SEARCH_SPACE,
                         targets=dict(types=('Conv2d', ), recursive=False), r=8, lora_alpha=16,
                         verbose=False)
    assert report.lora_params == 405_504
    assert all(b.layers == ['conv1', 'conv2'] for b in report.blocks)
    three = sum(b.lora_params for b in report.blocks if b.block in (
        'level3_block1', 'level3_block2', 'level3_block3'))
    assert three == 110_592
    recursive = inject_lora(MODELS.build(dict(type='DEANet')), search_space=PAPER_SEARCH_SPACE,
                            targets=dict(types=('Conv2d', )), verbose=False)
    assert recursive.lora_params > report.lora_params  # attention convs of level-3 blocks too


def test_reparam_tool_converts_mmengine_and_official_layouts(tmp_path):
    training = randomized(MODELS.build(dict(type='DEANet', deploy=False)))
    mm = tmp_path / 'train.pth'
    torch.save(dict(state_dict={f'generator.{k}': v for k, v in training.state_dict().items()},
                    meta=dict(iter=3)), mm)
    official = tmp_path / 'official.pk'
    torch.save(dict(model=training.state_dict()), official)
    tool = osp.join(ROOT, 'tools', 'reparam_dea_net.py')
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        expected = training(x)
    for src in (mm, official):
        out = tmp_path / f'{src.stem}_deployed.pth'
        proc = subprocess.run([sys.executable, tool, str(src), str(out)], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        state = torch.load(out, weights_only=True)['state_dict']
        state = {k.replace('generator.', '', 1): v for k, v in state.items()}
        deployed = MODELS.build(dict(type='DEANet')).eval()
        deployed.load_state_dict(state)
        with torch.no_grad():
            assert (deployed(x) - expected).abs().max() < 1e-4
    proc = subprocess.run([sys.executable, tool, str(mm), str(mm)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode != 0 and 'must differ' in proc.stderr


def run(args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_pretrain_reparameterise_adapt_chain(sample_split, tmp_path):
    """dea-net_synhaze (2 iterations) -> reparam tool -> bilalora/dea-net_rtts (2 iterations)."""
    import json
    from conftest import TINY_CLIP_CONFIG
    pre = tmp_path / 'pretrain'
    run([osp.join(ROOT, 'tools', 'train.py'), osp.join(ROOT, 'configs', 'dea-net',
                                                       'dea-net_synhaze.py'),
         '--work-dir', str(pre), '--cfg-options',
         f'train_dataloader.dataset.data_root={sample_split}/train',
         f'val_dataloader.dataset.data_root={sample_split}/val',
         'val_dataloader.dataset.indices=1', 'train_dataloader.batch_size=1',
         'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
         'train_dataloader.dataset.pipeline.1.crop_size=(32,32)',
         'val_dataloader.dataset.pipeline.1.crop_size=(32,32)',
         'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2'])
    deployed = tmp_path / 'deployed.pth'
    run([osp.join(ROOT, 'tools', 'reparam_dea_net.py'), str(pre / 'iter_2.pth'), str(deployed)])
    clip_json = tmp_path / 'mmbilalora-tiny-dea.json'
    clip_json.write_text(json.dumps(TINY_CLIP_CONFIG))
    adapt = tmp_path / 'adapt'
    log = run([osp.join(ROOT, 'tools', 'train.py'), osp.join(ROOT, 'configs', 'bilalora',
                                                             'dea-net_rtts.py'),
               '--work-dir', str(adapt), '--cfg-options', f'load_from={deployed}',
               f'train_dataloader.dataset.dataset.data_root={sample_split}/val',
               f'val_dataloader.dataset.data_root={sample_split}/val',
               'train_dataloader.dataset.dataset.pipeline.1.size=32',
               'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
               f'model.loss.clip_model={clip_json}', 'model.loss.pretrained=None',
               'train_cfg.max_epochs=1', 'train_cfg.val_interval=10',
               'custom_hooks.0.search_epochs=0.5'])
    assert 'Load checkpoint from' in log and 'search ended at iteration 1' in log
    assert re.search(r'total\s+\|\s+32\s+\|\s+405,504\s', log)
    assert (adapt / 'bilalora_adapter.pth').is_file()


def test_nothing_before_the_first_kept_block_enters_autograd(device):
    """After the search keeps three level-3 blocks, the layers before them run without autograd
    (no graph, no saved activations) and the backward stops at the first adapter."""
    from mmbilalora.models.lora import layer_gates, lora_layers, remove_lora
    model = MODELS.build(dict(type='DEANet')).to(device)
    inject_lora(model, search_space=PAPER_SEARCH_SPACE,
                targets=dict(types=('Conv2d', ), recursive=False), r=2, lora_alpha=4,
                verbose=False)
    kept = ['level3_block2', 'level3_block4', 'level3_block5']
    remove_lora(model, blocks=[b for b in PAPER_SEARCH_SPACE if b not in kept])
    for gate in layer_gates(model).values():
        gate.alpha.requires_grad_(False)
    needs_grad = {}
    for name, module in model.named_children():
        module.register_forward_hook(
            lambda m, args, out, name=name: needs_grad.__setitem__(name, out.requires_grad))
    model(torch.rand(1, 3, 32, 32, device=device)).mean().backward()
    order = list(needs_grad)
    first = order.index('level3_block2')
    assert not any(needs_grad[name] for name in order[:first])  # down1 ... level3_block1
    assert all(needs_grad[name] for name in order[first:])
    assert sorted({n.split('.')[0] for n in lora_layers(model)}) == kept
    assert all(layer.lora_A.grad is not None for layer in lora_layers(model).values())
