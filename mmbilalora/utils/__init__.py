from .atomic_io import atomic_dump_json, atomic_open, atomic_write_bytes

__all__ = ['atomic_open', 'atomic_write_bytes', 'atomic_dump_json']
