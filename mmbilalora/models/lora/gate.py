"""LayerGate: the learnable position gate of one search-space block."""
import torch
import torch.nn as nn
from mmagic.registry import MODELS

GATE_ATTR = 'lora_gate'


@MODELS.register_module()
class LayerGate(nn.Module):
    """One scalar ``alpha`` (init 0); ``forward()`` returns the gate ``sigmoid(alpha)`` (0-dim).

    A gate is registered once, on its block, as ``<block>.lora_gate``; the block's LoRA layers hold
    a plain (unregistered) reference to it, so ``state_dict`` and ``parameters()`` list it once.
    """

    def __init__(self, init: float = 0.0):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(float(init)))

    def forward(self) -> torch.Tensor:
        return torch.sigmoid(self.alpha)

    def extra_repr(self) -> str:
        return f'alpha={self.alpha.item():.4f}, gate={torch.sigmoid(self.alpha).item():.4f}'
