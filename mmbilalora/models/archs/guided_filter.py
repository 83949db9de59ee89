"""Differentiable guided filter (He et al., TPAMI 2013) on image tensors, and as a module."""
import torch
import torch.nn as nn
from mmagic.registry import MODELS


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean of ``x`` (N, C, H, W) over each (2 * radius + 1)^2 window, the window clipped at the
    image border (so the mean is over the pixels inside it); integral image, O(1) per pixel."""
    for dim in (-2, -1):
        size = x.shape[dim]
        idx = torch.arange(size, device=x.device)
        lower, upper = (idx - radius).clamp(min=0), (idx + radius + 1).clamp(max=size)
        cum = torch.cumsum(x, dim=dim)
        cum = torch.cat([torch.zeros_like(cum.narrow(dim, 0, 1)), cum], dim=dim)
        counts = (upper - lower).to(x.dtype)  # pixels inside each clipped window, along dim
        if dim == -2:
            counts = counts[:, None]
        x = (cum.index_select(dim, upper) - cum.index_select(dim, lower)) / counts
    return x


def guided_filter(guide: torch.Tensor, src: torch.Tensor, radius: int,
                  eps: float) -> torch.Tensor:
    """``src`` (N, C, H, W) filtered under the grey ``guide`` (N, 1, H, W): in each window the
    output is the least-squares linear function of the guide that fits ``src`` (regularised by
    ``eps``, in the guide's units squared), averaged over the windows covering a pixel. Structure
    of ``src`` that the guide does not have (blocks, grids) is smoothed away; its edges are kept."""
    mean_i = box_mean(guide, radius)
    mean_p = box_mean(src, radius)
    cov_ip = box_mean(guide * src, radius) - mean_i * mean_p
    var_i = box_mean(guide * guide, radius) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius) * guide + box_mean(b, radius)


@MODELS.register_module()
class GuidedFilter(nn.Module):
    """Maps (N, C, H, W) filtered under the grey (channel mean) of an image (N, C', H, W):
    :func:`guided_filter` as a parameter-free layer.

    :class:`~mmbilalora.models.editors.PriorRefinedDehazer` uses it as its output filter: the
    network's K and B maps follow the edges of the image they act on, so the output's detail is
    that image's and the network cannot add blocks or grids of its own.

    Args:
        radius: window radius (pixels).
        eps: regulariser, in the guide's units squared (a guide in [-1, 1]: edges weaker than
            about ``sqrt(eps)`` are smoothed).
    """

    def __init__(self, radius: int, eps: float):
        super().__init__()
        if radius < 1 or eps <= 0:
            raise ValueError(f'GuidedFilter needs radius >= 1 and eps > 0, got radius={radius}, '
                             f'eps={eps}')
        self.radius, self.eps = radius, eps

    def forward(self, image: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """``maps`` (N, C, H, W) filtered under the grey of ``image`` (N, C', H, W)."""
        return guided_filter(image.mean(dim=1, keepdim=True), maps, self.radius, self.eps)

    def extra_repr(self) -> str:
        return f'radius={self.radius}, eps={self.eps}'
