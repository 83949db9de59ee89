from .no_reference import (EntropyMetric, FADEMetric, NIQEMetric, NoReferenceMetric, PyIQAMetric,
                           PyIQAWeightsUnavailable)

__all__ = [
    'NoReferenceMetric', 'FADEMetric', 'NIQEMetric', 'EntropyMetric', 'PyIQAMetric',
    'PyIQAWeightsUnavailable'
]
