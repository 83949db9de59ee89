"""Read the authors' released files (YanZhang-zy/BiLaLoRA) into this plugin's formats.

- ``Base.pth``: a bare state dict of their deployed DEA-Net (``Backbonecs``), whose keys and
  shapes are those of ``DEANet(deploy=True)`` -> a BaseEditModel checkpoint
  (``{'state_dict': {'generator.<key>': tensor}, 'meta': ...}``; ``load_from`` / ``--checkpoint``).
- ``LoRA.pth``: ``{'lora_state_dict': {...}, 'nas_lora_config': {...}}`` (what their test script
  reads; their training script writes the config under ``'lora_config'`` with extra fields). The
  config holds ``selected_layers``, ``r`` and ``lora_alpha``; the state dict holds, for each direct
  ``nn.Conv2d`` child of each selected block, ``<block>.<conv>.lora_A`` / ``lora_B`` (loralib conv
  shapes) and the block's shared gate logit once, under its first conv's name
  (``<block>.<first conv>.alpha``, shape (1,)) -> an mmbilalora adapter (``--adapter`` /
  ``load_adapter``).

Their network reads CLIP-normalised inputs and writes [0, 1] RGB: use it with
``configs/dea-net/dea-net_authors.py`` (``DehazeDataPreprocessor``).
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from ..models.editors import DEANet
from ..models.lora import extract_adapter, inject_lora, lora_layers

BASE_EXAMPLE = "{'down1.0.weight': Tensor(32, 3, 3, 3), ..., 'up3.0.bias': Tensor(3)}"
LORA_EXAMPLE = ("{'lora_state_dict': {'<block>.conv1.lora_A': ..., '<block>.conv1.lora_B': ..., "
                "'<block>.conv1.alpha': Tensor(1), '<block>.conv2.lora_A': ..., ...}, "
                "'nas_lora_config': {'selected_layers': [...], 'r': 8, 'lora_alpha': 16}}")


def _load(path: str) -> object:
    if not osp.isfile(path):
        raise FileNotFoundError(f'File not found: {path!r}')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        raise ValueError(f'Cannot read {path!r} as a torch file: {err}') from err


def _is_state_dict(obj: object) -> bool:
    return (isinstance(obj, dict) and bool(obj)
            and all(isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items()))


def authors_dea_net(state: Dict[str, torch.Tensor], source: str = 'Base.pth') -> DEANet:
    """A deployed ``DEANet`` holding the authors' bare state dict ``state``.

    Raises:
        ValueError: ``state`` is not a bare state dict of their deployed DEA-Net.
    """
    if not _is_state_dict(state):
        raise ValueError(f'{source} is not a bare state dict of the deployed DEA-Net (expected '
                         f'{BASE_EXAMPLE}; got {type(state).__name__} with keys '
                         f'{list(state)[:5] if isinstance(state, dict) else "-"}).')
    if 'down1.0.weight' not in state:
        raise ValueError(f'{source} lacks down1.0.weight: not the deployed DEA-Net layout '
                         f'(expected {BASE_EXAMPLE}; first keys {list(state)[:5]}).')
    network = DEANet(base_dim=int(state['down1.0.weight'].shape[0]), deploy=True)
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise ValueError(f'{source} does not match the deployed DEA-Net (Backbonecs): missing '
                         f'{missing[:5]}, unexpected {unexpected[:5]}, wrong shapes {wrong[:5]} '
                         '(a training-form checkpoint needs tools/reparam_dea_net.py first).')
    network.load_state_dict(state)
    return network


def _lora_parts(checkpoint: object, source: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    if not isinstance(checkpoint, dict) or 'lora_state_dict' not in checkpoint:
        raise ValueError(f'{source} is not an authors\' LoRA file (expected {LORA_EXAMPLE}; got '
                         f'keys {list(checkpoint)[:5] if isinstance(checkpoint, dict) else "-"}).')
    config = checkpoint.get('nas_lora_config', checkpoint.get('lora_config'))
    if not isinstance(config, dict) or not {'selected_layers', 'r', 'lora_alpha'} <= set(config):
        raise ValueError(f"{source}: 'nas_lora_config' (or 'lora_config') with selected_layers, "
                         f'r and lora_alpha is missing (expected {LORA_EXAMPLE}).')
    state = checkpoint['lora_state_dict']
    if not _is_state_dict(state):
        raise ValueError(f"{source}: 'lora_state_dict' is not a dict of tensors.")
    return state, config


def authors_adapter(network: DEANet, checkpoint: dict, source: str = 'LoRA.pth',
                    meta: Optional[dict] = None) -> Dict:
    """The mmbilalora adapter of the authors' LoRA file ``checkpoint`` for ``network``.

    Injects LoRA into ``network`` (in place) on the direct ``nn.Conv2d`` children of the
    selected blocks, as the authors' code does, and copies their tensors.

    Raises:
        ValueError: layout, names or shapes differ from the authors' format (message says how).
    """
    state, config = _lora_parts(checkpoint, source)
    selected: List[str] = [str(b) for b in config['selected_layers']]
    r, lora_alpha = int(config['r']), float(config['lora_alpha'])
    try:
        inject_lora(network, search_space=selected, targets=dict(types=('Conv2d', ),
                                                                 recursive=False),
                    r=r, lora_alpha=lora_alpha, oversized='allow', verbose=False)
    except (KeyError, ValueError) as err:
        raise ValueError(f'{source}: selected_layers {selected} do not fit the deployed DEA-Net: '
                         f'{err}') from err
    layers = lora_layers(network)
    expected = {f'{name}.{key}' for name in layers for key in ('lora_A', 'lora_B')}
    gate_keys = {k for k in state if k.endswith('.alpha')}
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected - gate_keys)
    if missing or unexpected:
        raise ValueError(f'{source}: LoRA tensors do not match selected_layers {selected} '
                         f'(missing {missing[:5]}, unexpected {unexpected[:5]}).')
    for name, layer in layers.items():
        for key in ('lora_A', 'lora_B'):
            tensor = state[f'{name}.{key}']
            if tensor.shape != getattr(layer, key).shape:
                raise ValueError(f'{source}: {name}.{key} has shape {tuple(tensor.shape)}, '
                                 f'expected {tuple(getattr(layer, key).shape)} for r={r}.')
            with torch.no_grad():
                getattr(layer, key).copy_(tensor)
    for block in selected:
        owned = sorted(k for k in gate_keys if k.rsplit('.', 2)[0] == block)
        if not owned:
            raise ValueError(f'{source}: no gate logit for block {block!r} (expected '
                             f"'{block}.<first conv>.alpha').")
        values = {float(state[k].reshape(-1)[0]) for k in owned}
        if len(values) != 1 or any(state[k].numel() != 1 for k in owned):
            raise ValueError(f'{source}: block {block!r} has gate logits {owned} that are not one '
                             'shared scalar.')
        with torch.no_grad():
            network.get_submodule(block).lora_gate.alpha.fill_(values.pop())
    stray = sorted(k for k in gate_keys if k.rsplit('.', 2)[0] not in selected)
    if stray:
        raise ValueError(f'{source}: gate logits {stray[:5]} belong to no selected block.')
    return extract_adapter(network, selected_blocks=selected,
                           meta=dict(meta or {}, source=f"authors' LoRA file {source}"))


def generator_checkpoint(network: nn.Module, meta: Optional[dict] = None) -> Dict:
    """A BaseEditModel checkpoint (``generator.``-prefixed state dict) of ``network``'s base
    weights."""
    state = {f'generator.{k}': v.detach().clone() for k, v in network.state_dict().items()}
    return dict(state_dict=state, meta=dict(meta or {}))


def convert_authors_files(base: str, lora: Optional[str]) -> Tuple[Dict, Optional[Dict]]:
    """(base checkpoint, adapter or None) converted from the authors' ``Base.pth`` and
    ``LoRA.pth`` paths."""
    network = authors_dea_net(_load(base), base)
    checkpoint = generator_checkpoint(network, dict(source=f"authors' base file {base}"))
    adapter = authors_adapter(network, _load(lora), lora) if lora else None
    return checkpoint, adapter
