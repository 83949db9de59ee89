"""BilevelSplitDataset: the unlabeled real set split once into lower- and upper-level halves.

The split lives here: a seeded permutation of the wrapped dataset's indices, cut at
``upper_fraction``, identical on every rank and on every resume (it depends only on the file list
and ``split_seed``). Item ``i`` is the pair (lower[i % n_lower], upper[i % n_upper]), each passed
through the wrapped dataset's own pipeline, so any sampler (``InfiniteSampler``,
``DefaultSampler``, distributed) draws one lower and one upper sample per index; the length is
``max(n_lower, n_upper)``, so with a 50/50 split each epoch visits every image once (one upper
image twice when the count is odd).
"""
import hashlib
from typing import Dict, List, Union

import numpy as np
from mmagic.registry import DATASETS
from mmengine.dataset import BaseDataset


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

    def __getitem__(self, idx: int) -> Dict:
        lower = self.dataset[self.lower_indices[idx % len(self.lower_indices)]]
        upper = self.dataset[self.upper_indices[idx % len(self.upper_indices)]]
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
