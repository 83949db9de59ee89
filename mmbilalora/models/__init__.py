from . import editors, lora, losses  # noqa: F401
