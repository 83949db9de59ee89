"""BilevelSplitDataset and BilevelPairSampler: the unlabeled real set split once into lower- and
upper-level halves, and (lower, upper) pairs drawn from the two halves independently.

The split lives here: a seeded permutation of the wrapped dataset's indices, cut at
``upper_fraction``, identical on every rank and on every resume (it depends only on the file list
and ``split_seed``).

Pairs: ``BilevelPairSampler`` yields ``(lower position, upper position)`` items, drawn as the
authors' two independently shuffled loaders are: an epoch is one pass over the lower half in a
seeded random order, and the upper half is a separate stream of seeded random orders (restarted
each epoch and whenever exhausted), so an upper image meets a different lower image every
epoch. With a plain sampler (``DefaultSampler``, ``InfiniteSampler``) item ``i`` is the fixed pair
(lower[i % n_lower], upper[i % n_upper]) and the length is ``max(n_lower, n_upper)``.
"""
import hashlib
import math
from typing import Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmagic.registry import DATA_SAMPLERS, DATASETS
from mmengine.dataset import BaseDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler


@DATASETS.register_module()
class BilevelSplitDataset:
    """Wrap an unlabeled dataset and yield (lower, upper) sample pairs.

    Args:
        dataset: the wrapped dataset (config or instance), e.g. an ``ImageFolderDataset``.
        upper_fraction: share of the images used for the upper level (gates).
        split_seed: seed of the split permutation.

    An item is ``dict(inputs=..., data_samples=..., upper_inputs=..., upper_data_samples=...)``:
    the wrapped pipeline's packed lower sample plus the upper sample under ``upper_`` keys.
    """

    def __init__(self, dataset: Union[dict, BaseDataset], upper_fraction: float = 0.5,
                 split_seed: int = 0):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        n = len(self.dataset)
        if n < 2:
            raise ValueError(f'BilevelSplitDataset needs at least 2 images to split into lower '
                             f'and upper halves, got {n}.')
        if not 0 < upper_fraction < 1:
            raise ValueError(f'upper_fraction must lie in (0, 1), got {upper_fraction}')
        self.upper_fraction = upper_fraction
        self.split_seed = split_seed
        order = np.random.default_rng(split_seed).permutation(n)
        n_upper = min(max(int(round(n * upper_fraction)), 1), n - 1)
        self.upper_indices: List[int] = sorted(order[:n_upper].tolist())
        self.lower_indices: List[int] = sorted(order[n_upper:].tolist())
        self.metainfo = getattr(self.dataset, 'metainfo', {})

    def __len__(self) -> int:
        return max(len(self.lower_indices), len(self.upper_indices))

    def __getitem__(self, idx: Union[int, Tuple[int, int]]) -> Dict:
        """Item ``(lower position, upper position)`` (from ``BilevelPairSampler``) or ``i``."""
        if isinstance(idx, (tuple, list)):
            lower_pos, upper_pos = idx
        else:
            lower_pos, upper_pos = idx % len(self.lower_indices), idx % len(self.upper_indices)
        lower = self.dataset[self.lower_indices[lower_pos]]
        upper = self.dataset[self.upper_indices[upper_pos]]
        return dict(inputs=lower['inputs'], data_samples=lower['data_samples'],
                    upper_inputs=upper['inputs'], upper_data_samples=upper['data_samples'])

    def _keys(self, indices: List[int]) -> List[str]:
        infos = (self.dataset.get_data_info(i) for i in indices)
        return [str(info.get('key', info.get('img_path', i))) for i, info in zip(indices, infos)]

    def split_info(self) -> Dict:
        """The split as data: image keys of each half and a fingerprint of the whole split."""
        lower, upper = self._keys(self.lower_indices), self._keys(self.upper_indices)
        digest = hashlib.sha256(('\n'.join(lower) + '\n--\n' + '\n'.join(upper)).encode())
        return dict(split_seed=self.split_seed, upper_fraction=self.upper_fraction,
                    lower=lower, upper=upper, fingerprint=digest.hexdigest())


@DATA_SAMPLERS.register_module()
class BilevelPairSampler(Sampler):
    """``(lower position, upper position)`` pairs for :class:`BilevelSplitDataset`, the lower and
    upper halves shuffled independently (the authors' two loaders).

    An epoch is one pass over the lower half (``shuffle``: a random order seeded by
    ``seed + epoch``); the upper positions come from consecutive random orders of the upper half
    drawn from the same seeded generator. In a distributed run each rank takes every
    ``world_size``-th pair of the epoch (the lower order padded by repetition to a multiple of
    the world size, as ``DefaultSampler`` with ``round_up=True``). ``infinite=True`` runs epoch
    after epoch without stopping (for ``IterBasedTrainLoop``, like ``InfiniteSampler``).

    Args:
        dataset: a :class:`BilevelSplitDataset`.
        shuffle: shuffle both halves (False: both in order, for debugging).
        seed: shared by all ranks (default: a synchronised random seed).
        infinite: never stop.
    """

    def __init__(self, dataset: BilevelSplitDataset, shuffle: bool = True,
                 seed: Optional[int] = None, infinite: bool = False):
        if not hasattr(dataset, 'lower_indices') or not hasattr(dataset, 'upper_indices'):
            raise TypeError(f'BilevelPairSampler needs a BilevelSplitDataset, got '
                            f'{type(dataset).__name__}.')
        self.rank, self.world_size = get_dist_info()
        self.n_lower, self.n_upper = len(dataset.lower_indices), len(dataset.upper_indices)
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.infinite = infinite
        self.epoch = 0
        self.num_samples = math.ceil(self.n_lower / self.world_size)
        self.total_size = self.num_samples * self.world_size

    def _order(self, n: int, generator: torch.Generator) -> List[int]:
        return torch.randperm(n, generator=generator).tolist() if self.shuffle else list(range(n))

    def epoch_pairs(self, epoch: int) -> List[Tuple[int, int]]:
        """This rank's pairs of ``epoch``."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + epoch)
        lower = self._order(self.n_lower, generator)
        lower = (lower * math.ceil(self.total_size / self.n_lower))[:self.total_size]
        upper: List[int] = []
        while len(upper) < self.total_size:
            upper += self._order(self.n_upper, generator)
        pairs = list(zip(lower, upper[:self.total_size]))
        return pairs[self.rank:self.total_size:self.world_size]

    def __iter__(self) -> Iterator[Tuple[int, int]]:
        epoch = self.epoch
        while True:
            yield from self.epoch_pairs(epoch)
            if not self.infinite:
                return
            epoch += 1

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
