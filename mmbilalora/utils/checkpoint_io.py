"""Reading checkpoints safely: ``torch.load(weights_only=True)`` with mmengine's bookkeeping.

mmengine's checkpoints hold, besides tensors, the message hub's ``HistoryBuffer`` objects (numpy
arrays and bound ``min`` / ``max`` / ``mean`` statistics methods). :func:`read_checkpoint` allows
exactly those types (``getattr`` is needed for the bound methods; the weights-only unpickler
still refuses to *call* anything that is not allow-listed, so attribute look-ups cannot run code)
and turns every failure into one line naming the file and the reason -- never torch's advice to
retry with ``weights_only=False``, which would run arbitrary code from the file. mmengine's own
loader uses it too (see :mod:`mmbilalora.compat`, patch 1).
"""
import os
import pickle
import re

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

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


def read_checkpoint(filename: str, map_location=None):
    """``torch.load`` of a local checkpoint (mmengine's, or a plain state dict) with
    ``weights_only=True``.

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
