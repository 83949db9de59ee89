"""Adapter bank: exact switching, old files, merged export of the active adapter, routing."""
import pytest
import torch
from mmagic.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmbilalora.datasets.sample_images import day_and_night_images
from mmbilalora.models.lora import (AdapterBank, extract_adapter, inject_lora, load_adapter,
                                    lora_layers, read_adapter, save_adapter,
                                    save_merged_checkpoint)
from mmbilalora.utils import model_zoo

# The compact CLIP's vocabulary (its captions: "a photo with haze", "a dark photo with haze",
# ...); it does not know "nighttime", which real CLIP would read (the paper's night prompt).
DAY_PROMPTS = [('a photo with haze', 'a clear photo')]
NIGHT_PROMPTS = [('a dark photo with haze', 'a clear photo')]


def base_net(seed: int = 0, generator=None):
    """A DehazeFormer-t (random weights, ``seed``), or the model of the ``generator`` config."""
    init_default_scope('mmagic')
    torch.manual_seed(seed)
    return MODELS.build(generator or dict(type='DehazeFormer', arch='t')).eval()


def shipped_generator() -> dict:
    """The generator config of the shipped base."""
    return Config.fromfile(model_zoo.config_path(model_zoo.SHIPPED_BASE)).model.generator


def make_adapter(path, blocks, r, seed, prompts, description, gate_alpha, scale=0.05,
                 generator=None):
    """A trained-looking adapter for DehazeFormer-t (or the ``generator`` config's model):
    random non-zero LoRA B (std ``scale``) and gate alphas."""
    net = base_net(generator=generator)
    inject_lora(net, search_space=blocks, targets=dict(exclude=('*meta*', )), r=r,
                verbose=False)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in lora_layers(net).values():
            layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=generator) * scale)
        for i, layer in enumerate(lora_layers(net).values()):
            if layer.gate is not None:
                layer.gate.alpha.fill_(gate_alpha + 0.1 * i)
    save_adapter(extract_adapter(net, prompts=prompts, description=description), str(path))
    return str(path)


@pytest.fixture(scope='module')
def adapters(tmp_path_factory):
    folder = tmp_path_factory.mktemp('adapters')
    return dict(
        day=make_adapter(folder / 'day.pth', ['layer3.blocks.*'], 8, 1, DAY_PROMPTS,
                         'daytime haze', 0.5),
        night=make_adapter(folder / 'night.pth', ['layer2.blocks.*', 'layer4.blocks.0'], 4, 2,
                           NIGHT_PROMPTS, 'nighttime haze', -0.3))


def alone(path):
    """The base with one adapter loaded the ordinary way (no bank)."""
    net = base_net()
    load_adapter(net, path)
    return net


def assert_same_model(got, expected, x):
    got_state, expected_state = got.state_dict(), expected.state_dict()
    assert list(got_state) == list(expected_state)
    for key, value in expected_state.items():
        assert torch.equal(got_state[key], value), key
    with torch.no_grad():
        assert torch.equal(got(x), expected(x))


def test_switching_equals_loading_each_adapter_alone(adapters):
    x = torch.rand(1, 3, 32, 48) * 2 - 1
    net = base_net()
    base_weight = net.layer3.blocks[0].attn.V.weight
    bank = AdapterBank(net)
    bank.add('day', adapters['day'])
    bank.add('night', adapters['night'], activate=True)
    assert bank.names == ['day', 'night'] and bank.active == 'night'
    references = {name: alone(path) for name, path in adapters.items()}
    references[None] = base_net()
    with torch.no_grad():
        outputs = {name: ref(x) for name, ref in references.items()}
    assert (outputs['day'] - outputs['night']).abs().max() > 1e-3  # the adapters differ
    assert (outputs['day'] - outputs[None]).abs().max() > 1e-3
    for name in ['day', None, 'night', 'day', 'night', None]:
        assert bank.activate(name) is net and bank.active == name
        assert_same_model(net, references[name], x)
    # the base weights were never copied or reloaded: the same Parameter, the same storage
    bank.activate('day')
    assert net.layer3.blocks[0].attn.V.weight is base_weight
    assert net.layer3.blocks[0].attn.V.base_weight.data_ptr() == base_weight.data_ptr()


def test_adapter_files_carry_prompts_and_old_files_still_load(adapters, tmp_path):
    net = base_net()
    bank = AdapterBank(net)
    bank.add('night', adapters['night'])
    info = bank.info('night')
    assert info['prompts'] == NIGHT_PROMPTS and info['description'] == 'nighttime haze'
    assert info['r'] == 4
    old = torch.load(adapters['day'], weights_only=True)
    del old['prompts'], old['description']
    old_path = tmp_path / 'old.pth'
    torch.save(old, old_path)
    bank.add('old', str(old_path), activate=True)
    assert bank.info('old')['prompts'] == []
    x = torch.rand(1, 3, 32, 32)
    assert_same_model(net, alone(adapters['day']), x)


def test_an_adapter_of_the_network_alone_attaches_under_it(tmp_path):
    """An adapter file made for a DehazeFormer alone (the layout of the adapters written before
    the shipped base became a PriorRefinedDehazer: ``layer3.blocks.0...``) attaches to the
    composed model's ``network``; one of another architecture is refused."""
    network = dict(shipped_generator()['network'])
    path = make_adapter(tmp_path / 'network.pth', ['layer3.blocks.*'], 4, 3, DAY_PROMPTS, 'old',
                        0.2, generator=network)
    old = read_adapter(path)
    model = base_net(generator=shipped_generator())
    load_adapter(model, path)
    layers = lora_layers(model)
    assert sorted(layers) == sorted(f'network.{name}' for name in old['layers'])
    for name, record in old['layers'].items():
        assert torch.equal(layers[f'network.{name}'].lora_B, record['lora_B'])
    assert model.network.layer3.blocks[0].lora_gate.alpha == old['gates']['layer3.blocks.0']
    network_alone = base_net(generator=network)
    load_adapter(network_alone, path)
    x = torch.rand(1, 6, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model.network.forward_features(x), network_alone.forward_features(x))
    wrong = make_adapter(tmp_path / 'wrong.pth', ['layer3.blocks.*'], 4, 3, DAY_PROMPTS, 'old',
                         0.2, generator=dict(network, arch='s'))
    with pytest.raises(ValueError, match='different base architecture'):
        load_adapter(base_net(generator=shipped_generator()), wrong)


def test_bank_rejects_wrong_architecture_duplicates_and_unknown_names(adapters):
    bank = AdapterBank(base_net())
    bank.add('day', adapters['day'])
    with pytest.raises(ValueError, match='already in the bank'):
        bank.add('day', adapters['night'])
    with pytest.raises(KeyError, match="No adapter 'dusk'"):
        bank.activate('dusk')
    with pytest.raises(ValueError, match='different base architecture'):
        AdapterBank(base_net(generator=dict(type='DehazeFormer', arch='s'))).add(
            'day', adapters['day'])
    net = base_net()
    load_adapter(net, adapters['day'])
    with pytest.raises(ValueError, match='already carries LoRA layers'):
        AdapterBank(net)


def test_merged_export_of_the_chosen_adapter(adapters, tmp_path):
    net = base_net()
    bank = AdapterBank(net)
    bank.add('day', adapters['day'])
    bank.add('night', adapters['night'])
    bank.activate('night')
    save_merged_checkpoint(net, str(tmp_path / 'from_bank.pth'))
    save_merged_checkpoint(alone(adapters['night']), str(tmp_path / 'alone.pth'))
    got = torch.load(tmp_path / 'from_bank.pth', weights_only=True)['state_dict']
    expected = torch.load(tmp_path / 'alone.pth', weights_only=True)['state_dict']
    assert list(got) == list(expected) and not any('lora' in k for k in got)
    for key, value in expected.items():
        assert torch.equal(got[key], value), key
    merged = base_net(seed=5)
    merged.load_state_dict({k[len('generator.'):]: v for k, v in got.items()}, strict=True)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(merged(x), net(x))
    assert bank.active == 'night' and lora_layers(net)  # the export left the bank as it was


def test_auto_routing_picks_day_and_night_adapters_with_the_compact_clip():
    from mmbilalora.apis import PromptRouter
    router = PromptRouter({'day': [p[0] for p in DAY_PROMPTS],
                           'night': [p[0] for p in NIGHT_PROMPTS]},
                          clip_model='ViT-B-32', pretrained='mmbilalora://haze_clip_tiny')
    day, night = day_and_night_images()
    day_choices = [router.route(img)[0] for img in day]
    night_choices = [router.route(img)[0] for img in night]
    assert day_choices == ['day'] * len(day), day_choices
    assert night_choices == ['night'] * len(night), night_choices
