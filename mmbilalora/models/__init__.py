from . import archs, data_preprocessors, editors, guidance, lora, losses  # noqa: F401
