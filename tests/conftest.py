"""Shared fixtures: sample photos written once per session, paths to ../shared."""
import os.path as osp

import pytest
import torch

import mmbilalora  # noqa: F401
from mmengine.registry import init_default_scope

# The plugin registered and MMagic's scope set here, so that each test file also runs alone.
init_default_scope('mmagic')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.join(osp.dirname(ROOT), 'shared')


@pytest.fixture(scope='session')
def sample_split(tmp_path_factory):
    """Folder with train/ and val/ sub-folders of clear scikit-image photos."""
    from mmbilalora.datasets.sample_images import write_sample_split
    out = tmp_path_factory.mktemp('sample')
    write_sample_split(str(out))
    return out


def shared_path(*parts: str) -> str:
    """A path under ../shared (beside the repository), skipping the test when it is absent."""
    path = osp.join(SHARED, *parts)
    if not osp.exists(path):
        pytest.skip(f'{path} is not available')
    return path


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')
DEVICES = ['cpu', pytest.param('cuda', marks=CUDA)]


@pytest.fixture(params=DEVICES)
def device(request):
    """The test runs once per device: CPU, and CUDA when a GPU is present (skipped otherwise);
    ``pytest -k cuda`` selects the CUDA runs. On CUDA, TF32 is off during the test (its 10-bit
    mantissa would fail the float32 tolerances)."""
    if request.param != 'cuda':
        yield request.param
        return
    flags = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield request.param
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = flags


TINY_CLIP = 'mmbilalora-test-tiny'
TINY_CLIP_CONFIG = {
    'embed_dim': 32,
    'vision_cfg': {'image_size': 32, 'layers': 2, 'width': 64, 'patch_size': 8,
                   'head_width': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 64, 'heads': 2,
                 'layers': 2},
}


@pytest.fixture(scope='session')
def tiny_clip_name(tmp_path_factory):
    """Register a tiny randomly initialised open_clip architecture (no downloads)."""
    import json

    import open_clip
    path = tmp_path_factory.mktemp('clip_cfg') / f'{TINY_CLIP}.json'
    path.write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(str(path))
    return TINY_CLIP
