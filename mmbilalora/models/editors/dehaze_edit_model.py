"""DehazeEditModel: MMagic's BaseEditModel for networks whose inputs and outputs follow
different pixel conventions (see ``DehazeDataPreprocessor``), with optional test-time resizing."""
from typing import List, Optional

import torch
from mmagic.models.base_models import BaseEditModel
from mmagic.registry import MODELS
from mmagic.structures import DataSample

from ..utils import resize_bicubic, resize_to_multiple


@MODELS.register_module()
class DehazeEditModel(BaseEditModel):
    """``BaseEditModel`` whose test outputs map network inputs back to pixels with the input
    convention (``data_preprocessor.destruct_input``) and outputs with the output convention
    (``destruct``); with MMagic's ``DataPreprocessor`` it behaves exactly as ``BaseEditModel``.

    ``test_cfg=dict(resize_multiple=N)`` resizes each input to a multiple of N and the output back
    outside training (bicubic, antialiased: the authors' test-time sizing for N = 16).
    """

    def forward_tensor(self, inputs: torch.Tensor, data_samples=None, **kwargs) -> torch.Tensor:
        multiple = 0 if self.training else (self.test_cfg or {}).get('resize_multiple', 0)
        if not multiple:
            return super().forward_tensor(inputs, data_samples, **kwargs)
        size = inputs.shape[-2:]
        outputs = self.generator(resize_to_multiple(inputs, multiple), **kwargs)
        return resize_bicubic(outputs, size)

    def convert_to_datasample(self, predictions: DataSample, data_samples: DataSample,
                              inputs: Optional[torch.Tensor]) -> List[DataSample]:
        destruct_input = getattr(self.data_preprocessor, 'destruct_input', None)
        if inputs is not None and destruct_input is not None:
            data_samples.set_tensor_data({'input': destruct_input(inputs, data_samples, 'img')})
            inputs = None
        return super().convert_to_datasample(predictions, data_samples, inputs)
