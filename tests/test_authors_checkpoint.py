"""The authors' conventions and released file layouts (files built here in their key layout with
random weights): conversion, loading, and their test script's output reproduced."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmagic.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from conftest import ROOT
from mmbilalora.models.editors import DEANet

init_default_scope('mmagic')
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SELECTED = ['level3_block2', 'down_level2_block1', 'level3_block5']
AUTHORS_CONFIG = osp.join(ROOT, 'configs', 'dea-net', 'dea-net_authors.py')


def write_authors_files(folder, seed=0):
    """``Base.pth`` (bare deployed-DEA-Net state dict) and ``LoRA.pth`` (their test script's
    layout: loralib conv shapes, one gate logit per block under its first conv) with random
    weights; the output bias is shifted so most outputs fall inside [0, 1]."""
    torch.manual_seed(seed)
    net = DEANet(deploy=True)
    with torch.no_grad():
        net.up3[0].bias.add_(0.5)
    base = {k: v.clone() for k, v in net.state_dict().items()}
    torch.save(base, folder / 'Base.pth')
    lora = {}
    for block in SELECTED:
        for i, conv in enumerate(('conv1', 'conv2')):
            channels = net.get_submodule(f'{block}.{conv}').weight.shape[0]
            lora[f'{block}.{conv}.lora_A'] = torch.randn(8 * 3, channels * 3) * 0.05
            lora[f'{block}.{conv}.lora_B'] = torch.randn(channels * 3, 8 * 3) * 0.05
            if i == 0:
                lora[f'{block}.{conv}.alpha'] = torch.randn(1)
    torch.save({'lora_state_dict': lora,
                'nas_lora_config': {'selected_layers': SELECTED, 'r': 8, 'lora_alpha': 16}},
               folder / 'LoRA.pth')
    return folder / 'Base.pth', folder / 'LoRA.pth'


def authors_test_script(base_path, lora_path, photo_path, out_path):
    """``BiLaLoRA_Test.py``'s LoRA branch re-derived: their LoRALayer weight
    ``W + sigmoid(alpha) * (lora_alpha / r) * (B @ A).view(W.shape)`` on the direct Conv2d
    children of each selected block, ToTensor + CLIP Normalize, torchvision Resize (bicubic,
    antialias) to a multiple of 16 and back, ``torchvision.utils.save_image``."""
    import torchvision
    from torchvision.transforms import Compose, InterpolationMode, Normalize, Resize, ToTensor
    net = DEANet(deploy=True)
    net.load_state_dict(torch.load(base_path, weights_only=True))
    checkpoint = torch.load(lora_path, weights_only=True)
    config, state = checkpoint['nas_lora_config'], checkpoint['lora_state_dict']
    scaling = config['lora_alpha'] / config['r']
    with torch.no_grad():
        for block in config['selected_layers']:
            alpha = next(v for k, v in state.items()
                         if k.startswith(block + '.') and k.endswith('.alpha'))
            for name, child in net.get_submodule(block).named_children():
                if isinstance(child, nn.Conv2d):
                    delta = (state[f'{block}.{name}.lora_B'] @ state[f'{block}.{name}.lora_A'])
                    child.weight.copy_(child.weight + torch.sigmoid(alpha) * scaling
                                       * delta.view(child.weight.shape))
    net.eval()
    transform = Compose([ToTensor(), Normalize(CLIP_MEAN, CLIP_STD)])
    haze = transform(Image.open(photo_path).convert('RGB')).unsqueeze(0)
    h, w = haze.shape[2], haze.shape[3]
    haze = Resize((h // 16 * 16, w // 16 * 16), interpolation=InterpolationMode.BICUBIC,
                  antialias=True)(haze)
    with torch.no_grad():
        out = net(haze)
    out = Resize((h, w), interpolation=InterpolationMode.BICUBIC, antialias=True)(out.squeeze(0))
    torchvision.utils.save_image(out, out_path)


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp('authors')
    base, lora = write_authors_files(folder)
    out = folder / 'converted'
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'convert_authors_checkpoint.py'),
                           '--base', str(base), '--lora', str(lora), '--out-dir', str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder, base, lora, out


def test_converted_files_load_and_hold_the_authors_tensors(converted):
    from mmengine.runner import load_checkpoint

    from mmbilalora.models.lora import layer_gates, load_adapter, lora_layers, read_adapter
    _, base, lora, out = converted
    model = MODELS.build(Config.fromfile(AUTHORS_CONFIG).model)
    load_checkpoint(model, str(out / 'base.pth'), map_location='cpu')  # what load_from does
    authors_base = torch.load(base, weights_only=True)
    for key, value in model.generator.state_dict().items():
        assert torch.equal(value, authors_base[key]), key
    adapter = read_adapter(str(out / 'adapter.pth'))
    assert adapter['selected_blocks'] == SELECTED and adapter['r'] == 8
    load_adapter(model.generator, adapter)
    authors_lora = torch.load(lora, weights_only=True)['lora_state_dict']
    layers = lora_layers(model.generator)
    assert sorted(layers) == sorted(f'{b}.{c}' for b in SELECTED for c in ('conv1', 'conv2'))
    for name, layer in layers.items():
        assert torch.equal(layer.lora_A, authors_lora[f'{name}.lora_A'])
        assert torch.equal(layer.lora_B, authors_lora[f'{name}.lora_B'])
    for block, gate in layer_gates(model.generator).items():
        assert gate.alpha.item() == authors_lora[f'{block}.conv1.alpha'].item()


def test_dehaze_reproduces_the_authors_test_script(converted, tmp_path):
    folder, base, lora, out = converted
    rng = np.random.default_rng(3)
    # 75 x 117: resized to 64 x 112, not a multiple of 32 (the tool's default padding)
    smooth = np.kron(rng.random((6, 9, 3)), np.ones((13, 13, 1)))[:75, :117]
    photo = tmp_path / 'hazy.png'
    Image.fromarray((40 + 180 * smooth).astype(np.uint8)).save(photo)
    authors_out = tmp_path / 'authors.png'
    authors_test_script(base, lora, photo, authors_out)
    ours = tmp_path / 'ours'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'dehaze.py'), str(photo), '--config',
         AUTHORS_CONFIG, '--checkpoint', str(out / 'base.pth'), '--adapter',
         str(out / 'adapter.pth'), '--resize-multiple', '16', '--tile', '0', '--out', str(ours)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = np.asarray(Image.open(authors_out)).astype(int)
    mine = np.asarray(Image.open(ours / 'hazy.png')).astype(int)
    assert mine.shape == theirs.shape == (75, 117, 3)
    assert 20 < theirs.mean() < 235 and theirs.std() > 5  # a non-trivial image
    assert np.abs(mine - theirs).max() <= 1


def test_resize_to_multiple_equals_torchvision_resize():
    from torchvision.transforms import InterpolationMode, Resize

    from mmbilalora.models.utils import resize_bicubic, resize_to_multiple
    x = torch.randn(1, 3, 37, 53)
    expected = Resize((32, 48), interpolation=InterpolationMode.BICUBIC, antialias=True)(x)
    assert torch.equal(resize_to_multiple(x, 16), expected)
    back = Resize((37, 53), interpolation=InterpolationMode.BICUBIC, antialias=True)(expected)
    assert torch.equal(resize_bicubic(expected, (37, 53)), back)
    assert resize_to_multiple(x[..., :32, :48], 16) is not None
    with pytest.raises(ValueError, match='smaller than the resize multiple'):
        resize_to_multiple(x[..., :8, :8], 16)


def test_other_layouts_are_refused_with_what_was_expected(converted, tmp_path):
    from mmbilalora.apis.authors_checkpoint import convert_authors_files
    folder, base, lora, out = converted
    wrapped = tmp_path / 'wrapped.pth'
    torch.save({'state_dict': torch.load(base, weights_only=True)}, wrapped)
    with pytest.raises(ValueError, match='bare state dict of the deployed DEA-Net'):
        convert_authors_files(str(wrapped), None)
    training_form = tmp_path / 'train_form.pth'
    torch.save(DEANet(deploy=False).state_dict(), training_form)
    with pytest.raises(ValueError, match='reparam_dea_net'):
        convert_authors_files(str(training_form), None)
    state = torch.load(lora, weights_only=True)
    bad_rank = tmp_path / 'bad_rank.pth'
    torch.save(dict(state, nas_lora_config=dict(state['nas_lora_config'], r=4)), bad_rank)
    with pytest.raises(ValueError, match='shape'):
        convert_authors_files(str(base), str(bad_rank))
    missing = tmp_path / 'missing.pth'
    tensors = dict(state['lora_state_dict'])
    tensors.pop('level3_block5.conv2.lora_B')
    torch.save(dict(state, lora_state_dict=tensors), missing)
    with pytest.raises(ValueError, match='missing'):
        convert_authors_files(str(base), str(missing))
    no_config = tmp_path / 'no_config.pth'
    torch.save({'lora_state_dict': state['lora_state_dict']}, no_config)
    with pytest.raises(ValueError, match='nas_lora_config'):
        convert_authors_files(str(base), str(no_config))
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'convert_authors_checkpoint.py'),
                           '--base', str(out / 'base.pth'), '--out-dir', str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and 'never overwritten' in proc.stderr


def test_authors_preprocessor_conventions_in_model_loss_and_test_outputs(tiny_clip_name):
    """CLIP-normalised input, [0, 1] output: the loss maps both sides to the same pixels, and
    a test step gives back pixels on both sides (``input`` and ``pred_img``)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'bilalora', 'dea-net_authors_rtts.py'))
    cfg.model.loss.update(clip_model=tiny_clip_name, pretrained=None)
    model = MODELS.build(cfg.model)
    loss = model.unsupervised_loss
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    pixels = torch.randint(0, 256, (1, 3, 32, 32)).float()
    net_input = (pixels / 255 - mean) / std
    net_output = pixels / 255
    torch.testing.assert_close(loss.to_clip_input(net_input, clamp=True),
                               loss.to_clip_input(net_output, clamp=True, is_pred=True),
                               rtol=0, atol=1e-5)
    assert loss.pred_range == (0.0, 1.0) and len(loss.input_range[0]) == 3

    class ToPixels(nn.Module):  # a "dehazer" returning its input in the output convention
        def forward(self, x):
            return x * std + mean

    model.generator = ToPixels()
    data = dict(inputs=[pixels[0].to(torch.uint8)], data_samples=None)
    from mmagic.structures import DataSample
    data['data_samples'] = [DataSample(metainfo=dict(key='a'))]
    sample = model.val_step(data)[0]
    torch.testing.assert_close(sample.output.pred_img, pixels[0], rtol=0, atol=1e-3)
    torch.testing.assert_close(sample.input, pixels[0], rtol=0, atol=1e-3)
    cfg.model.loss.update(input_range=(-1.0, 1.0))
    with pytest.raises(ValueError, match='disagrees with the data preprocessor'):
        MODELS.build(cfg.model)


def test_test_time_resize_multiple_in_the_edit_model():
    """``test_cfg.resize_multiple``: the generator sees a multiple of 16 outside training; the
    output comes back at the input's size; training inputs are left alone."""
    model = MODELS.build(Config.fromfile(AUTHORS_CONFIG).model)
    seen = []

    class Recorder(nn.Module):
        def forward(self, x):
            seen.append(tuple(x.shape[-2:]))
            return x * 2

    model.generator = Recorder()
    x = torch.rand(1, 3, 37, 50)
    model.eval()
    out = model(x, mode='tensor')
    assert seen[-1] == (32, 48) and out.shape == x.shape
    model.train()
    model(x, mode='tensor')
    assert seen[-1] == (37, 50)
