from . import data_preprocessors, editors, lora, losses  # noqa: F401
