"""Adapter files: a model's adapters as a small dict of tensors, written, read and attached.

An adapter is a plain dict of tensors, numbers and strings (loadable with
``torch.load(weights_only=True)``)::

    dict(format='mmbilalora.adapter/1', r=8, lora_alpha=16.0, dropout=0.0,
         base_class='PriorRefinedDehazer',
         fingerprint='<sha256 of base parameter names and shapes>',
         layers={layer_name: dict(block=block_name, lora_A=Tensor, lora_B=Tensor)},
         gates={block_name: alpha (0-dim Tensor)},      # empty for ungated adapters
         selected_blocks=[block_name, ...],
         prompts=[[hazy prompt, clear prompt], ...], description='...',   # optional (older
         meta={...})                                                     #  files lack them)

An adapter made for a network alone (e.g. a ``DehazeFormer``, as the files written before the
shipped base became a ``PriorRefinedDehazer``) attaches to a model holding that network as a
sub-module: :func:`fit_adapter` finds the one sub-module of its class and fingerprint and moves
the layer names under it; any other mismatch is refused.
"""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log

from ...utils.atomic_io import atomic_torch_save
from ...utils.checkpoint_io import describe_load_error
from .gate import GATE_ATTR, LayerGate
from .model import (LORA_CLASSES, architecture_fingerprint, block_of, layer_gates, lora_layers,
                    merge_lora, set_submodule)

ADAPTER_FORMAT = 'mmbilalora.adapter/1'


def save_merged_checkpoint(generator: nn.Module, path: str, meta: Optional[dict] = None) -> int:
    """Merge ``generator``'s adapters (on a copy) and write a plain BaseEditModel checkpoint
    (``state_dict`` with ``generator.*`` keys, loadable with ``load_from``) atomically.

    Returns:
        The number of tensors written.
    """
    merged = merge_lora(generator)
    state = {f'generator.{k}': v for k, v in merged.state_dict().items()}
    atomic_torch_save(dict(state_dict=state, meta=dict(meta or {})), path)
    return len(state)


def extract_adapter(model: nn.Module, selected_blocks: Optional[Sequence[str]] = None,
                    meta: Optional[dict] = None,
                    prompts: Sequence[Tuple[str, str]] = (),
                    description: str = '') -> Dict:
    """The adapter-only state of ``model`` (see module docstring).

    Args:
        selected_blocks: blocks whose adapters to keep (default: every block with LoRA layers).
        meta: extra JSON-like information stored under ``'meta'``.
        prompts: the (hazy, clear) prompt pairs of the adapter's target domain (what its H2C
            loss was trained with); automatic routing matches images against the hazy prompts.
        description: a short human-readable description of the adapter.
    """
    layers = lora_layers(model)
    if not layers:
        raise ValueError(f'{type(model).__name__} has no LoRA layers to extract.')
    gates = layer_gates(model)
    first = next(iter(layers.values()))
    gate_owner = {id(g): b for b, g in gates.items()}
    records = {}
    for name, layer in layers.items():
        block = gate_owner.get(id(layer.gate)) if layer.gate is not None else None
        if block is None:
            block = block_of(name, gates) or name.rpartition('.')[0]
        if selected_blocks is not None and block not in selected_blocks:
            continue
        records[name] = dict(block=block, lora_A=layer.lora_A.detach().cpu().clone(),
                             lora_B=layer.lora_B.detach().cpu().clone())
    blocks = sorted({r['block'] for r in records.values()})
    dropout = getattr(first.lora_dropout, 'p', 0.0)
    return dict(
        format=ADAPTER_FORMAT, r=first.r, lora_alpha=float(first.lora_alpha),
        dropout=float(dropout), base_class=type(model).__name__,
        fingerprint=architecture_fingerprint(model), layers=records,
        gates={b: gates[b].alpha.detach().cpu().clone() for b in blocks if b in gates},
        selected_blocks=list(selected_blocks) if selected_blocks is not None else blocks,
        prompts=[[str(hazy), str(clear)] for hazy, clear in prompts],
        description=str(description), meta=dict(meta or {}))


def save_adapter(adapter: Dict, path: str) -> None:
    """Write an adapter dict to ``path`` atomically."""
    atomic_torch_save(adapter, path)


def read_adapter(path: str) -> Dict:
    """Read and validate an adapter file (``weights_only=True``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Adapter file not found: {path!r}')
    try:
        adapter = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # torch raises many types on foreign or damaged files
        reason = describe_load_error(err)
    else:
        reason = None
    if reason:
        raise ValueError(f'Cannot read adapter file {path!r}: {reason}.')
    if not isinstance(adapter, dict) or adapter.get('format') != ADAPTER_FORMAT:
        raise ValueError(f'{path!r} is not an mmbilalora adapter (expected format '
                         f'{ADAPTER_FORMAT!r}).')
    return adapter


def fit_adapter(model: nn.Module, adapter: Dict, source: str = 'adapter') -> Dict:
    """``adapter`` as it attaches to ``model``: itself when it was made for ``model``'s
    architecture; when it was made for a network that ``model`` holds as its only sub-module of
    that class and fingerprint, a copy with every layer and block name under that sub-module.

    Raises:
        ValueError: made for another architecture (the message names both).
    """
    fingerprint = architecture_fingerprint(model)
    if adapter['fingerprint'] == fingerprint:
        return adapter
    holders = [name for name, module in model.named_modules()
               if name and type(module).__name__ == adapter['base_class']
               and architecture_fingerprint(module) == adapter['fingerprint']]
    if len(holders) != 1:
        raise ValueError(
            f'{source} was made for a different base architecture ({adapter["base_class"]}, '
            f'fingerprint {adapter["fingerprint"][:12]}) than {type(model).__name__} '
            f'(fingerprint {fingerprint[:12]}): parameter names or shapes differ.')
    prefix = holders[0] + '.'
    print_log(f'{source} was made for {adapter["base_class"]} alone: attached to '
              f'{type(model).__name__}.{holders[0]}.', logger='current')

    def moved(name: str) -> str:
        return prefix + name if name else holders[0]

    return dict(adapter, base_class=type(model).__name__, fingerprint=fingerprint,
                layers={moved(n): dict(r, block=moved(r['block']))
                        for n, r in adapter['layers'].items()},
                gates={moved(b): a for b, a in adapter['gates'].items()},
                selected_blocks=[moved(b) for b in adapter.get('selected_blocks') or []],
                meta=dict(adapter.get('meta') or {}, moved_under=holders[0]))


def load_adapter(model: nn.Module, adapter: Union[str, Dict], strict: bool = True) -> nn.Module:
    """Attach an adapter (a file or an adapter dict) to ``model`` in place, injecting LoRA
    layers where missing.

    ``model`` may be the plain base model or one already injected with the same layers.

    Raises:
        ValueError: the adapter was made for another architecture (see :func:`fit_adapter`;
            ``strict=False`` skips that check), or a layer's LoRA shapes disagree.
        KeyError: a layer named by the adapter does not exist in ``model``.
    """
    source = f'Adapter {adapter!r}' if isinstance(adapter, str) else 'The adapter'
    if isinstance(adapter, str):
        adapter = read_adapter(adapter)
    if strict:
        adapter = fit_adapter(model, adapter, source)
    modules = dict(model.named_modules())
    gates: Dict[str, LayerGate] = {}
    for block, alpha in adapter['gates'].items():
        owner = modules[block] if block else model
        gate = getattr(owner, GATE_ATTR, None)
        if gate is None:
            gate = LayerGate().to(next(owner.parameters()).device)
            setattr(owner, GATE_ATTR, gate)
        with torch.no_grad():
            gate.alpha.copy_(alpha)
        gates[block] = gate
    for name, record in adapter['layers'].items():
        if name not in modules:
            raise KeyError(f'Adapter layer {name!r} does not exist in {type(model).__name__}.')
        layer = modules[name]
        if not hasattr(layer, 'lora_A'):
            lora_cls = next((lc for bc, lc in LORA_CLASSES.values() if isinstance(layer, bc)),
                            None)
            if lora_cls is None:
                raise TypeError(f'Adapter layer {name!r} is a {type(layer).__name__}, '
                                'not a Conv2d or Linear.')
            layer = lora_cls.from_base(layer, r=adapter['r'], lora_alpha=adapter['lora_alpha'],
                                       dropout=adapter.get('dropout', 0.0))
            set_submodule(model, name, layer)
        layer.set_gate(gates.get(record['block']))
        for key in ('lora_A', 'lora_B'):
            target = getattr(layer, key)
            if target.shape != record[key].shape:
                raise ValueError(f'Adapter {key} of {name!r} has shape {tuple(record[key].shape)}'
                                 f', the model expects {tuple(target.shape)} (different r?).')
            with torch.no_grad():
                target.copy_(record[key])
    return model
