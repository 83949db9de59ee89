"""AdapterBank: several adapters on one loaded base model, switched without reloading it."""
from typing import Dict, List, Optional, Union

import torch.nn as nn

from .model import lora_layers, remove_lora
from .serialization import fit_adapter, load_adapter, read_adapter


class AdapterBank:
    """The adapters of one model and the active one (None: the plain base).

    The bank keeps each adapter's small state (an adapter dict of
    :mod:`~mmbilalora.models.lora.serialization`: LoRA tensors, gates, blocks, r, lora_alpha,
    prompts, description) beside the model it owns. :meth:`activate` removes the current LoRA
    layers (restoring the exact base ``Parameter`` objects) and attaches the chosen adapter as
    :func:`load_adapter` attaches one to a plain base, so that after ``activate(name)`` the
    model equals "that adapter loaded alone" parameter for parameter. The base weights are never
    copied or reloaded. The bank owns the model's LoRA layers: do not train a banked model.

    Args:
        model: the plain base model (no LoRA layers).

    Raises:
        ValueError: ``model`` already carries LoRA layers.
    """

    def __init__(self, model: nn.Module):
        if lora_layers(model):
            raise ValueError(f'{type(model).__name__} already carries LoRA layers; an adapter '
                             'bank needs the plain base model.')
        self.model = model
        self.adapters: Dict[str, Dict] = {}
        self.active: Optional[str] = None

    @property
    def names(self) -> List[str]:
        """The adapters' names, in the order they were added."""
        return list(self.adapters)

    def add(self, name: str, adapter: Union[str, Dict], activate: bool = False) -> None:
        """Put ``adapter`` (a file or an adapter dict) in the bank as ``name``.

        Raises:
            ValueError: the name is empty or taken, or the adapter was made for another
                architecture (see :func:`~mmbilalora.models.lora.fit_adapter`).
        """
        if not name:
            raise ValueError('An adapter in a bank needs a non-empty name.')
        if name in self.adapters:
            raise ValueError(f'Adapter name {name!r} is already in the bank ({self.names}).')
        source = f'Adapter {name!r}' + (f' ({adapter})' if isinstance(adapter, str) else '')
        if isinstance(adapter, str):
            adapter = read_adapter(adapter)
        self.adapters[name] = fit_adapter(self.model, adapter, source)
        if activate:
            self.activate(name)

    def activate(self, name: Optional[str]) -> nn.Module:
        """Make the model the base with adapter ``name`` attached (None: the plain base), in
        place; returns the model.

        Raises:
            KeyError: no adapter of that name (the message lists the names).
        """
        if name is not None and name not in self.adapters:
            raise KeyError(f'No adapter {name!r} in the bank; adapters: {self.names}.')
        if name != self.active:
            remove_lora(self.model, merge=False)
            self.active = None
            if name is not None:
                load_adapter(self.model, self.adapters[name])
                self.active = name
        return self.model

    def info(self, name: str) -> Dict:
        """``dict(prompts, description, selected_blocks, r, lora_alpha)`` of adapter ``name``."""
        adapter = self.adapters[name]
        return dict(prompts=[tuple(p) for p in adapter.get('prompts') or []],
                    description=adapter.get('description', ''),
                    selected_blocks=list(adapter.get('selected_blocks') or []),
                    r=adapter['r'], lora_alpha=adapter['lora_alpha'])
