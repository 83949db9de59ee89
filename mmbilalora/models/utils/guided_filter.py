"""Differentiable guided filter (He et al., TPAMI 2013) on image tensors."""
import torch


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
