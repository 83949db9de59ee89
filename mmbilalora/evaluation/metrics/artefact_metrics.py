"""Registered metrics of dehazing artefacts (see :mod:`mmbilalora.evaluation.artefacts`).

``ColourCast`` and ``Blockiness`` score one image (the output; with ``score_input=True`` the
input too). ``BrightnessRatio`` and ``MeanAbsChange`` compare the output with the network input,
which MMagic's ``BaseEditModel`` puts into every data sample as ``input``.
"""
from typing import Sequence

import numpy as np
from mmagic.registry import METRICS

from ..artefacts import blockiness, brightness_ratio, colour_cast, mean_abs_change
from .no_reference import NoReferenceMetric, to_uint8_hwc


@METRICS.register_module(name='ColourCast')
class ColourCastMetric(NoReferenceMetric):
    """Chroma of the mean colour in CIELAB (0 = neutral; lower = less cast)."""

    metric = 'ColourCast'

    def score(self, image: np.ndarray) -> float:
        return colour_cast(image)


@METRICS.register_module(name='Blockiness')
class BlockinessMetric(NoReferenceMetric):
    """Extra steps at a network's grid seams in flat regions (grey levels; lower = fewer blocks).

    Args:
        periods: grid periods in pixels, 4 or multiples of 16: DehazeFormer's two patch merges
            leave a 4-pixel grid, its attention windows span 16 and 32 input pixels (see
            :func:`~mmbilalora.evaluation.artefacts.blockiness`). Images smaller than two
            periods (plus the 4-pixel step span) per side score NaN.
    """

    metric = 'Blockiness'

    def __init__(self, periods: Sequence[int] = (4, 16, 32), **kwargs):
        super().__init__(**kwargs)
        self.periods = tuple(periods)

    def score(self, image: np.ndarray) -> float:
        """NaN (left out of the mean) for images too small to hold two grid periods."""
        if min(image.shape[:2]) < 2 * max(self.periods) + 4:
            return float('nan')
        return blockiness(image, self.periods)


class InputRelativeMetric(NoReferenceMetric):
    """A score of the output relative to the network input: ``score_pair(output, input)``."""

    def score_pair(self, output: np.ndarray, input: np.ndarray) -> float:
        raise NotImplementedError

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'input' not in sample:
                raise KeyError(f'{type(self).__name__} needs the network input in the data '
                               'sample (BaseEditModel adds it as "input").')
            output = sample['output']
            pred = output['pred_img'] if isinstance(output, dict) else output.pred_img
            self.results.append(dict(name=self._name_of(sample), output=self.score_pair(
                to_uint8_hwc(pred), to_uint8_hwc(sample['input']))))


@METRICS.register_module(name='BrightnessRatio')
class BrightnessRatioMetric(InputRelativeMetric):
    """Mean luma of the output / mean luma of the input (1 = kept; < 1 = darkened)."""

    metric = 'BrightnessRatio'

    def score_pair(self, output: np.ndarray, input: np.ndarray) -> float:
        return brightness_ratio(output, input)


@METRICS.register_module(name='MeanAbsChange')
class MeanAbsChangeMetric(InputRelativeMetric):
    """Mean absolute difference between output and input (grey levels; 0 = identity)."""

    metric = 'MeanAbsChange'

    def score_pair(self, output: np.ndarray, input: np.ndarray) -> float:
        return mean_abs_change(output, input)
