"""Compatibility fixes for mmengine 0.10.7 / mmagic 1.2.0 on torch >= 2.6, applied on import.

Each fix says what breaks, why, and when it can be removed. Nothing in site-packages is edited:
the fixes use the stack's own extension points (mmengine's checkpoint-loader registry).
Pinned-version fixes (numpy < 2, diffusers 0.28.2, setuptools < 81, mmcv built with -std=c++20)
live in ``requirements/`` and ``tools/install_env.sh``.
"""
import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
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


def load_from_local_weights_only(filename: str, map_location=None):
    """``torch.load`` of a local mmengine checkpoint with ``weights_only=True``."""
    with torch.serialization.safe_globals(MMENGINE_CHECKPOINT_GLOBALS):
        return torch.load(filename, map_location=map_location, weights_only=True)


CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local_weights_only)
