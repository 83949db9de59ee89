"""DehazeDataPreprocessor: input normalisation and output range stated separately, per channel.

MMagic's ``DataPreprocessor`` maps pixels to network inputs with ``(pixel - mean) / std`` and
network outputs back with the same ``mean`` / ``std``. Some dehazers use different conventions on
the two sides: the authors' DEA-Net reads CLIP-normalised inputs (``mean = 255 * (0.48145466,
0.4578275, 0.40821073)``, ``std = 255 * (0.26862954, 0.26130258, 0.27577711)``) and writes RGB in
[0, 1] (``output_mean = 0``, ``output_std = 255``). This preprocessor carries both; the loss, the
inference API and the tools read them through :func:`pixel_convention`.
"""
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import torch
from mmagic.models.data_preprocessors import DataPreprocessor
from mmagic.registry import MODELS

Numbers = Union[float, Sequence[float]]


def _channels(value: Numbers) -> torch.Tensor:
    values = [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1)


@dataclass(frozen=True)
class PixelConvention:
    """How a network's tensors relate to 8-bit pixels, per channel (tuples of 3 floats or 1).

    ``input = (pixel - input_mean) / input_std``; ``pixel = output * output_std + output_mean``.
    """
    input_mean: Tuple[float, ...]
    input_std: Tuple[float, ...]
    output_mean: Tuple[float, ...]
    output_std: Tuple[float, ...]

    @classmethod
    def symmetric(cls, mean: float, std: float) -> 'PixelConvention':
        """The same ``mean`` / ``std`` for all channels on both sides (MMagic's convention)."""
        return cls((float(mean), ), (float(std), ), (float(mean), ), (float(std), ))

    @staticmethod
    def _range(mean, std) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
        return (tuple((0.0 - m) / s for m, s in zip(mean, std)),
                tuple((255.0 - m) / s for m, s in zip(mean, std)))

    @property
    def input_range(self) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
        """(low, high) network input values of pixels 0 and 255, per channel."""
        return self._range(self.input_mean, self.input_std)

    @property
    def output_range(self) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
        """(low, high) network output values of pixels 0 and 255, per channel."""
        return self._range(self.output_mean, self.output_std)


def pixel_convention(preprocessor) -> PixelConvention:
    """The :class:`PixelConvention` of a built data preprocessor (for MMagic's
    ``DataPreprocessor`` outputs share the input's mean/std; without normalisation mean 0 and
    std 1)."""
    def channels(tensor, default):
        return default if tensor is None else tuple(float(v) for v in tensor.flatten())

    normalised = getattr(preprocessor, '_enable_normalize', False)
    mean = channels(getattr(preprocessor, 'mean', None) if normalised else None, (0.0, ))
    std = channels(getattr(preprocessor, 'std', None) if normalised else None, (1.0, ))
    return PixelConvention(mean, std, channels(getattr(preprocessor, 'output_mean', None), mean),
                           channels(getattr(preprocessor, 'output_std', None), std))


@MODELS.register_module()
class DehazeDataPreprocessor(DataPreprocessor):
    """MMagic's ``DataPreprocessor`` whose network outputs have their own per-channel convention.

    Args:
        mean / std: input normalisation ``(pixel - mean) / std`` (per channel), as in MMagic.
        output_mean / output_std: ``pixel = output * output_std + output_mean`` (default: the
            input's ``mean`` / ``std``, MMagic's convention).
        **kwargs: the other ``DataPreprocessor`` arguments.

    :meth:`destruct` maps network outputs to pixels, :meth:`destruct_input` network inputs;
    ground truth in data samples (``data_keys``) is normalised with the output convention, so a
    supervised loss compares like with like. A batch whose samples lack a data key (real hazy
    photos have no reference) is processed without it, silently: MMagic's preprocessor warns
    "Cannot find key 'gt_img'" for every such batch.
    """

    def __init__(self, mean: Numbers = 127.5, std: Numbers = 127.5,
                 output_mean: Optional[Numbers] = None, output_std: Optional[Numbers] = None,
                 **kwargs):
        if mean is None or std is None:
            raise ValueError('DehazeDataPreprocessor needs mean and std (the input convention).')
        super().__init__(mean=mean, std=std, **kwargs)
        self.register_buffer('output_mean', _channels(mean if output_mean is None
                                                      else output_mean), persistent=False)
        self.register_buffer('output_std', _channels(std if output_std is None else output_std),
                             persistent=False)

    @contextmanager
    def _output_convention(self):
        mean, std = self.mean, self.std
        self.mean, self.std = self.output_mean, self.output_std
        try:
            yield
        finally:
            self.mean, self.std = mean, std

    def _preprocess_data_sample(self, data_samples, training: bool):
        keys = self.data_keys
        if keys:
            self.data_keys = [k for k in keys if all(hasattr(s, k) for s in data_samples)]
        try:
            with self._output_convention():
                return super()._preprocess_data_sample(data_samples, training)
        finally:
            self.data_keys = keys

    def destruct(self, outputs: torch.Tensor, data_samples=None, key: str = 'img'):
        """Network outputs -> pixels in [0, 255] (output convention, padding removed)."""
        with self._output_convention():
            return super().destruct(outputs, data_samples, key)

    def destruct_input(self, inputs: torch.Tensor, data_samples=None, key: str = 'img'):
        """Network inputs -> pixels in [0, 255] (input convention, padding removed)."""
        return super().destruct(inputs, data_samples, key)
