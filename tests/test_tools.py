"""tools/train.py and tools/test.py end to end: 2 iterations, checkpoint, resume, metrics JSON."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from conftest import ROOT

CONFIG = osp.join(ROOT, 'configs', 'dehazeformer', 'dehazeformer-t_synhaze.py')


def tiny_options(data_dir, max_iters):
    """Shrink the pretraining config to seconds: 64x64 crops, batch 1, 2 val images."""
    return [
        f'train_dataloader.dataset.data_root={data_dir}/train',
        f'val_dataloader.dataset.data_root={data_dir}/val',
        f'test_dataloader.dataset.data_root={data_dir}/val',
        'val_dataloader.dataset.indices=2', 'test_dataloader.dataset.indices=2',
        'train_dataloader.dataset.pipeline.1.crop_size=(64,64)',
        'val_dataloader.dataset.pipeline.1.crop_size=(64,64)',
        'test_dataloader.dataset.pipeline.1.crop_size=(64,64)',
        'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
    ]


def run_tool(script, *args):
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', script), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(sample_split, tmp_path_factory):
    work = tmp_path_factory.mktemp('train')
    log = run_tool('train.py', CONFIG, '--work-dir', str(work), '--cfg-options',
                   *tiny_options(sample_split, 2))
    return work, log


def test_train_writes_checkpoint_and_validates(trained):
    work, log = trained
    assert osp.isfile(work / 'iter_2.pth')
    assert (work / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    assert 'PSNR' in log and 'SSIM' in log
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 2
    assert any(k.startswith('generator.layer3.blocks.0.attn.QK') for k in ckpt['state_dict'])
    assert not [f for f in os.listdir(work) if f.endswith('.tmp')]


def test_resume_continues_from_last_checkpoint(trained, sample_split, tmp_path):
    work, _ = trained
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    for name in ('iter_2.pth', 'last_checkpoint'):
        (resumed / name).write_bytes((work / name).read_bytes())
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_2.pth'))
    log = run_tool('train.py', CONFIG, '--work-dir', str(resumed), '--resume',
                   '--cfg-options', *tiny_options(sample_split, 4))
    assert 'resumed' in log.lower() or 'Advance dataloader' in log
    assert 'Iter(train) [1/4]' not in log and 'Iter(train) [3/4]' in log
    ckpt = torch.load(resumed / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 4


def independent_psnr(checkpoint, data_dir, size=64, count=2):
    """PSNR of the checkpoint on the seeded validation crops, computed outside MMagic's loop."""
    import numpy as np
    from mmagic.evaluation.metrics.psnr import psnr
    from mmagic.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmbilalora.apis import dehaze_array, load_dehazer
    init_default_scope('mmagic')
    cfg = Config.fromfile(CONFIG).val_dataloader.dataset
    cfg.data_root, cfg.indices = f'{data_dir}/val', count
    cfg.pipeline[1].crop_size = (size, size)
    cfg.pipeline = cfg.pipeline[:-1]
    dataset = DATASETS.build(cfg)
    dehazer = load_dehazer(CONFIG, str(checkpoint))
    values = []
    for i in range(len(dataset)):
        sample = dataset[i]
        hazy = np.clip(np.round(sample['img']), 0, 255).astype(np.uint8)
        values.append(psnr(dehaze_array(dehazer, hazy, tile=None), sample['gt']))
    return float(np.mean(values))


def test_test_tool_prints_and_writes_metrics(trained, sample_split, tmp_path):
    work, _ = trained
    out = tmp_path / 'metrics.json'
    log = run_tool('test.py', CONFIG, str(work / 'iter_2.pth'), '--work-dir', str(tmp_path),
                   '--out', str(out), '--cfg-options', *tiny_options(sample_split, 2))
    metrics = json.loads(out.read_text())
    assert set(metrics) == {'PSNR', 'SSIM'}
    assert 0 < metrics['SSIM'] <= 1
    assert f"PSNR: {metrics['PSNR']:.4f}" in log
    # MMagic's metric path (channel orders, normalisation) agrees with a direct computation
    assert metrics['PSNR'] == pytest.approx(independent_psnr(work / 'iter_2.pth', sample_split),
                                            abs=0.1)


def test_test_tool_rejects_missing_checkpoint(tmp_path):
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), CONFIG,
                           str(tmp_path / 'nope.pth')], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode != 0 and 'Checkpoint not found' in proc.stderr


def test_demo_rejects_missing_compact_clip_folder_before_any_work(tmp_path):
    work = tmp_path / 'demo'
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'demo.py'), '--compact-clip',
                           str(tmp_path / 'nope'), '--work-dir', str(work)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and 'nope: no such folder' in proc.stderr
    assert not work.exists()


def test_merge_lora_tool_folds_adapter_into_base(tmp_path):
    from mmagic.registry import MODELS
    from mmengine.registry import init_default_scope

    from mmbilalora.models.lora import extract_adapter, inject_lora, lora_layers, save_adapter
    init_default_scope('mmagic')
    torch.manual_seed(0)
    net = MODELS.build(dict(type='DehazeFormer', arch='t')).eval()
    base = tmp_path / 'base.pth'
    torch.save(dict(state_dict={f'generator.{k}': v for k, v in net.state_dict().items()}), base)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        plain = net(x)
    inject_lora(net, search_space=['layer3.blocks.*'], targets=dict(exclude=('*meta*', )),
                verbose=False)
    with torch.no_grad():
        for layer in lora_layers(net).values():
            layer.lora_B.normal_(0, 0.05)
    adapter = tmp_path / 'adapter.pth'
    save_adapter(extract_adapter(net), str(adapter))
    out = tmp_path / 'merged.pth'
    log = run_tool('merge_lora.py', CONFIG, str(base), str(adapter), str(out))
    assert 'tensors written' in log
    merged = MODELS.build(dict(type='DehazeFormer', arch='t')).eval()
    state = torch.load(out, weights_only=True)['state_dict']
    merged.load_state_dict({k[len('generator.'):]: v for k, v in state.items()}, strict=True)
    with torch.no_grad():
        expected, got = net(x), merged(x)
    assert torch.equal(got, expected)
    assert (got - plain).abs().max() > 1e-3  # the adapter changed the output
    before = adapter.read_bytes()
    refused = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'merge_lora.py'), CONFIG,
                              str(base), str(adapter), str(adapter)], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and 'never overwritten' in refused.stderr
    assert adapter.read_bytes() == before
