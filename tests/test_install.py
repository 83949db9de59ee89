"""The pinned stack imports together and the plugin populates MMagic's registries."""
import importlib

import pytest


@pytest.mark.parametrize('name', ['torch', 'mmengine', 'mmcv', 'mmagic', 'open_clip', 'pyiqa'])
def test_stack_package_imports(name):
    assert importlib.import_module(name).__name__ == name


def test_mmcv_has_compiled_ops():
    from mmcv.ops import DeformConv2d  # noqa: F401  (fails without the compiled extension)
    import mmcv
    assert mmcv.__version__ == '2.1.0'


def test_mmagic_editors_import():
    import mmagic.models  # noqa: F401  (imports every editor, some need mmcv.ops)


def test_plugin_registers_its_modules():
    import mmbilalora  # noqa: F401
    from mmagic.registry import DATASETS, MODELS, TRANSFORMS
    for name in ('DehazeFormer', 'LoRAConv2d', 'LoRALinear', 'LayerGate'):
        assert name in MODELS.module_dict, name
    for name in ('SyntheticHaze', 'LoadImageFromFileChecked'):
        assert name in TRANSFORMS.module_dict, name
    for name in ('ImageFolderDataset', 'PairedHazeDataset'):
        assert name in DATASETS.module_dict, name


def test_custom_imports_in_config_registers_plugin(tmp_path):
    from mmengine.config import Config
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text("custom_imports = dict(imports=['mmbilalora'])\nmodel = dict(type='x')\n")
    Config.fromfile(str(cfg_file))
    from mmagic.registry import MODELS
    assert 'DehazeFormer' in MODELS.module_dict
