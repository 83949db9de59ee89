"""Building a frozen open_clip model from a tag, a local file or random weights, offline-safe.

Resolution of ``pretrained``:

1. ``None``: random weights (tests only; a warning says so).
2. A path (file, or ``local-dir:FOLDER`` in open_clip's layout): loaded from disk;
   ``mmbilalora://haze_clip_tiny`` is the shipped compact CLIP's folder
   (:mod:`mmbilalora.utils.model_zoo`).
3. An open_clip tag (``'openai'``): the file named by the environment variable
   ``MMBILALORA_CLIP_WEIGHTS`` if set; else the Hugging Face cache; else a download, unless the
   process is offline (``HF_HUB_OFFLINE=1`` or ``MMBILALORA_OFFLINE=1``), in which case it fails at
   once. A failed download fails after one try (1 s connect timeout) with a message that says how
   to supply the weights. There is never a silent fallback to random weights.
"""
import os
import os.path as osp
import warnings
from dataclasses import dataclass
from typing import List, Optional, Tuple

import open_clip
import torch.nn as nn

from ...utils import model_zoo

WEIGHTS_ENV = 'MMBILALORA_CLIP_WEIGHTS'
OFFLINE_ENVS = ('MMBILALORA_OFFLINE', 'HF_HUB_OFFLINE')


class CLIPWeightsUnavailable(RuntimeError):
    """Real CLIP weights were asked for and cannot be had."""


@dataclass
class CLIPBundle:
    """A frozen CLIP model with what is needed to feed it."""
    model: nn.Module
    tokenizer: object
    image_size: Tuple[int, int]
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    source: str  # human-readable description of the weights actually loaded


def _offline() -> bool:
    return any(os.environ.get(k, '').lower() in ('1', 'true', 'yes') for k in OFFLINE_ENVS)


def _how_to_supply(model_name: str, tag: str) -> str:
    cfg = open_clip.get_pretrained_cfg(model_name, tag) or {}
    hub = cfg.get('hf_hub', '').rstrip('/')
    where = f'the Hugging Face repository {hub!r}' if hub else f'open_clip tag {tag!r}'
    return (f'Provide CLIP weights for {model_name!r} ({tag!r}) as a local file: download '
            f'open_clip_pytorch_model.bin (or .safetensors) from {where} on a machine with '
            f'internet, then either set {WEIGHTS_ENV}=/path/to/file or pass '
            f'pretrained="/path/to/file" (with quick_gelu=True for OpenAI weights) to '
            'CLIPHazeClearLoss.')


def _hub_candidates(model_name: str, tag: str) -> Tuple[str, List[str]]:
    """(repo id, candidate file names) of an open_clip tag's Hugging Face weights."""
    hub = (open_clip.get_pretrained_cfg(model_name, tag) or {}).get('hf_hub', '')
    repo_id, filename = osp.split(hub)
    return repo_id, ([filename] if filename else ['open_clip_model.safetensors',
                                                  'open_clip_pytorch_model.bin'])


def local_clip_weights(model_name: str = 'ViT-B-32', tag: str = 'openai') -> Optional[str]:
    """A local file of real CLIP weights for ``tag`` (``MMBILALORA_CLIP_WEIGHTS`` or the Hugging
    Face cache), or None; never touches the network."""
    env_file = os.environ.get(WEIGHTS_ENV)
    if env_file and osp.isfile(env_file):
        return env_file
    repo_id, candidates = _hub_candidates(model_name, tag)
    if not repo_id:
        return None
    from huggingface_hub import try_to_load_from_cache
    for name in candidates:
        cached = try_to_load_from_cache(repo_id, name)
        if isinstance(cached, str):
            return cached
    return None


def _cached_or_downloaded(model_name: str, tag: str) -> str:
    """Local path of the weights of ``tag``: cache first, then one download attempt."""
    repo_id, candidates = _hub_candidates(model_name, tag)
    if not repo_id:
        raise CLIPWeightsUnavailable(f'Tag {tag!r} of {model_name!r} has no Hugging Face source. '
                                     + _how_to_supply(model_name, tag))
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    for name in candidates:
        cached = try_to_load_from_cache(repo_id, name)
        if isinstance(cached, str):
            return cached
    if _offline():
        raise CLIPWeightsUnavailable('Offline and no cached CLIP weights. '
                                     + _how_to_supply(model_name, tag))
    try:
        return hf_hub_download(repo_id, candidates[-1], etag_timeout=1)
    except Exception as err:
        raise CLIPWeightsUnavailable(f'Could not download CLIP weights ({err.__class__.__name__}'
                                     f'). ' + _how_to_supply(model_name, tag)) from err


@dataclass
class CLIPSource:
    """Where a CLIP model's weights come from, checked but not loaded (see
    :func:`resolve_clip_source`). ``weights`` is None for random weights and for a tag whose
    file is looked up (cache, then one download) only when loading."""
    model_name: str
    pretrained: Optional[str]
    weights: Optional[str]
    quick_gelu: bool
    source: str


def resolve_clip_source(model_name: str = 'ViT-B-32',
                        pretrained: Optional[str] = 'openai',
                        quick_gelu: Optional[bool] = None) -> CLIPSource:
    """Check a CLIP choice without loading weights or touching the network.

    Args: see :func:`build_frozen_clip`.

    Raises:
        KeyError: unknown architecture or tag. FileNotFoundError: a given file (or
        ``MMBILALORA_CLIP_WEIGHTS``, or a ``local-dir:`` folder's config) does not exist.
    """
    if pretrained is not None and pretrained.startswith(model_zoo.SCHEME):
        shipped = model_zoo.resolve(pretrained)
        pretrained = f'local-dir:{shipped}' if osp.isdir(shipped) else shipped
    local_dir = pretrained is not None and pretrained.startswith('local-dir:')
    if model_name.endswith('.json'):
        if not osp.isfile(model_name):
            raise FileNotFoundError(f'open_clip model config not found: {model_name!r}')
        open_clip.add_model_config(model_name)
        model_name = osp.splitext(osp.basename(model_name))[0]
    if not local_dir and model_name not in open_clip.list_models():
        raise KeyError(f'Unknown open_clip model {model_name!r}; register its config with '
                       'open_clip.add_model_config or choose one of open_clip.list_models().')
    tag_cfg = None
    if pretrained is None:
        warnings.warn(f'CLIPHazeClearLoss uses RANDOMLY initialised {model_name}: the loss carries '
                      'no haze semantics. Use this for tests only.')
        weights, source = None, f'{model_name} (random init, tests only)'
    elif local_dir:
        folder = pretrained.split(':', 1)[1]
        if not osp.isfile(osp.join(folder, 'open_clip_config.json')):
            raise FileNotFoundError(f'CLIP folder {folder!r} has no open_clip_config.json.')
        weights, source = pretrained, f'open_clip folder {folder}'
    elif osp.sep in pretrained or osp.isfile(pretrained):
        if not osp.isfile(pretrained):
            raise FileNotFoundError(f'CLIP weights not found: {pretrained!r}')
        weights, source = pretrained, f'{model_name} from {pretrained}'
    else:
        tag_cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
        if not tag_cfg:
            raise KeyError(f'{pretrained!r} is neither a file nor an open_clip tag of '
                           f'{model_name!r} (tags: {open_clip.list_pretrained_tags_by_model(model_name)}).')
        env_file = os.environ.get(WEIGHTS_ENV)
        if env_file:
            if not osp.isfile(env_file):
                raise FileNotFoundError(f'{WEIGHTS_ENV}={env_file!r} is not a file.')
            weights, source = env_file, f'{model_name} {pretrained!r} from {env_file} ({WEIGHTS_ENV})'
        else:
            weights, source = None, f'{model_name} {pretrained!r}'
    if quick_gelu is None:
        quick_gelu = bool(tag_cfg and tag_cfg.get('quick_gelu', False))
    return CLIPSource(model_name, pretrained, weights, quick_gelu, source)


def load_clip_source(clip: CLIPSource) -> CLIPBundle:
    """Build the frozen (eval, ``requires_grad=False``) model of a resolved source and its
    tokenizer; a tag's file is taken from the cache or downloaded (once) here.

    Raises:
        CLIPWeightsUnavailable: a tag's weights are neither supplied, cached nor downloadable.
    """
    weights, source = clip.weights, clip.source
    if weights is None and clip.pretrained is not None:
        weights = _cached_or_downloaded(clip.model_name, clip.pretrained)
        source = f'{source} from {weights}'
    if weights is not None and weights.startswith('local-dir:'):
        model = open_clip.create_model(weights, force_quick_gelu=clip.quick_gelu)
        tokenizer = open_clip.get_tokenizer(weights)
    else:
        model = open_clip.create_model(clip.model_name, pretrained=weights,
                                       force_quick_gelu=clip.quick_gelu, pretrained_text=False)
        tokenizer = open_clip.get_tokenizer(clip.model_name)
    model.eval().requires_grad_(False)
    pp = open_clip.get_model_preprocess_cfg(model)
    size = pp.get('size', model.visual.image_size)
    size = (size, size) if isinstance(size, int) else tuple(size)
    return CLIPBundle(model, tokenizer, size, tuple(pp['mean']), tuple(pp['std']), source)


def build_frozen_clip(model_name: str = 'ViT-B-32',
                      pretrained: Optional[str] = 'openai',
                      quick_gelu: Optional[bool] = None) -> CLIPBundle:
    """Build a frozen (eval, ``requires_grad=False``) open_clip model and its tokenizer.

    Args:
        model_name: an open_clip architecture name (built-in or added with
            ``open_clip.add_model_config``), or the path of an open_clip model-config JSON file
            (registered under its file stem); ignored for ``'local-dir:'`` weights, whose folder
            holds its own config.
        pretrained: tag, file path, ``'local-dir:FOLDER'``, ``'mmbilalora://NAME'`` or None
            (see module docstring).
        quick_gelu: force QuickGELU activations; None takes the tag's setting (True for
            ``'openai'``), False for files.

    Raises:
        CLIPWeightsUnavailable: a tag's weights are neither supplied, cached nor downloadable.
        FileNotFoundError: a given weights file does not exist.
    """
    return load_clip_source(resolve_clip_source(model_name, pretrained, quick_gelu))
