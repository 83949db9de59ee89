"""A local file backend whose writes are atomic, for checkpoints and logs.

mmengine's ``LocalBackend.put`` opens the target with ``'wb'`` and writes into it, so a crash or
a full disk mid-save leaves a truncated checkpoint in place of the previous one. Selected with
``CheckpointHook(backend_args=dict(backend='atomic_local'))`` (our ``default_runtime`` does).
"""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from ..utils.atomic_io import atomic_write_bytes


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` that writes to a temporary file and renames it over the target."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(str(filepath), obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write_bytes(str(filepath), obj.encode(encoding))
