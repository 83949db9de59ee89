"""Every patch that makes mmengine 0.10.7 / mmagic 1.2.0 / mmcv 2.1.0 work on torch >= 2.6.

The whole list, with what breaks without each patch and how to remove it. Runtime patches (1-3, 8)
live here and are applied on ``import mmbilalora`` (:func:`apply_fixes`) through the stack's own
extension points or by replacing one function each; nothing in site-packages is edited. Install
pins (4-7) live in ``requirements/``, ``pyproject.toml`` and ``tools/install_env.sh``.

1. :func:`fix_checkpoint_loading` -- mmengine reads local checkpoints with
   :func:`~mmbilalora.utils.checkpoint_io.read_checkpoint` (weights-only, mmengine's bookkeeping
   types allowed). Without it ``--resume``, ``load_from`` and ``tools/test.py`` fail with "Weights
   only load failed" (torch 2.6 made ``weights_only=True`` the default). Remove when mmengine's
   loader passes ``weights_only`` itself: delete the function and its ``FIXES`` entry.
2. :func:`fix_cpu_launcher` -- ``--launcher pytorch`` on hosts without CUDA (mmengine calls
   ``torch.cuda.set_device``: "Found no NVIDIA driver"). Remove when mmengine skips
   ``set_device`` without CUDA: delete the function, :func:`init_dist_pytorch_cpu_aware` and the
   ``FIXES`` entry.
3. :func:`fix_cpu_ddp` -- mmengine's DDP wrappers of CPU modules (mmengine always passes
   ``device_ids``, torch rejects them for CPU modules). Remove when mmengine sets ``device_ids``
   for accelerators only: delete the function, :func:`mmddp_init_cpu_aware` and the ``FIXES``
   entry.
4. ``numpy<2`` (``requirements/stack.txt``, hence ``opencv-python<4.12``, ``pandas<3.1``): numpy
   2 removed ``np.bool8``, which mmagic uses. Remove when mmagic supports numpy 2.
5. ``diffusers==0.28.2`` (hence ``huggingface_hub<0.26``, ``transformers<4.47`` and pyiqa
   0.1.15.post2): later diffusers break mmagic's editor imports. Remove when mmagic imports newer
   diffusers.
6. ``setuptools<81`` (``requirements/stack.txt``, ``pyproject.toml``): mmcv's build and
   mmengine's ``mmagic::`` config resolution need ``pkg_resources``. Remove when both do without.
7. mmcv 2.1.0 built from source with ``-std=c++20`` (``tools/install_env.sh``): its ``setup.py``
   hard-codes c++14/17, which torch 2.14's headers reject. Remove the ``sed`` line when mmcv ships
   wheels (or a ``setup.py``) for current torch.
8. :func:`quiet_diffusers_warnings` -- importing mmagic imports diffusers 0.28, whose deprecated
   module paths (and a ``torch.jit.script`` in it) print a wall of ``FutureWarning``s at every
   start of every tool; they concern code this plugin never calls. Applied before the package
   imports mmagic. Remove with the diffusers pin (5): delete the function and its ``FIXES`` entry.
"""
import warnings

import mmengine.dist.utils as _dist_utils
import torch
import torch.distributed as _torch_dist
from mmengine.model.wrappers import MMDistributedDataParallel
from mmengine.runner.checkpoint import CheckpointLoader

from .utils.checkpoint_io import read_checkpoint

_init_dist_pytorch_with_cuda = _dist_utils._init_dist_pytorch
_mmddp_init = MMDistributedDataParallel.__init__


def fix_checkpoint_loading() -> None:
    """Patch 1: mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; torch 2.6 made
    ``True`` the default, which refuses the ``HistoryBuffer`` objects mmengine stores. Register
    :func:`read_checkpoint` (weights-only, exactly those types allowed) as mmengine's scheme for
    local files."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(read_checkpoint)


def init_dist_pytorch_cpu_aware(backend: str = 'nccl', init_backend: str = 'torch', **kwargs):
    """mmengine's ``_init_dist_pytorch`` that also works on hosts without CUDA: the process group
    is initialised directly (gloo; a configured 'nccl' is replaced by 'gloo' with a warning)."""
    if torch.cuda.is_available() or init_backend != 'torch':
        return _init_dist_pytorch_with_cuda(backend, init_backend=init_backend, **kwargs)
    if backend == 'nccl':
        warnings.warn("No CUDA device: using the 'gloo' backend instead of 'nccl'.")
        backend = 'gloo'
    _torch_dist.init_process_group(backend=backend, **kwargs)


def fix_cpu_launcher() -> None:
    """Patch 2: mmengine 0.10.7's ``_init_dist_pytorch`` calls ``torch.cuda.set_device``
    unconditionally."""
    _dist_utils._init_dist_pytorch = init_dist_pytorch_cpu_aware


def mmddp_init_cpu_aware(self, module, *args, **kwargs):
    """``MMDistributedDataParallel.__init__`` that drops ``device_ids`` for CPU modules."""
    param = next(module.parameters(), None)
    if param is not None and param.device.type == 'cpu':
        kwargs.pop('device_ids', None)
    _mmddp_init(self, module, *args, **kwargs)


def fix_cpu_ddp() -> None:
    """Patch 3: mmengine 0.10.7 always passes ``device_ids=[LOCAL_RANK]`` to its DDP wrappers,
    which torch rejects for modules on the CPU."""
    MMDistributedDataParallel.__init__ = mmddp_init_cpu_aware


def quiet_diffusers_warnings() -> None:
    """Patch 8: ignore the ``FutureWarning``s raised from diffusers' modules (and from the
    ``torch.jit.script`` they call) when mmagic imports them."""
    warnings.filterwarnings('ignore', category=FutureWarning, module=r'diffusers\.')
    warnings.filterwarnings('ignore', category=FutureWarning, module=r'torch\.jit\._script')


FIXES = (fix_checkpoint_loading, fix_cpu_launcher, fix_cpu_ddp, quiet_diffusers_warnings)


def apply_fixes() -> None:
    """Apply the runtime patches 1-3 and 8 (idempotent)."""
    for fix in FIXES:
        fix()


apply_fixes()
