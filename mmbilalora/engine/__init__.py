from .atomic_backend import AtomicLocalBackend
from .hooks import BiLaLoRAHook
from .optimizers import LayerPositioningOptimWrapper, LayerPositioningOptimWrapperConstructor

__all__ = [
    'AtomicLocalBackend', 'BiLaLoRAHook', 'LayerPositioningOptimWrapper',
    'LayerPositioningOptimWrapperConstructor'
]
