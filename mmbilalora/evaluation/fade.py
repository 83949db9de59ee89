"""FADE (Fog Aware Density Evaluator; Choi, You & Bovik, TIP 2015), vectorised NumPy port.

Follows the LIVE release (``FADE.m``, ``CE.m``, ``border_in.m``, ``border_out.m``) step by step:
12 fog-aware statistics on distinct 8x8 patches, ``log(1 + f)``, Mahalanobis-like distances of
every patch to the multivariate Gaussian models of fog-free (Df) and foggy (Dff) natural images
(the release's pooled covariance ``(C_model + var_p * J) / 2``, J all-ones), NaN-aware means, and
``D = Df / (Dff + 1)``. Lower is less foggy.

Input handling (documented choices where the release has none): RGB uint8 (H, W, 3) is the native
input; grayscale (H, W) or (H, W, 1) is replicated to 3 channels; an alpha channel is dropped;
16-bit / float images must be converted by the caller (see :func:`to_uint8_rgb`). Images smaller
than one 8x8 patch are rejected.
"""
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np
from scipy.io import loadmat
from scipy.ndimage import correlate1d

PATCH = 8
FADE_DIR_ENV = 'MMBILALORA_FADE_DIR'
FOGFREE_FILE = 'natural_fogfree_image_features_ps8.mat'
FOGGY_FILE = 'natural_foggy_image_features_ps8.mat'
# MATLAB / Octave rgb2gray weights.
GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def load_fade_models(fade_dir: Optional[str] = None) -> Dict[str, np.ndarray]:
    """The fog-free and foggy MVG models: ``mu_fogfree`` (12,), ``cov_fogfree`` (12, 12), ...

    ``fade_dir`` defaults to the environment variable ``MMBILALORA_FADE_DIR``.
    """
    fade_dir = fade_dir or os.environ.get(FADE_DIR_ENV)
    if not fade_dir:
        raise FileNotFoundError(
            f'FADE needs the statistics files {FOGFREE_FILE} and {FOGGY_FILE} of the LIVE FADE '
            f'release (L. K. Choi, J. You, A. C. Bovik, TIP 2015; distributed by the LIVE lab, '
            f'UT Austin, and mirrored in zhenglab/IQA Codes/OriginalVersion/FADE). Pass '
            f'fade_dir=FOLDER or set {FADE_DIR_ENV}=FOLDER.')
    models = {}
    for name, fname in (('fogfree', FOGFREE_FILE), ('foggy', FOGGY_FILE)):
        path = osp.join(fade_dir, fname)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'FADE statistics file missing: {path!r}. Copy {FOGFREE_FILE} and {FOGGY_FILE} '
                f'from the LIVE FADE release into {fade_dir!r} (or point {FADE_DIR_ENV} at them).')
        mat = loadmat(path)
        models[f'mu_{name}'] = np.asarray(mat[f'mu_{name}param'], np.float64).reshape(-1)
        models[f'cov_{name}'] = np.asarray(mat[f'cov_{name}param'], np.float64)
    return models


def to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W[, C]) uint8 -> (H, W, 3) uint8 RGB (gray replicated, alpha dropped)."""
    if image.dtype != np.uint8:
        raise TypeError(f'FADE expects uint8 images, got {image.dtype}; scale 16-bit images with '
                        '(img / 257).round() and float images in [0, 1] with (img * 255).round().')
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f'FADE expects an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, '
                         f'got shape {image.shape}')
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return image[..., :3]


def _patches(x: np.ndarray) -> np.ndarray:
    """(H, W) with H, W multiples of 8 -> (P, 64), patches in column-major (MATLAB) order."""
    h, w = x.shape
    blocks = x.reshape(h // PATCH, PATCH, w // PATCH, PATCH).transpose(2, 0, 3, 1)
    return blocks.reshape(-1, PATCH * PATCH)


def _patch_mean(x: np.ndarray) -> np.ndarray:
    """Mean of every 8x8 patch of (H, W), H, W multiples of 8 -> (P,), in :func:`_patches`'
    order (reduced in place, without the patch copy)."""
    h, w = x.shape
    sums = x.reshape(h // PATCH, PATCH, w // PATCH, PATCH).sum(axis=3).sum(axis=1)
    return sums.T.ravel() / (PATCH * PATCH)


def _nanvar(x: np.ndarray, axis: int) -> np.ndarray:
    """Sample variance ignoring NaN; 0 for one value, NaN for none (MATLAB ``nanvar``)."""
    n = np.sum(~np.isnan(x), axis=axis)
    mean = np.nansum(x, axis=axis) / np.maximum(n, 1)
    dev = np.where(np.isnan(x), 0.0, x - np.expand_dims(mean, axis))
    ss = np.sum(dev * dev, axis=axis)
    with np.errstate(invalid='ignore', divide='ignore'):
        var = np.where(n > 1, ss / np.maximum(n - 1, 1), 0.0)
    return np.where(n == 0, np.nan, var)


def _gaussian_window(size: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    """``fspecial('gaussian', size, sigma)`` normalised as FADE.m does: (size, size)."""
    x = np.arange(size) - (size - 1) / 2
    xx, yy = np.meshgrid(x, x)
    w = np.exp(-(xx**2 + yy**2) / (2 * sigma * sigma))
    w = w / w.ravel(order='F').sum()
    return w / w.sum(axis=0).sum()


def _two_product(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Error-free product: a * b = p + e exactly (Dekker)."""
    p = a * b
    split = 134217729.0  # 2**27 + 1

    def halves(x):
        t = split * x
        hi = t - (t - x)
        return hi, x - hi

    ah, al = halves(a)
    bh, bl = halves(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _fused_multiply_add(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a * b + c with one rounding (as the FMA of an optimised BLAS ``daxpy``)."""
    p, e = _two_product(a, b)
    s = p + c
    bb = s - p
    t = (p - (s - bb)) + (c - bb)
    return s + (t + e)


def _local_mean(gray: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``imfilter(gray, window, 'replicate')`` as the release computes it under GNU Octave.

    Fast path: a separable float filter. In flat regions the sign of ``gray - mu`` (hence of the
    MSCN products behind features f2/f3) is decided by rounding, so pixels where
    ``|gray - mu| < 1e-6`` are recomputed in Octave's order (``convn`` -> ``daxpy`` with fused
    multiply-add: kernel columns, then rows, last to first).
    """
    k = window.shape[0]
    half = k // 2
    factor = np.sqrt(np.diag(window)) / np.sqrt(np.diag(window)).sum()
    mu = correlate1d(correlate1d(gray, factor, axis=0, mode='nearest'), factor, axis=1,
                     mode='nearest')
    rows, cols = np.nonzero(np.abs(gray - mu) < 1e-6)
    if rows.size:
        padded = np.pad(gray, half, mode='edge')
        acc = np.zeros(rows.size)
        for j in range(k - 1, -1, -1):
            for i in range(k - 1, -1, -1):
                acc = _fused_multiply_add(np.full(rows.size, window[i, j]),
                                          padded[rows + i, cols + j], acc)
        mu[rows, cols] = acc
    return mu


def _filter_replicate(x: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``imfilter(x, window, 'replicate')`` for a separable symmetric (k, k) window."""
    factor = np.sqrt(np.diag(window)) / np.sqrt(np.diag(window)).sum()
    return correlate1d(correlate1d(x, factor, axis=0, mode='nearest'), factor, axis=1,
                       mode='nearest')


def _log_filter(sigma: float = 3.25) -> np.ndarray:
    """CE.m's 1-D LoG kernel on x = -3 sigma : 1 : 3 sigma (20 taps for sigma 3.25)."""
    half = 3 * sigma
    x = np.arange(-half, half + 1e-9, 1.0)
    gauss = np.exp(x * x / (-2 * sigma * sigma)) / (np.sqrt(2 * np.pi) * sigma)
    gauss /= gauss.sum()
    gx = (x * x / sigma**4 - 1 / sigma**2) * gauss
    gx -= gx.sum() / x.size
    return gx / np.sum(0.5 * x * x * gx)


_LOG_KERNEL = _log_filter()
_CE_BORDER = 20
_CE_THRESHOLDS = (9.225496406318721e-4 * 255, 8.969246659629488e-4 * 255,
                  2.069284034165411e-4 * 255)


def _contrast_energy(channel: np.ndarray, threshold: float) -> np.ndarray:
    """CE.m for one opponent channel (H, W) -> perceived contrast energy (H, W)."""
    b = _CE_BORDER
    up, down = b // 2, b // 2 - 1
    padded = np.concatenate([channel[:up], channel, channel[-(down + 1):]], axis=0)
    padded = np.concatenate([padded[:, :up], padded, padded[:, -(down + 1):]], axis=1)
    cx = _matlab_conv_same(padded, _LOG_KERNEL, axis=1)
    cy = _matlab_conv_same(padded, _LOG_KERNEL, axis=0)
    c = np.sqrt(cx * cx + cy * cy)[up:-(down + 1), up:-(down + 1)]
    c_max = c.max()
    with np.errstate(invalid='ignore', divide='ignore'):
        r = c * c_max / (c + c_max * 0.1)
    r = r - threshold
    return np.where(r > 1e-7, r, 0.0)


def _matlab_conv_same(x: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """``conv2(x, kernel, 'same')`` along ``axis`` with zero boundary.

    MATLAB's 'same' keeps the full convolution from index floor(n/2) (0-based), n the kernel
    length: out[i] = sum_j k[j] * x[i + floor(n/2) - j], i.e. a correlation with the flipped
    kernel centred at n - 1 - floor(n/2) (scipy's centre is floor(n/2) + origin).
    """
    n = kernel.size
    origin = (n - 1 - n // 2) - n // 2
    return correlate1d(x, kernel[::-1], axis=axis, mode='constant', cval=0.0, origin=origin)


def _patch_entropy(gray_patches: np.ndarray) -> np.ndarray:
    """Shannon entropy (bits) of the 256-bin histogram of each uint8 patch (P, n) -> (P,).

    From the runs of equal values in each sorted patch: H = log2(n) - sum_runs c log2(c) / n.
    """
    p, n = gray_patches.shape
    ordered = np.sort(gray_patches, axis=1)
    starts = np.ones((p, n), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.flatnonzero(starts)
    counts = np.diff(np.append(first, p * n)).astype(np.float64)
    per_patch = np.bincount(first // n, weights=counts * np.log2(counts), minlength=p)
    return np.log2(n) - per_patch / n


def fade_features(image: np.ndarray) -> Tuple[np.ndarray, Tuple[int, int]]:
    """The 12 fog-aware features ``log(1 + f)`` of every 8x8 patch.

    Args:
        image: (H, W, 3) uint8 RGB (see :func:`to_uint8_rgb` for other layouts).

    Returns:
        (P, 12) features in the release's order, and the patch grid (rows, cols).
    """
    image = to_uint8_rgb(image)
    rows, cols = image.shape[0] // PATCH, image.shape[1] // PATCH
    if rows == 0 or cols == 0:
        raise ValueError(f'FADE needs an image of at least {PATCH}x{PATCH} pixels, '
                         f'got {image.shape[0]}x{image.shape[1]}')
    image = image[:rows * PATCH, :cols * PATCH]
    rgb = image.astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    gray = np.floor(rgb @ GRAY_WEIGHTS + 0.5)  # rgb2gray on uint8 rounds to uint8

    vmin, vmax = np.minimum(np.minimum(r, g), b), np.maximum(np.maximum(r, g), b)
    dark = vmin / 255.0
    with np.errstate(invalid='ignore', divide='ignore'):
        saturation = np.where(vmax > 0, (vmax - vmin) / vmax, 0.0)

    window = _gaussian_window()
    mu = _local_mean(gray, window)
    sigma = np.sqrt(np.abs(_filter_replicate(gray * gray, window) - mu * mu))
    mscn = (gray - mu) / (sigma + 1)
    with np.errstate(invalid='ignore', divide='ignore'):
        cv = sigma / mu
    rg = r - g
    by = 0.5 * (r + g) - b

    pair = _patches(mscn * np.roll(mscn, 1, axis=0))
    f1 = _nanvar(_patches(mscn), axis=1)
    f2 = _nanvar(np.where(pair < 0, np.nan, pair), axis=1)  # right (non-negative) products
    f3 = _nanvar(np.where(pair > 0, np.nan, pair), axis=1)  # left (non-positive) products
    f4 = _patch_mean(sigma)
    f5 = _patch_mean(cv)
    ce_gray = _contrast_energy(0.299 * r + 0.587 * g + 0.114 * b, _CE_THRESHOLDS[0])
    ce_by = _contrast_energy(by, _CE_THRESHOLDS[1])
    ce_rg = _contrast_energy(rg, _CE_THRESHOLDS[2])
    f6, f7, f8 = (_patch_mean(c) for c in (ce_gray, ce_by, ce_rg))
    f9 = _patch_entropy(_patches(gray).astype(np.uint8))
    f10 = _patch_mean(dark)
    f11 = _patch_mean(saturation)
    rg_p, by_p = _patches(rg), _patches(by)
    f12 = (np.sqrt(rg_p.var(axis=1, ddof=1) + by_p.var(axis=1, ddof=1))
           + 0.3 * np.sqrt(rg_p.mean(axis=1)**2 + by_p.mean(axis=1)**2))
    feats = np.stack([f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12], axis=1)
    return np.log(1 + feats), (rows, cols)


def _mvg_distance(feats: np.ndarray, patch_var: np.ndarray, mu: np.ndarray,
                  cov: np.ndarray) -> np.ndarray:
    """sqrt(d A^-1 d^T) per patch, d = mu - f_p, A = (cov + var_p * J) / 2; NaN where undefined."""
    d = mu[None, :] - feats
    k = feats.shape[1]
    valid = np.isfinite(d).all(axis=1) & np.isfinite(patch_var)
    out = np.full(feats.shape[0], np.nan)
    if valid.any():
        mats = (cov[None] + patch_var[valid, None, None] * np.ones((1, k, k))) / 2
        sol = np.linalg.solve(mats, d[valid][..., None])[..., 0]
        out[valid] = np.sqrt(np.einsum('pi,pi->p', d[valid], sol))
    return out


def fade(image: np.ndarray, models: Dict[str, np.ndarray],
         return_map: bool = False):
    """Perceptual fog density D of an (H, W, 3) uint8 RGB image (lower = less fog).

    Args:
        models: from :func:`load_fade_models`.
        return_map: also return the (rows, cols) patch density map.
    """
    feats, grid = fade_features(image)
    patch_var = _nanvar(feats, axis=1)
    df = _mvg_distance(feats, patch_var, models['mu_fogfree'], models['cov_fogfree'])
    dff = _mvg_distance(feats, patch_var, models['mu_foggy'], models['cov_foggy'])
    density = np.nanmean(df) / (np.nanmean(dff) + 1)
    if not return_map:
        return float(density)
    dmap = (df / (dff + 1)).reshape(grid[1], grid[0]).T
    return float(density), dmap
