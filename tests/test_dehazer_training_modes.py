"""BiLaLoRADehazer: the baselines' plain training step and the channels-last option."""
import warnings

import pytest
import torch
from mmagic.registry import MODELS
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

import mmbilalora  # noqa: F401  (registers the plugin)

init_default_scope('mmagic')
SEARCH_SPACE = dict(search_space=['level3_block*'],
                    targets=dict(types=('Conv2d', ), recursive=False))


def build(tiny_clip_name, lora_cfg, device='cpu', **kwargs):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = MODELS.build(dict(
            type='BiLaLoRADehazer', generator=dict(type='DEANet'), lora_cfg=lora_cfg,
            loss=dict(type='CLIPHazeClearLoss', clip_model=tiny_clip_name, pretrained=None),
            data_preprocessor=dict(type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3),
            **kwargs))
        torch.manual_seed(0)  # the same random CLIP tower in every model (loaded lazily)
        model.unsupervised_loss.load_clip()
    return model.to(device).train()


def batch(seed=0, n=2, size=32):
    g = torch.Generator().manual_seed(seed)
    return dict(inputs=[torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
                        for _ in range(n)])


@pytest.mark.parametrize('mode', ['full', 'lora'])
def test_plain_optim_wrapper_trains_the_baselines(tiny_clip_name, mode):
    """lora_cfg=None: every generator weight trains (full fine-tuning); gate=False: LoRA on the
    whole search space; one lower pass and step per iteration, no upper batch needed."""
    lora_cfg = None if mode == 'full' else dict(SEARCH_SPACE, gate=False, r=2, lora_alpha=4)
    model = build(tiny_clip_name, lora_cfg)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    generator = {n for n, _ in model.named_parameters() if n.startswith('generator.')}
    if mode == 'full':
        assert model.lora_report is None and trainable == generator
    else:
        assert trainable and all(n.endswith(('lora_A', 'lora_B')) for n in trainable)
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    wrapper = OptimWrapper(torch.optim.SGD(params, lr=1.0))
    logs = model.train_step(batch(), wrapper)
    assert set(logs) == {'loss_lower'} and torch.isfinite(logs['loss_lower'])
    assert sum(not torch.equal(p, b) for p, b in zip(params, before)) > 0
    assert all(p.grad is None for p in params)  # the wrapper cleared them after its step


def test_channels_last_keeps_values_and_trains(tiny_clip_name, device):
    default = build(tiny_clip_name, dict(SEARCH_SPACE, r=2, lora_alpha=4), device)
    fast = build(tiny_clip_name, dict(SEARCH_SPACE, r=2, lora_alpha=4), device,
                 channels_last=True)
    fast.load_state_dict(default.state_dict())
    conv = fast.generator.level3_block1.conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    with torch.no_grad():
        for model in (default, fast):  # non-zero adapters, so that LoRA takes part
            for name, p in model.named_parameters():
                if name.endswith('lora_B'):
                    p.copy_(torch.linspace(-0.05, 0.05, p.numel()).view_as(p))
    inputs = default.data_preprocessor(batch(), True)['inputs'].to(device)
    losses = [m.loss_of_batch(inputs) for m in (default, fast)]
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    grads = [torch.autograd.grad(loss, m.generator.level3_block1.conv1.lora_A)[0]
             for loss, m in zip(losses, (default, fast))]
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-7)
    params = [p for p in fast.parameters() if p.requires_grad]
    logs = fast.train_step(batch(1), OptimWrapper(torch.optim.SGD(params, lr=0.1)))
    assert torch.isfinite(logs['loss_lower'])
    assert conv.is_contiguous(memory_format=torch.channels_last)
