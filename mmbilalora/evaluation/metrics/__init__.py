from .artefact_metrics import (BlockinessMetric, BrightnessRatioMetric, ColourCastMetric,
                               InputRelativeMetric, MeanAbsChangeMetric)
from .no_reference import (EntropyMetric, FADEMetric, NIQEMetric, NoReferenceMetric, PyIQAMetric,
                           PyIQAWeightsUnavailable)

__all__ = [
    'NoReferenceMetric', 'FADEMetric', 'NIQEMetric', 'EntropyMetric', 'PyIQAMetric',
    'PyIQAWeightsUnavailable', 'InputRelativeMetric', 'ColourCastMetric', 'BlockinessMetric',
    'BrightnessRatioMetric', 'MeanAbsChangeMetric'
]
