from .layer_positioning_optim_wrapper import (HYPERGRADIENT_MODES, UPDATE_ORDERS,
                                              LayerPositioningOptimWrapper,
                                              LayerPositioningOptimWrapperConstructor,
                                              split_lora_and_gate_params)

__all__ = [
    'HYPERGRADIENT_MODES', 'UPDATE_ORDERS', 'LayerPositioningOptimWrapper',
    'LayerPositioningOptimWrapperConstructor', 'split_lora_and_gate_params'
]
