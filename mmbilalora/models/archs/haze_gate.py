"""How hazy a photo is, per image: the gate that tells a hazy photo from a haze-free one."""
import torch
import torch.nn as nn
from mmagic.registry import MODELS


def dark_median(normalised_dark: torch.Tensor) -> torch.Tensor:
    """(N,) median of each image's airlight-normalised dark channel (N, 1, H, W)."""
    return normalised_dark.flatten(1).median(dim=1).values


@MODELS.register_module()
class HazeStrengthGate(nn.Module):
    """Per-image haze strength in [0, 1] from the median ``m`` of the airlight-normalised dark
    channel (:meth:`DarkChannelPrior.normalised_dark_channel`):
    ``clip((m - low) / (high - low), 0, 1)``.

    The dark channel prior cannot tell a haze-free photo from a hazy one: it removes "haze"
    wherever the dark channel is high (bright, pale surfaces too). A photo whose median is that
    of a typical haze-free photo (``low``) or below gets strength 0, one above ``high`` strength
    1. :class:`~mmbilalora.models.editors.PriorRefinedDehazer` scales the prior's ``omega`` and
    the network's correction by it, so a haze-free photo passes through unchanged. The shipped
    (0.15, 0.55) are the median and the 95th percentile of the haze-free training photos.
    No parameters; image-global (compute it on the whole photo, then pass it to the tiles).

    Args:
        low / high: the medians of no haze and of full haze, ``0 <= low < high <= 1``.
    """

    def __init__(self, low: float = 0.15, high: float = 0.55):
        super().__init__()
        if not 0 <= low < high <= 1:
            raise ValueError(f'HazeStrengthGate needs 0 <= low < high <= 1, got low={low}, '
                             f'high={high}')
        self.low, self.high = low, high

    @torch.no_grad()
    def forward(self, normalised_dark: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) airlight-normalised dark channel -> (N, 1, 1, 1) strength."""
        median = dark_median(normalised_dark)
        return ((median - self.low) / (self.high - self.low)).clamp(0, 1).view(-1, 1, 1, 1)

    def extra_repr(self) -> str:
        return f'low={self.low}, high={self.high}'
