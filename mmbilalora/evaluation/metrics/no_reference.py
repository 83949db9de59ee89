"""No-reference image-quality metrics as mmengine metrics: score the prediction alone.

Each metric reads the model output (``pred_img``, (C, H, W) RGB in [0, 255]) and, with
``score_input=True``, the network input (``input``, same layout) so a report shows before/after.
Results per image are kept in ``self.last_per_image`` after ``compute_metrics`` (for reports).
Metric names: ``<name>`` for the output, ``<name>_input`` for the input.
"""
import os
import os.path as osp
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmagic.evaluation.metrics.base_sample_wise_metric import BaseSampleWiseMetric
from mmagic.registry import METRICS

from ..fade import fade, load_fade_models


def to_uint8_hwc(image) -> np.ndarray:
    """(C, H, W) tensor/array in [0, 255] -> (H, W, C) uint8 (rounded, clipped)."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().float().numpy()
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] in (1, 3, 4) and image.shape[-1] not in (1, 3, 4):
        image = image.transpose(1, 2, 0)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


class NoReferenceMetric(BaseSampleWiseMetric):
    """Base class: subclasses set ``metric`` and implement :meth:`score` on (H, W, 3) uint8 RGB.

    Built on MMagic's ``BaseSampleWiseMetric`` (so MMagic's multi-loops can prepare it) but reads
    no ground truth.

    Args:
        score_input: also score the network input (``input`` in the data sample).
        collect_device / prefix: as in ``mmengine.evaluator.BaseMetric``.
    """

    metric = 'score'

    def __init__(self, score_input: bool = False, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.score_input = score_input
        self.last_per_image: List[Dict] = []

    def score(self, image: np.ndarray) -> float:
        raise NotImplementedError

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            output = sample['output']
            pred = output['pred_img'] if isinstance(output, dict) else output.pred_img
            result = dict(name=self._name_of(sample), output=self.score(to_uint8_hwc(pred)))
            if self.score_input:
                if 'input' not in sample:
                    raise KeyError(f'{type(self).__name__}(score_input=True) needs the network '
                                   'input in the data sample (BaseEditModel adds it as "input").')
                result['input'] = self.score(to_uint8_hwc(sample['input']))
            self.results.append(result)

    @staticmethod
    def _name_of(sample: dict) -> str:
        for key in ('img_path', 'gt_path', 'key'):
            value = sample.get(key) if isinstance(sample, dict) else None
            if value:
                return osp.basename(str(value))
        return ''

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        self.last_per_image = list(results)
        metrics = {self.metric: float(np.nanmean([r['output'] for r in results]))}
        if self.score_input:
            metrics[f'{self.metric}_input'] = float(np.nanmean([r['input'] for r in results]))
        return metrics


@METRICS.register_module(name='FADE')
class FADEMetric(NoReferenceMetric):
    """Fog density (lower = less fog) by the exact FADE port.

    Args:
        fade_dir: folder with the release's two ``.mat`` statistics files (default: the
            environment variable ``MMBILALORA_FADE_DIR``).
    """

    metric = 'FADE'

    def __init__(self, fade_dir: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        self.models = load_fade_models(fade_dir)

    def score(self, image: np.ndarray) -> float:
        return fade(image, self.models)


@METRICS.register_module(name='NIQENoRef')
class NIQEMetric(NoReferenceMetric):
    """NIQE (lower = more natural) with MMagic's implementation and shipped pristine parameters,
    on the grayscale image, without ground truth."""

    metric = 'NIQE'

    def score(self, image: np.ndarray) -> float:
        from mmagic.evaluation.metrics.niqe import niqe
        return float(niqe(image[..., ::-1].copy(), crop_border=0, input_order='HWC',
                          convert_to='gray'))


@METRICS.register_module(name='Entropy')
class EntropyMetric(NoReferenceMetric):
    """Shannon entropy (bits) of the 256-bin grayscale histogram (higher = more detail)."""

    metric = 'Entropy'

    def score(self, image: np.ndarray) -> float:
        gray = np.floor(image.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) + 0.5)
        counts = np.bincount(gray.astype(np.int64).ravel(), minlength=256).astype(np.float64)
        prob = counts[counts > 0] / counts.sum()
        return float(-(prob * np.log2(prob)).sum())


class PyIQAWeightsUnavailable(RuntimeError):
    """A pyiqa metric needs weights that are neither cached nor allowed to download."""


@contextmanager
def _no_downloads(metric_name: str):
    """Make every pyiqa / torch.hub download raise at once with a clear message."""
    import pyiqa.utils.download_util as download_util

    def refuse(url, dst, *args, **kwargs):
        raise PyIQAWeightsUnavailable(
            f'pyiqa metric {metric_name!r} needs weights from {url} that are not cached at '
            f'{dst}. Put the file there (downloaded on a machine with internet) or build the '
            'metric with allow_download=True.')

    saved = (download_util.download_url_to_file, torch.hub.download_url_to_file,
             os.environ.get('HF_HUB_OFFLINE'))
    download_util.download_url_to_file = refuse
    torch.hub.download_url_to_file = refuse
    os.environ['HF_HUB_OFFLINE'] = '1'
    try:
        yield
    finally:
        download_util.download_url_to_file, torch.hub.download_url_to_file = saved[:2]
        if saved[2] is None:
            os.environ.pop('HF_HUB_OFFLINE', None)
        else:
            os.environ['HF_HUB_OFFLINE'] = saved[2]


@METRICS.register_module(name='PyIQAMetric')
class PyIQAMetric(NoReferenceMetric):
    """Any no-reference metric of pyiqa (e.g. ``'piqe'``, ``'brisque'``, ``'musiq'``).

    The pyiqa model is built when the metric is built; without ``allow_download`` a metric
    whose weights are not cached fails there, with the URL and the cache path, instead of
    mid-evaluation. ``piqe`` needs no weights and works offline.

    Args:
        metric_name: a pyiqa no-reference metric name.
        allow_download: let pyiqa download missing weights.
        device: where the pyiqa model runs.
    """

    def __init__(self, metric_name: str, allow_download: bool = False, device: str = 'cpu',
                 **kwargs):
        import pyiqa
        super().__init__(**kwargs)
        if metric_name not in pyiqa.list_models(metric_mode='NR'):
            raise KeyError(f'{metric_name!r} is not a no-reference pyiqa metric; choose from '
                           f'{pyiqa.list_models(metric_mode="NR")}.')
        self.metric = metric_name.upper()
        if allow_download:
            self.model = pyiqa.create_metric(metric_name, device=device)
        else:
            with _no_downloads(metric_name):
                self.model = pyiqa.create_metric(metric_name, device=device)
        self.model_device = device

    def score(self, image: np.ndarray) -> float:
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255).to(self.model_device)
        with torch.no_grad():
            return float(self.model(x).flatten()[0])
