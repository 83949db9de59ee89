from .artefacts import blockiness, brightness_ratio, colour_cast, mean_abs_change
from .fade import fade, fade_features, load_fade_models, to_uint8_rgb
from .metrics import (BlockinessMetric, BrightnessRatioMetric, ColourCastMetric, EntropyMetric,
                      FADEMetric, MeanAbsChangeMetric, NIQEMetric, NoReferenceMetric)

__all__ = [
    'fade', 'fade_features', 'load_fade_models', 'to_uint8_rgb', 'NoReferenceMetric',
    'FADEMetric', 'NIQEMetric', 'EntropyMetric', 'blockiness', 'brightness_ratio', 'colour_cast',
    'mean_abs_change', 'ColourCastMetric', 'BlockinessMetric', 'BrightnessRatioMetric',
    'MeanAbsChangeMetric'
]
