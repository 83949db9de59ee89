from .fade import fade, fade_features, load_fade_models, to_uint8_rgb
from .metrics import EntropyMetric, FADEMetric, NIQEMetric, NoReferenceMetric

__all__ = [
    'fade', 'fade_features', 'load_fade_models', 'to_uint8_rgb', 'NoReferenceMetric',
    'FADEMetric', 'NIQEMetric', 'EntropyMetric'
]
