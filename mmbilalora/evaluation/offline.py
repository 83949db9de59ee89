"""Score images held in memory with registered metrics, the way ``tools/test.py`` does.

Used by the demo and the benchmarks: each image becomes the data sample a test loop would
produce (``output.pred_img``, ``input``, optionally ``gt_img``; (C, H, W) float in [0, 255]),
and every metric processes all samples and computes its means.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmagic.registry import METRICS
from mmengine.evaluator import BaseMetric


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float()


def build_metrics(cfgs: Sequence[dict]) -> List[BaseMetric]:
    """Build metric configs (e.g. ``dict(type='FADE', fade_dir=...)``) from MMagic's METRICS."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmagic')
    return [METRICS.build(dict(cfg)) for cfg in cfgs]


def score_images(metrics: Sequence[BaseMetric], outputs: Sequence[np.ndarray],
                 inputs: Sequence[np.ndarray], references: Optional[Sequence[np.ndarray]] = None,
                 names: Optional[Sequence[str]] = None
                 ) -> Tuple[Dict[str, float], List[Dict[str, float]]]:
    """Means and per-image values of ``metrics`` over (H, W, 3) uint8 RGB images.

    Args:
        metrics: built metrics (their previous results are discarded).
        outputs / inputs: the dehazed images and the network inputs, pairwise of equal size.
        references: clear references for full-reference metrics (PSNR, SSIM), or None.
        names: file names recorded with the per-image values.

    Returns:
        ``({metric: mean}, [{'name': ..., metric: value} per image])``; per-image values come
        from the metrics that keep them (no-reference metrics) and from MMagic's sample-wise
        metrics.
    """
    names = list(names or [str(i) for i in range(len(outputs))])
    samples = []
    for i, (output, image) in enumerate(zip(outputs, inputs)):
        sample = dict(output=dict(pred_img=_chw(output)), input=_chw(image), img_path=names[i])
        if references is not None:
            sample['gt_img'] = _chw(references[i])
        samples.append(sample)
    means: Dict[str, float] = {}
    rows = [dict(name=name) for name in names]
    for metric in metrics:
        metric.results = []
        metric.process(None, samples)
        per_image = list(metric.results)
        means.update({k: float(v) for k, v in metric.compute_metrics(per_image).items()})
        for row, result in zip(rows, per_image):
            if 'output' in result:
                row[metric.metric] = float(result['output'])
            else:
                row.update({k: float(v) for k, v in result.items() if k != 'name'})
    return means, rows
