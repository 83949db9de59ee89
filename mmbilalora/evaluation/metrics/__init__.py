from .no_reference import EntropyMetric, FADEMetric, NIQEMetric, NoReferenceMetric

__all__ = ['NoReferenceMetric', 'FADEMetric', 'NIQEMetric', 'EntropyMetric']
