"""What the install must provide: the pinned stack, mmcv's compiled ops, and MMagic's registries
holding every name the plugin registers and every type its configs use."""
import glob
import json
import os
import os.path as osp
import re
from importlib.metadata import version

import pytest
import torch
import torch.nn.functional as F

from conftest import ROOT


def pinned_versions():
    """``{distribution: version}`` of every ``name==version`` line of the environment's
    requirements (the browser UI's, requirements/ui.txt, live in another environment)."""
    pins = {}
    for name in ('torch.txt', 'stack.txt', 'nodeps.txt'):
        path = osp.join(ROOT, 'requirements', name)
        with open(path) as f:
            for line in f:
                match = re.match(r'^([A-Za-z0-9_.\-]+)==([^\s#]+)', line.strip())
                if match:
                    pins[match.group(1)] = match.group(2)
    return pins


def test_installed_versions_match_the_pins():
    pins = pinned_versions()
    assert {'torch', 'mmengine', 'mmagic', 'diffusers', 'open_clip_torch'} <= set(pins)
    for name, pinned in pins.items():
        assert version(name).split('+')[0] == pinned, name
    assert version('mmcv') == '2.1.0'  # built from source by tools/install_env.sh
    assert int(version('numpy').split('.')[0]) < 2  # requirements/stack.txt: numpy<2


def test_mmcv_compiled_deform_conv_runs():
    """mmcv's compiled DeformConv2d: zero offsets give the plain convolution; an offset of one
    pixel to the right samples the input shifted by one column."""
    from mmcv.ops import DeformConv2d
    torch.manual_seed(0)
    conv = DeformConv2d(4, 5, 3, padding=1, bias=False)
    x = torch.randn(1, 4, 7, 7)
    offset = torch.zeros(1, 2 * 3 * 3, 7, 7)  # (dy, dx) per kernel position
    with torch.no_grad():
        torch.testing.assert_close(conv(x, offset), F.conv2d(x, conv.weight, padding=1))
        offset[:, 1::2] = 1.0
        shifted = F.conv2d(F.pad(x[..., 1:], (0, 1)), conv.weight, padding=1)
        torch.testing.assert_close(conv(x, offset)[..., 1:], shifted[..., 1:])


def test_plugin_registers_its_modules():
    import mmbilalora  # noqa: F401
    from mmagic.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS
    expected = {
        MODELS: ('DehazeFormer', 'DEANet', 'PriorRefinedDehazer', 'DarkChannelPrior',
                 'HazeStrengthGate', 'GuidedFilter', 'ExposureFloor', 'BiLaLoRADehazer',
                 'LoRAConv2d', 'LoRALinear', 'LayerGate', 'CLIPHazeClearLoss',
                 'DehazeDataPreprocessor'),
        TRANSFORMS: ('SyntheticHaze', 'LoadImageFromFileChecked', 'RandomSquareCrop'),
        DATASETS: ('ImageFolderDataset', 'PairedHazeDataset', 'BilevelSplitDataset'),
        HOOKS: ('BiLaLoRAHook', 'OutputReportHook'),
        METRICS: ('FADE', 'NIQENoRef', 'Entropy'),
    }
    for registry, names in expected.items():
        for name in names:
            module = registry.get(name)
            assert module is not None and module.__module__.startswith('mmbilalora.'), name


def config_types(node):
    """Every ``type`` string in a config dict, recursively (a LoRA search space names module
    classes, not registered types: left out)."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield node['type']
        for key, value in node.items():
            if key != 'search_space':
                yield from config_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from config_types(value)


CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_every_type_in_the_configs_is_registered(path):
    """Built through ``custom_imports`` alone, as tools/train.py does."""
    import mmagic.registry
    import mmengine.registry
    from mmengine.config import Config
    from mmengine.registry import Registry, init_default_scope
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['mmbilalora']
    init_default_scope('mmagic')
    all_registries = [r for module in (mmagic.registry, mmengine.registry)
                      for r in vars(module).values() if isinstance(r, Registry)]
    types = set(config_types(cfg.to_dict()))
    assert types
    missing = {t for t in types if not any(r.get(t) is not None for r in all_registries)}
    assert not missing, missing


def test_a_non_editable_install_finds_the_shipped_weights(tmp_path):
    """``pip install .`` into a fresh environment (layered on the test's own, for torch and the
    OpenMMLab stack): from another folder, ``mmbilalora.apis`` loads the shipped base from the
    installed ``share/mmbilalora`` and dehazes a photo as the source tree does."""
    import subprocess
    import sys
    import sysconfig

    import numpy as np

    from mmbilalora.apis import dehaze_array, load_dehazer
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    site = subprocess.run(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        check=True, capture_output=True, text=True).stdout.strip()
    with open(osp.join(site, '_base_environment.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    env = {k: v for k, v in os.environ.items() if k not in ('MMBILALORA_HOME', 'PYTHONPATH')}
    subprocess.run([python, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-index',
                    '--no-build-isolation', ROOT], check=True, env=env, cwd=str(tmp_path))
    rng = np.random.default_rng(0)
    photo = (rng.random((48, 64, 3)) * 120 + 100).astype(np.uint8)
    np.save(tmp_path / 'photo.npy', photo)
    script = ('import json, numpy as np, mmbilalora\n'
              'from mmbilalora.apis import dehaze_array, load_dehazer\n'
              'from mmbilalora.utils import model_zoo\n'
              "out = dehaze_array(load_dehazer(), np.load('photo.npy'))\n"
              "np.save('out.npy', out)\n"
              'print(json.dumps([mmbilalora.__file__, '
              'model_zoo.model_path(model_zoo.SHIPPED_BASE)]))\n')
    proc = subprocess.run([python, '-c', script], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    package, weights = json.loads(proc.stdout.strip().splitlines()[-1])
    assert package.startswith(site) and not package.startswith(ROOT)
    assert weights.startswith(osp.join(str(venv), 'share', 'mmbilalora', 'checkpoints', ''))
    assert np.array_equal(np.load(tmp_path / 'out.npy'), dehaze_array(load_dehazer(), photo))
