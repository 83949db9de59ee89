"""mmbilalora: BiLaLoRA real-image dehazing as an MMagic plugin.

Importing the package (or ``custom_imports=dict(imports=['mmbilalora'])`` in a config) applies the
stack compatibility fixes and registers every model, loss, transform, dataset, metric, hook and
optim wrapper into MMagic's registries.
"""
from . import compat  # noqa: F401  (first: the fixes must precede mmagic imports elsewhere)
from . import apis, datasets, engine, evaluation, models  # noqa: F401

__version__ = '0.1.0'
