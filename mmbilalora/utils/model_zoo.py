"""The model zoo: where the shipped weights and their configs are, by name.

The shipped models are folders of ``checkpoints/`` (the base dehazer's ``.pth`` and the compact
CLIP) and configs of ``configs/``, looked up under these roots, first match wins:

1. ``$MMBILALORA_HOME``: a folder holding ``checkpoints/`` and ``configs/`` (a clone of the
   repository, or a copy of those two folders);
2. the source folder of an editable install (``pip install -e``; read from the install's
   ``direct_url.json``, PEP 610);
3. ``<sys.prefix>/share/mmbilalora``, where ``pip install .`` puts both folders;
4. the current directory (a clone used without installing it).

``mmbilalora://NAME`` (e.g. in a config's ``load_from``, a tool's ``--checkpoint`` or a CLIP
``pretrained``) names a shipped model: :func:`resolve` turns it into its file or folder, and
mmengine's checkpoint loader reads it (a scheme registered on import, as ``open-mmlab://``).
"""
import json
import os
import os.path as osp
import sys
from importlib import metadata
from typing import List, Optional

from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint_io import read_checkpoint

SCHEME = 'mmbilalora://'
HOME_ENV = 'MMBILALORA_HOME'
SHIPPED_BASE = 'dcp-dehazeformer-t-conv_synhaze_clear-pristine'
COMPACT_CLIP = 'haze_clip_tiny'
# name -> path below a root
MODELS = {
    SHIPPED_BASE: f'checkpoints/{SHIPPED_BASE}/{SHIPPED_BASE}.pth',
    COMPACT_CLIP: f'checkpoints/{COMPACT_CLIP}',
}
CONFIGS = {SHIPPED_BASE: f'configs/dehazeformer/{SHIPPED_BASE}.py'}


def _editable_source() -> Optional[str]:
    """The project folder of an editable install of mmbilalora, or None."""
    try:
        text = metadata.distribution('mmbilalora').read_text('direct_url.json')
    except metadata.PackageNotFoundError:
        return None
    info = json.loads(text) if text else {}
    url = info.get('url', '')
    if info.get('dir_info', {}).get('editable') and url.startswith('file://'):
        return url[len('file://'):]
    return None


def roots() -> List[str]:
    """The folders searched, in order (see the module docstring)."""
    candidates = [os.environ.get(HOME_ENV), _editable_source(),
                  osp.join(sys.prefix, 'share', 'mmbilalora'), os.getcwd()]
    return [c for c in dict.fromkeys(candidates) if c]


def _find(relative: str, what: str) -> str:
    for root in roots():
        path = osp.join(root, relative)
        if osp.exists(path):
            return path
    raise FileNotFoundError(
        f'{what} not found: looked for {relative} under {roots()}. Set {HOME_ENV} to a folder '
        'holding checkpoints/ and configs/ (e.g. a clone of the repository), or give the '
        'path.')


def model_path(name: str) -> str:
    """The file (a checkpoint) or folder (the compact CLIP) of the shipped model ``name``."""
    if name not in MODELS:
        raise KeyError(f'No shipped model {name!r}; shipped: {sorted(MODELS)}.')
    return _find(MODELS[name], f'Shipped model {name!r}')


def config_path(name: str) -> str:
    """The config of the shipped model ``name``, or the config ``configs/<name>`` (e.g.
    ``'bilalora/dehazeformer_demo.py'``)."""
    return _find(CONFIGS.get(name, f'configs/{name}'), f'Config {name!r}')


def resolve(path: str) -> str:
    """``mmbilalora://NAME`` -> :func:`model_path` of NAME; any other path as it is."""
    return model_path(path[len(SCHEME):]) if path.startswith(SCHEME) else path


@CheckpointLoader.register_scheme(prefixes=SCHEME)
def load_shipped_checkpoint(filename: str, map_location=None) -> dict:
    """mmengine's loader for ``mmbilalora://NAME`` (``load_from``, ``init_cfg``)."""
    return read_checkpoint(resolve(filename), map_location=map_location)
