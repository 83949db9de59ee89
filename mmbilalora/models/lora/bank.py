"""Adapter bank: several adapters on one loaded base model, switched without reloading it.

The bank keeps each adapter's small state (the adapter dict of :mod:`.merge`: LoRA tensors,
gates, selected blocks, r, lora_alpha, prompts, description, base fingerprint) beside the model.
:func:`set_adapter` removes the current LoRA layers (restoring the exact base ``Parameter``
objects) and attaches the chosen adapter the way :func:`.merge.load_adapter` attaches one to a
plain base, so that after ``set_adapter(model, name)`` the model equals "that adapter loaded
alone" parameter for parameter; ``None`` is the base model itself. The base weights are never
copied or reloaded. The bank owns the model's LoRA layers: do not train a banked model.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Union

import torch.nn as nn

from .inject import lora_layers, remove_lora
from .merge import architecture_fingerprint, attach_adapter, read_adapter

BANK_ATTR = '_mmbilalora_adapter_bank'


@dataclass
class AdapterBank:
    """The adapters registered on one model and the active one (None: the base)."""
    fingerprint: str
    adapters: Dict[str, Dict] = field(default_factory=dict)
    active: Optional[str] = None


def adapter_bank(model: nn.Module) -> AdapterBank:
    """The bank of ``model`` (created empty on first use; kept as a plain attribute, so it is
    neither a sub-module nor in ``state_dict``)."""
    bank = model.__dict__.get(BANK_ATTR)
    if bank is None:
        if lora_layers(model):
            raise ValueError(f'{type(model).__name__} already carries LoRA layers; an adapter '
                             'bank needs the plain base model.')
        bank = AdapterBank(architecture_fingerprint(model))
        object.__setattr__(model, BANK_ATTR, bank)
    return bank


def add_adapter(model: nn.Module, adapter: Union[str, Dict], name: str,
                activate: bool = True) -> nn.Module:
    """Register ``adapter`` (a file or an adapter dict) under ``name``; activate it unless
    ``activate=False``.

    Raises:
        ValueError: the adapter was made for another architecture, or ``name`` is taken.
    """
    if not name:
        raise ValueError('An adapter in a bank needs a non-empty name.')
    source = adapter if isinstance(adapter, str) else None
    if source is not None:
        adapter = read_adapter(source)
    bank = adapter_bank(model)
    if name in bank.adapters:
        raise ValueError(f'Adapter name {name!r} is already in the bank ({list(bank.adapters)}).')
    if adapter['fingerprint'] != bank.fingerprint:
        raise ValueError(
            f'Adapter {name!r}{f" ({source})" if source else ""} was made for a different base '
            f'architecture ({adapter["base_class"]}, fingerprint {adapter["fingerprint"][:12]}) '
            f'than {type(model).__name__} (fingerprint {bank.fingerprint[:12]}).')
    bank.adapters[name] = adapter
    if activate:
        set_adapter(model, name)
    return model


def set_adapter(model: nn.Module, name: Optional[str]) -> nn.Module:
    """Make ``model`` the base with adapter ``name`` attached (None: the plain base), in place.

    Raises:
        KeyError: no adapter of that name in the bank (the message lists the names).
    """
    bank = adapter_bank(model)
    if name is not None and name not in bank.adapters:
        raise KeyError(f'No adapter {name!r} in the bank; adapters: {list(bank.adapters)}.')
    if name == bank.active:
        return model
    remove_lora(model, merge=False)
    bank.active = None
    if name is not None:
        attach_adapter(model, bank.adapters[name])
        bank.active = name
    return model


def active_adapter(model: nn.Module) -> Optional[str]:
    """The name of the active adapter (None: the base, or no bank)."""
    bank = model.__dict__.get(BANK_ATTR)
    return bank.active if bank is not None else None


def list_adapters(model: nn.Module) -> List[str]:
    """Names of the banked adapters, in the order they were added."""
    bank = model.__dict__.get(BANK_ATTR)
    return list(bank.adapters) if bank is not None else []


def adapter_info(model: nn.Module, name: str) -> Dict:
    """``dict(prompts, description, selected_blocks, r, lora_alpha)`` of a banked adapter."""
    adapter = adapter_bank(model).adapters[name]
    return dict(prompts=[tuple(p) for p in adapter.get('prompts') or []],
                description=adapter.get('description', ''),
                selected_blocks=list(adapter.get('selected_blocks') or []),
                r=adapter['r'], lora_alpha=adapter['lora_alpha'])
