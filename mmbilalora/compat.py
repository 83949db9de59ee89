"""Compatibility fixes for mmengine 0.10.7 / mmagic 1.2.0 on torch >= 2.6, applied on import.

Each fix says what breaks, why, and when it can be removed. Nothing in site-packages is edited:
the fixes use the stack's own extension points (mmengine's checkpoint-loader registry).
Pinned-version fixes (numpy < 2, diffusers 0.28.2, setuptools < 81, mmcv built with -std=c++20)
live in ``requirements/`` and ``tools/install_env.sh``.
"""
import os
import pickle
import re
import warnings

import mmengine.dist.utils as _dist_utils
import numpy as np
import torch
import torch.distributed as _torch_dist
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model.wrappers import MMDistributedDataParallel
from mmengine.runner.checkpoint import CheckpointLoader

# Fix 1 -- loading mmengine checkpoints under torch >= 2.6.
# Breaks: ``--resume``, ``load_from`` and ``tools/test.py`` fail with "Weights only load failed".
# Why: torch 2.6 made ``torch.load(weights_only=True)`` the default; mmengine 0.10.7 calls
#   ``torch.load`` without the argument, and its checkpoints hold the message hub's
#   ``HistoryBuffer`` objects (numpy arrays and bound ``min``/``max``/``mean`` statistics methods).
# How: re-register mmengine's local-file scheme with a loader that keeps ``weights_only=True``
#   and allows exactly those types, scoped to checkpoint loading (``safe_globals`` context).
#   ``getattr`` is needed for the bound methods; the weights-only unpickler still refuses to
#   *call* anything that is not allow-listed, so attribute look-ups cannot run code.
# Remove when: mmengine's loader passes ``weights_only`` itself (or stores plain data).
MMENGINE_CHECKPOINT_GLOBALS = [
    HistoryBuffer,
    np.core.multiarray.scalar,
    np.core.multiarray._reconstruct,
    np.ndarray,
    np.dtype,
    getattr,
] + [type(np.dtype(t)) for t in ('f8', 'f4', 'f2', 'i8', 'i4', 'i2', 'i1', 'u1', 'b1')]


class CheckpointReadError(ValueError):
    """A file that is not a checkpoint we load: corrupt, not a PyTorch file, or holding Python
    objects beyond tensors and mmengine's bookkeeping."""


def describe_load_error(err: Exception) -> str:
    """A short reason for a failed ``torch.load(weights_only=True)``, without torch's advice to
    retry with ``weights_only=False`` (which would run arbitrary code from the file)."""
    text = str(err)
    refused = re.search(r'Unsupported global: GLOBAL ([\w.]+)', text)
    if refused:
        return (f'it stores a Python object of type {refused.group(1)}; only tensors, numbers, '
                "strings and mmengine's own bookkeeping are loaded")
    if isinstance(err, (EOFError, pickle.UnpicklingError)) or 'zip' in text.lower():
        return 'not a PyTorch checkpoint, or truncated / corrupt'
    return f'{type(err).__name__}: {text.splitlines()[0] if text else "unreadable"}'


def load_from_local_weights_only(filename: str, map_location=None):
    """``torch.load`` of a local mmengine checkpoint with ``weights_only=True``.

    Raises:
        FileNotFoundError: no such file.
        CheckpointReadError: the file cannot be loaded (the message says why, in one line).
    """
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'Checkpoint not found: {filename!r}')
    try:
        with torch.serialization.safe_globals(MMENGINE_CHECKPOINT_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types on foreign or damaged files
        reason = describe_load_error(err)
    raise CheckpointReadError(f'Cannot read checkpoint {filename!r}: {reason}.')


CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local_weights_only)


# Fix 2 -- distributed launch on machines without CUDA.
# Breaks: ``tools/dist_train.sh`` / ``--launcher pytorch`` on CPU stops with "Found no NVIDIA
#   driver" before any training.
# Why: mmengine 0.10.7's ``_init_dist_pytorch`` calls ``torch.cuda.set_device(local_rank)``
#   unconditionally.
# How: without CUDA, initialise the process group directly (gloo; a configured 'nccl', which
#   cannot work without CUDA, is replaced by 'gloo' with a warning). With CUDA nothing changes.
# Remove when: mmengine skips ``set_device`` on CPU-only hosts.
_init_dist_pytorch_with_cuda = _dist_utils._init_dist_pytorch


def init_dist_pytorch_cpu_aware(backend: str = 'nccl', init_backend: str = 'torch', **kwargs):
    """mmengine's ``_init_dist_pytorch`` that also works on hosts without CUDA."""
    if torch.cuda.is_available() or init_backend != 'torch':
        return _init_dist_pytorch_with_cuda(backend, init_backend=init_backend, **kwargs)
    if backend == 'nccl':
        warnings.warn("No CUDA device: using the 'gloo' backend instead of 'nccl'.")
        backend = 'gloo'
    _torch_dist.init_process_group(backend=backend, **kwargs)


_dist_utils._init_dist_pytorch = init_dist_pytorch_cpu_aware


# Fix 3 -- DistributedDataParallel of CPU modules.
# Breaks: the same launch fails next in ``Runner.wrap_model`` with "device_ids ... only work with
#   ... GPU modules or CPU modules, but got device_ids [0]".
# Why: mmengine 0.10.7 always passes ``device_ids=[LOCAL_RANK]`` to its DDP wrappers, which
#   torch rejects for modules on the CPU.
# How: drop ``device_ids`` when the wrapped module's parameters are on the CPU.
# Remove when: mmengine sets ``device_ids`` only for accelerator devices.
_mmddp_init = MMDistributedDataParallel.__init__


def mmddp_init_cpu_aware(self, module, *args, **kwargs):
    """``MMDistributedDataParallel.__init__`` that accepts CPU modules."""
    param = next(module.parameters(), None)
    if param is not None and param.device.type == 'cpu':
        kwargs.pop('device_ids', None)
    _mmddp_init(self, module, *args, **kwargs)


MMDistributedDataParallel.__init__ = mmddp_init_cpu_aware
