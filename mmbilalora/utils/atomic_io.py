"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A crash mid-write leaves the previous file (or nothing) in place, never a truncated one.
"""
import io
import json
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator


def _default_file_mode() -> int:
    """0o666 minus the process umask: the mode ``open()`` would give a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_open(path: str, mode: str = 'wb') -> Iterator:
    """Open a temporary file in ``path``'s folder; on success it replaces ``path``."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        os.fchmod(fd, _default_file_mode())
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, 'wb') as f:
        f.write(data)


def atomic_torch_save(obj: Any, path: str) -> int:
    """``torch.save`` ``obj`` to ``path`` atomically; returns the number of bytes written."""
    import torch
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return buffer.tell()


def atomic_dump_json(obj: Any, path: str) -> None:
    """Dump ``obj`` as indented JSON to ``path`` atomically."""
    with atomic_open(path, 'w') as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write('\n')
