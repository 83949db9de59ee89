"""LoRA on a model: search-space resolution, injection (with its report), removal, merging.

A ``lora_cfg`` (a plain dict, e.g. from a config file)::

    lora_cfg = dict(
        search_space=['layer3.blocks.*', dict(type='NAFBlock')],  # names, globs, module types
        targets=dict(types=('Conv2d', 'Linear'),                  # layer types inside a block
                     include=None,                                # fnmatch patterns, relative
                     exclude=('*meta*', ),                        #   to the block
                     recursive=True),                             # False: direct children only
        r=8, lora_alpha=16, dropout=0.0,
        gate=True,                                                # one LayerGate per block
        oversized='skip')                                         # see below

Blocks must not nest (a block inside another block is ambiguous). Base parameters are frozen.

LoRA stays low-rank: a layer whose adapter would hold at least as many weights as the layer's own
weight (a depthwise conv, or a 1x1 conv with fewer channels than about 2r) is skipped and listed
in the report's ``skipped`` (``oversized='skip'``, the default); ``oversized='allow'`` adapts it
anyway.
"""
import copy
import difflib
import fnmatch
import hashlib
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log

from .gate import GATE_ATTR, LayerGate
from .layers import LoRAConv2d, LoRALayerMixin, LoRALinear, LoRAMultiheadAttention

LORA_CLASSES = {
    'Conv2d': (nn.Conv2d, LoRAConv2d),
    'Linear': (nn.Linear, LoRALinear),
    'MultiheadAttention': (nn.MultiheadAttention, LoRAMultiheadAttention),
}
OVERSIZED_MODES = ('skip', 'allow')


def block_of(name: str, blocks: Iterable[str]) -> Optional[str]:
    """The block among ``blocks`` that contains module ``name`` (the longest such prefix; ``''``
    is the root), or None when no block contains it."""
    inside = [b for b in blocks if b == '' or name.startswith(b + '.')]
    return max(inside, key=len) if inside else None


@dataclass
class BlockReport:
    """What injection did to one block."""
    block: str
    layers: List[str] = field(default_factory=list)
    lora_params: int = 0
    base_params: int = 0

    @property
    def share(self) -> float:
        """LoRA parameters as a fraction of the block's base parameters."""
        return self.lora_params / max(self.base_params, 1)


@dataclass
class InjectionReport:
    """Per-block summary of an injection, the model's base parameter count and the layers
    skipped as oversized: ``(layer, LoRA weights it would have, the layer's weights)``."""
    blocks: List[BlockReport]
    model_base_params: int
    skipped: List[Tuple[str, int, int]] = field(default_factory=list)

    @property
    def lora_params(self) -> int:
        return sum(b.lora_params for b in self.blocks)

    def table(self) -> str:
        rows = [('block', 'layers', 'LoRA params', 'share of block', 'share of model')]
        for b in self.blocks:
            rows.append((b.block, str(len(b.layers)), f'{b.lora_params:,}', f'{b.share:.2%}',
                         f'{b.lora_params / max(self.model_base_params, 1):.2%}'))
        rows.append(('total', str(sum(len(b.layers) for b in self.blocks)),
                     f'{self.lora_params:,}', '',
                     f'{self.lora_params / max(self.model_base_params, 1):.2%}'))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = [' | '.join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        lines.insert(1, '-+-'.join('-' * w for w in widths))
        if self.skipped:
            lines.append(f'skipped {len(self.skipped)} layer(s) whose LoRA would not be smaller '
                         'than the layer (LoRA weights / layer weights): ' + ', '.join(
                             f'{n} ({a:,}/{w:,})' for n, a, w in self.skipped))
        return '\n'.join(lines)


def _module_type_matches(module: nn.Module, type_name: str) -> bool:
    return any(cls.__name__ == type_name for cls in type(module).__mro__)


def resolve_search_space(model: nn.Module,
                         search_space: Sequence[Union[str, dict]]) -> List[str]:
    """Module names of the blocks named by ``search_space``, in model order.

    Each item is an exact module name, an fnmatch glob over module names (``'layer3.blocks.*'``)
    or ``dict(type='ClassName')`` (every module of that class or a subclass). Globs and types
    match the outermost modules only: a match inside another match is not a separate block.

    Raises:
        KeyError: a name or pattern matches nothing (the message lists the closest names).
        ValueError: the space is empty, or an explicit block lies inside another block.
    """
    if isinstance(search_space, (str, dict)):
        search_space = [search_space]
    if not search_space:
        raise ValueError('lora_cfg.search_space is empty: name at least one block.')
    modules = dict(model.named_modules())
    names = [n for n in modules if n]
    chosen = set()
    for item in search_space:
        if isinstance(item, dict):
            if set(item) != {'type'}:
                raise ValueError(f'A search-space dict takes only "type", got {item}')
            hits = [n for n in names if _module_type_matches(modules[n], item['type'])]
            what = f'module type {item["type"]!r}'
        elif any(ch in item for ch in '*?['):
            hits = fnmatch.filter(names, item)
            what = f'pattern {item!r}'
        else:
            hits = [item] if item in modules and item else []
            what = f'block name {item!r}'
        if not hits:
            close = difflib.get_close_matches(str(item.get('type') if isinstance(item, dict)
                                                  else item), names, n=5, cutoff=0.5)
            hint = f' Closest module names: {close}.' if close else ''
            raise KeyError(f'Search space: {what} matches no module of '
                           f'{type(model).__name__}.{hint}')
        chosen.update(hits)
    ordered = [n for n in names if n in chosen]
    blocks = []
    for name in ordered:
        inner = next((b for b in blocks if name.startswith(b + '.')), None)
        if inner is None:
            blocks.append(name)
        elif name in search_space:
            raise ValueError(f'Search-space block {name!r} lies inside block {inner!r}; '
                             'blocks must not nest.')
    return blocks


def find_target_layers(block: nn.Module,
                       types: Sequence[str] = ('Conv2d', 'Linear'),
                       include: Optional[Sequence[str]] = None,
                       exclude: Optional[Sequence[str]] = None,
                       recursive: bool = True) -> List[str]:
    """Names (relative to ``block``) of the layers to adapt.

    A layer qualifies when its class is exactly one of ``types`` or a subclass that does not
    override ``forward`` (so the LoRA forward is faithful), its name matches one of ``include``
    (if given) and none of ``exclude``. ``recursive=False`` looks at the block's direct children
    only (the authors' code); the default searches the whole block, since projections are often
    nested (DehazeFormer's attention and MLP convs). The ``out_proj`` of an
    ``nn.MultiheadAttention`` is chosen only together with its attention module (type
    ``'MultiheadAttention'``): that module reads the weight directly instead of calling the
    layer, so only the LoRA attention module applies an adapter there.
    """
    unknown = set(types) - set(LORA_CLASSES)
    if unknown:
        raise ValueError(f'Unsupported LoRA target types {sorted(unknown)}; '
                         f'supported: {sorted(LORA_CLASSES)}')
    skipped = set() if 'MultiheadAttention' in types else {
        f'{name}.out_proj' if name else 'out_proj'
        for name, module in block.named_modules() if isinstance(module, nn.MultiheadAttention)}
    candidates = block.named_modules() if recursive else block.named_children()
    targets = []
    for name, module in candidates:
        if not name or isinstance(module, LoRALayerMixin) or name in skipped:
            continue
        for type_name in types:
            base_cls = LORA_CLASSES[type_name][0]
            if isinstance(module, base_cls) and type(module).forward is base_cls.forward:
                break
        else:
            continue
        if include and not any(fnmatch.fnmatchcase(name, p) for p in include):
            continue
        if exclude and any(fnmatch.fnmatchcase(name, p) for p in exclude):
            continue
        targets.append(name)
    return targets


def set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition('.')
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


def _count(params: Iterable[nn.Parameter]) -> int:
    return sum(p.numel() for p in params)


def base_parameters(model: nn.Module) -> Dict[str, nn.Parameter]:
    """The model's parameters that are neither LoRA weights nor gates."""
    return {
        n: p
        for n, p in model.named_parameters()
        if not (n.rsplit('.', 1)[-1] in ('lora_A', 'lora_B') or f'{GATE_ATTR}.' in n)
    }


def inject_lora(model: nn.Module,
                search_space: Sequence[Union[str, dict]],
                targets: Optional[dict] = None,
                r: int = 8,
                lora_alpha: float = 16,
                dropout: float = 0.0,
                gate: bool = True,
                oversized: str = 'skip',
                freeze_base: bool = True,
                verbose: bool = True) -> InjectionReport:
    """Wrap the target layers of every search-space block with LoRA, in place.

    Each block gets one :class:`LayerGate` (``<block>.lora_gate``) shared by its layers when
    ``gate`` is True. Base parameters are frozen when ``freeze_base``. A layer whose LoRA would
    hold at least as many weights as its own weight is skipped and reported
    (``oversized='skip'``) or adapted anyway (``oversized='allow'``).

    Returns:
        InjectionReport: per-block layers and parameter counts (also logged as a table).

    Raises:
        KeyError / ValueError: see :func:`resolve_search_space`; a block without target layers.
    """
    if oversized not in OVERSIZED_MODES:
        raise ValueError(f'oversized must be one of {OVERSIZED_MODES}, got {oversized!r}')
    targets = dict(targets or {})
    blocks = resolve_search_space(model, search_space)
    model_base = _count(base_parameters(model).values())
    if freeze_base:
        for p in base_parameters(model).values():
            p.requires_grad_(False)
    reports, skipped = [], []
    for block_name in blocks:
        block = model.get_submodule(block_name)
        layer_names = find_target_layers(block, **targets)
        if not layer_names:
            raise ValueError(f'Search-space block {block_name!r} ({type(block).__name__}) has no '
                             f'layer matching targets {targets or "(default)"}.')
        if oversized == 'skip':
            small = []
            for layer_name in layer_names:
                layer = block.get_submodule(layer_name)
                lora_cls = next(lc for bc, lc in LORA_CLASSES.values() if isinstance(layer, bc))
                size = lora_cls.lora_numel(layer, r)
                weight = getattr(layer, lora_cls.WEIGHT).numel()
                if size >= weight:
                    skipped.append((f'{block_name}.{layer_name}', size, weight))
                else:
                    small.append(layer_name)
            if not small:
                raise ValueError(f'Search-space block {block_name!r}: every target layer would '
                                 f'get a LoRA of rank {r} at least as large as the layer itself '
                                 f'({layer_names}); lower r, choose other targets or pass '
                                 "oversized='allow'.")
            layer_names = small
        report = BlockReport(block_name, base_params=_count(base_parameters(block).values()))
        block_gate = None
        if gate:
            block_gate = LayerGate().to(next(block.parameters()).device)
            setattr(block, GATE_ATTR, block_gate)
        for layer_name in layer_names:
            layer = block.get_submodule(layer_name)
            lora_cls = next(lc for bc, lc in LORA_CLASSES.values() if isinstance(layer, bc))
            wrapped = lora_cls.from_base(layer, r=r, lora_alpha=lora_alpha, dropout=dropout,
                                         gate=block_gate)
            set_submodule(block, layer_name, wrapped)
            report.layers.append(layer_name)
            report.lora_params += wrapped.num_lora_parameters()
        reports.append(report)
    result = InjectionReport(reports, model_base, skipped)
    if verbose:
        print_log(f'LoRA injection (r={r}, lora_alpha={lora_alpha}):\n{result.table()}',
                  logger='current')
    return result


def lora_layers(model: nn.Module) -> Dict[str, LoRALayerMixin]:
    """``{name: layer}`` of every LoRA layer in ``model``."""
    return {n: m for n, m in model.named_modules() if isinstance(m, LoRALayerMixin)}


def layer_gates(model: nn.Module) -> Dict[str, LayerGate]:
    """``{block name: gate}`` of every LayerGate in ``model`` (block name = gate's parent)."""
    return {
        n.rsplit('.', 1)[0] if '.' in n else '': m
        for n, m in model.named_modules() if isinstance(m, LayerGate)
    }


def remove_lora(model: nn.Module, blocks: Optional[Sequence[str]] = None,
                merge: bool = False) -> List[str]:
    """Turn LoRA layers back into their base classes, in place, and drop their blocks' gates.

    Args:
        blocks: only the LoRA layers inside these blocks (default: all).
        merge: fold each adapter into the base weight (True) or discard it (False).

    Returns:
        The names of the layers that were restored.
    """
    restored = []
    for name, layer in lora_layers(model).items():
        if blocks is not None and block_of(name, blocks) is None:
            continue
        set_submodule(model, name, layer.to_base(merge=merge))
        restored.append(name)
    for block_name in list(layer_gates(model)):
        if blocks is None or block_name in blocks:
            block = model.get_submodule(block_name) if block_name else model
            delattr(block, GATE_ATTR)
    return restored


def merge_lora(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Fold every adapter into its base weight and restore the original layer classes.

    The result has no LoRA parameters or gates; its ``state_dict`` loads into a freshly built base
    model with ``strict=True``. Works on a deep copy unless ``inplace``.
    """
    merged = model if inplace else copy.deepcopy(model)
    remove_lora(merged, merge=True)
    return merged


def architecture_fingerprint(model: nn.Module) -> str:
    """sha256 (hex) of the sorted ``name:shape`` list of the model's base parameters."""
    items = sorted(f'{n}:{tuple(p.shape)}' for n, p in base_parameters(model).items())
    return hashlib.sha256('\n'.join(items).encode()).hexdigest()
