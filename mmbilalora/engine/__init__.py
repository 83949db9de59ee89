from .atomic_backend import AtomicLocalBackend

__all__ = ['AtomicLocalBackend']
