from . import model_zoo
from .atomic_io import atomic_dump_json, atomic_open, atomic_write_bytes
from .checkpoint_io import CheckpointReadError, read_checkpoint

__all__ = [
    'atomic_open', 'atomic_write_bytes', 'atomic_dump_json', 'CheckpointReadError', 'model_zoo',
    'read_checkpoint'
]
