"""Image quality and rate metrics: MSE, PSNR, SSIM, MS-SSIM and bits per pixel.

All functions take a *reference* image and a *test* image of the same shape,
either grayscale ``(h, w)`` or multi-channel ``(h, w, c)`` with the channels on
the last axis.  Computation is done in ``float64``.

``data_range`` (the span of the pixel values, ``MAX`` in the PSNR formula)
defaults from the dtype of the *reference* image: ``uint8`` -> 255,
``uint16`` -> 65535 and in general ``iinfo.max - iinfo.min`` for integer
dtypes.  Floating-point references have no natural range, so ``data_range``
must then be given explicitly.

References
----------
.. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality
   assessment: from error visibility to structural similarity", IEEE Trans.
   Image Processing 13(4), 600-612, 2004.
.. [2] Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural
   similarity for image quality assessment", Proc. 37th Asilomar Conf. on
   Signals, Systems and Computers, 2003.  Reference MATLAB code ``msssim.m``
   and the ``pytorch_msssim`` package follow the same recipe.
.. [3] J. Begaint et al., "CompressAI: a PyTorch library and evaluation
   platform for end-to-end compression research", 2020 (``psnr-rgb``: one
   MSE over all three colour channels).
"""

from __future__ import annotations

import math
from typing import Sequence, Union

import numpy as np

from .errors import InvalidArgumentError

__all__ = ["mse", "psnr", "ssim", "ms_ssim", "bpp", "MS_SSIM_WEIGHTS"]

#: Per-scale exponents of MS-SSIM, finest scale first (Wang et al. 2003 [2]).
MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

_WIN_SIZE = 11
_WIN_SIGMA = 1.5
_K1 = 0.01
_K2 = 0.03

BytesLike = Union[bytes, bytearray, memoryview]


# --------------------------------------------------------------------------- #
# argument handling
# --------------------------------------------------------------------------- #
def _as_pair(reference, test) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference)
    tst = np.asarray(test)
    for name, arr in (("reference", ref), ("test", tst)):
        if arr.ndim not in (2, 3):
            raise InvalidArgumentError(
                f"{name}: expected an image of shape (h, w) or (h, w, c), got shape {arr.shape}"
            )
        if arr.size == 0:
            raise InvalidArgumentError(f"{name}: image is empty (shape {arr.shape})")
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise InvalidArgumentError(
                f"{name}: dtype must be an integer or floating-point type, got {arr.dtype}"
            )
    if ref.shape != tst.shape:
        raise InvalidArgumentError(
            f"test: shape {tst.shape} differs from the shape of reference {ref.shape}"
        )
    return ref, tst


def _data_range(ref: np.ndarray, data_range: float | None) -> float:
    if data_range is None:
        if np.issubdtype(ref.dtype, np.integer):
            info = np.iinfo(ref.dtype)
            return float(info.max) - float(info.min)
        raise InvalidArgumentError(
            f"data_range: required for floating-point reference images (dtype {ref.dtype}); "
            "pass e.g. data_range=1.0 or data_range=255.0"
        )
    try:
        value = float(data_range)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"data_range: must be a positive finite number, got {data_range!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"data_range: must be a positive finite number, got {data_range!r}")
    return value


# --------------------------------------------------------------------------- #
# MSE / PSNR
# --------------------------------------------------------------------------- #
def mse(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean squared error over all pixels and channels.

    Parameters
    ----------
    reference, test : ndarray
        Images of identical shape ``(h, w)`` or ``(h, w, c)``.

    Returns
    -------
    float
        ``mean((reference - test) ** 2)`` computed in float64.
    """
    ref, tst = _as_pair(reference, test)
    diff = ref.astype(np.float64) - tst.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(reference: np.ndarray, test: np.ndarray, *, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range**2 / MSE)``.

    The MSE is taken over all pixels *and channels together*: for an RGB image
    this is the "PSNR over RGB" of CompressAI's ``psnr-rgb`` [3]_, not the mean
    of per-channel PSNRs.

    Parameters
    ----------
    reference, test : ndarray
        Images of identical shape ``(h, w)`` or ``(h, w, c)``.
    data_range : float, optional
        Peak value span.  Defaults from the reference dtype (uint8 -> 255,
        uint16 -> 65535); required for floating-point references.

    Returns
    -------
    float
        PSNR in dB; ``inf`` when the images are identical.
    """
    ref, tst = _as_pair(reference, test)
    peak = _data_range(ref, data_range)
    err = mse(ref, tst)
    if err == 0.0:
        return math.inf
    return float(10.0 * math.log10(peak * peak / err))


# --------------------------------------------------------------------------- #
# SSIM
# --------------------------------------------------------------------------- #
def _small_window_ssim(ref: np.ndarray, tst: np.ndarray, peak: float) -> float:
    """skimage SSIM with a uniform odd window that fits the image (< 11 px side)."""
    from skimage.metrics import structural_similarity

    side = min(ref.shape[0], ref.shape[1])
    win = side if side % 2 == 1 else side - 1
    value = structural_similarity(
        ref.astype(np.float64),
        tst.astype(np.float64),
        win_size=win,
        data_range=peak,
        channel_axis=-1 if ref.ndim == 3 else None,
        gaussian_weights=False,
        use_sample_covariance=False,
        K1=_K1,
        K2=_K2,
    )
    return float(value)


def ssim(reference: np.ndarray, test: np.ndarray, *, data_range: float | None = None) -> float:
    """Structural similarity index (Wang et al. 2004 [1]_), via scikit-image.

    Uses :func:`skimage.metrics.structural_similarity` with the settings of the
    original paper: Gaussian window (11 taps, sigma 1.5), population
    covariance, K1 = 0.01, K2 = 0.03.  Colour images are handled with
    ``channel_axis=-1`` (mean of the per-channel SSIMs).  Images whose smaller
    side is below 11 pixels use a uniform window of the largest odd size that
    fits.

    Parameters
    ----------
    reference, test : ndarray
        Images of identical shape ``(h, w)`` or ``(h, w, c)``.
    data_range : float, optional
        Defaults from the reference dtype; required for floating-point images.

    Returns
    -------
    float
        Mean SSIM, at most 1 (1 for identical images).
    """
    from skimage.metrics import structural_similarity

    ref, tst = _as_pair(reference, test)
    peak = _data_range(ref, data_range)
    if min(ref.shape[0], ref.shape[1]) < _WIN_SIZE:
        return _small_window_ssim(ref, tst, peak)
    value = structural_similarity(
        ref.astype(np.float64),
        tst.astype(np.float64),
        data_range=peak,
        channel_axis=-1 if ref.ndim == 3 else None,
        gaussian_weights=True,
        sigma=_WIN_SIGMA,
        use_sample_covariance=False,
        K1=_K1,
        K2=_K2,
    )
    return float(value)


# --------------------------------------------------------------------------- #
# MS-SSIM
# --------------------------------------------------------------------------- #
def _gaussian_window(size: int = _WIN_SIZE, sigma: float = _WIN_SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


_GAUSS = _gaussian_window()


def _filter_valid(img: np.ndarray) -> np.ndarray:
    """Separable Gaussian filtering of a 2-D array, 'valid' part only (no padding)."""
    r = _WIN_SIZE // 2
    from scipy import ndimage  # imported on use, not with wavecodec

    out = ndimage.correlate1d(img, _GAUSS, axis=0, mode="constant")[r:-r]
    out = ndimage.correlate1d(out, _GAUSS, axis=1, mode="constant")
    return out[:, r:-r]


def _ssim_cs(x: np.ndarray, y: np.ndarray, c1: float, c2: float) -> tuple[float, float]:
    """Mean SSIM and mean contrast-structure term of two 2-D float64 images."""
    mu_x = _filter_valid(x)
    mu_y = _filter_valid(y)
    mu_xx = mu_x * mu_x
    mu_yy = mu_y * mu_y
    mu_xy = mu_x * mu_y
    sigma_x = _filter_valid(x * x) - mu_xx
    sigma_y = _filter_valid(y * y) - mu_yy
    sigma_xy = _filter_valid(x * y) - mu_xy
    cs_map = (2.0 * sigma_xy + c2) / (sigma_x + sigma_y + c2)
    lum_map = (2.0 * mu_xy + c1) / (mu_xx + mu_yy + c1)
    return float(np.mean(lum_map * cs_map)), float(np.mean(cs_map))


def _downsample(x: np.ndarray) -> np.ndarray:
    """2x2 average pooling; odd sides are first extended by repeating the last row/column."""
    h, w = x.shape
    if h % 2 or w % 2:
        x = np.pad(x, ((0, h % 2), (0, w % 2)), mode="edge")
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def _ms_ssim_2d(x: np.ndarray, y: np.ndarray, weights: np.ndarray, c1: float, c2: float) -> float:
    values = np.empty(len(weights))
    for s in range(len(weights)):
        ssim_s, cs_s = _ssim_cs(x, y, c1, c2)
        if s < len(weights) - 1:
            values[s] = cs_s
            x = _downsample(x)
            y = _downsample(y)
        else:
            values[s] = ssim_s
    np.maximum(values, 0.0, out=values)
    return float(np.prod(values**weights))


def _num_scales(h: int, w: int, max_scales: int) -> int:
    scales = 0
    while scales < max_scales and min(h, w) >= _WIN_SIZE:
        scales += 1
        h, w = (h + 1) // 2, (w + 1) // 2
    return scales


def ms_ssim(reference: np.ndarray, test: np.ndarray, *, data_range: float | None = None) -> float:
    """Multi-scale structural similarity (Wang, Simoncelli, Bovik 2003 [2]_).

    Five scales with exponents ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``;
    at every scale the images are filtered with an 11-tap Gaussian window
    (sigma 1.5, 'valid' filtering, no padding), K1 = 0.01, K2 = 0.03.  The
    contrast-structure term ``cs`` is used at scales 1-4 and
    ``luminance * cs`` (plain SSIM) at scale 5; between scales the images are
    2x2 average-pooled (as the reference MATLAB code and ``pytorch_msssim``).
    Odd sides are extended by one repeated row/column before pooling
    (MATLAB's 'symmetric' boundary).

    Notes
    -----
    * Negative per-scale ``cs`` (and final-scale SSIM) values are clipped to
      0 before exponentiation, as ``pytorch_msssim`` does, so the result is in
      ``[0, 1]`` and a fractional power of a negative number never occurs.
    * Colour images ``(h, w, c)``: MS-SSIM is computed per channel and the
      channel values are averaged (what ``pytorch_msssim`` does for RGB).
    * Images too small for five scales (the smaller side must exceed
      ``(11 - 1) * 2**4 = 160`` pixels) use as many scales as fit (the
      coarsest scale must still be at least 11 pixels) and the exponents of
      those scales renormalised to sum to 1; a single scale is Gaussian SSIM.
    * Images whose smaller side is below 11 pixels fall back to
      scikit-image's SSIM with a uniform window of the largest odd size that
      fits (clipped to ``[0, 1]``).

    Parameters
    ----------
    reference, test : ndarray
        Images of identical shape ``(h, w)`` or ``(h, w, c)``.
    data_range : float, optional
        Defaults from the reference dtype; required for floating-point images.

    Returns
    -------
    float
        MS-SSIM in ``[0, 1]``; 1 for identical images.
    """
    ref, tst = _as_pair(reference, test)
    peak = _data_range(ref, data_range)
    h, w = ref.shape[:2]
    scales = _num_scales(h, w, len(MS_SSIM_WEIGHTS))
    if scales == 0:
        return min(1.0, max(0.0, _small_window_ssim(ref, tst, peak)))

    weights = np.asarray(MS_SSIM_WEIGHTS[:scales], dtype=np.float64)
    weights /= weights.sum()
    c1 = (_K1 * peak) ** 2
    c2 = (_K2 * peak) ** 2

    ref = ref.reshape(h, w, -1)
    tst = tst.reshape(h, w, -1)
    per_channel = [
        _ms_ssim_2d(
            ref[:, :, c].astype(np.float64), tst[:, :, c].astype(np.float64), weights, c1, c2
        )
        for c in range(ref.shape[2])
    ]
    return float(min(1.0, np.mean(per_channel)))


# --------------------------------------------------------------------------- #
# rate
# --------------------------------------------------------------------------- #
def _iterable(x) -> tuple:
    """``tuple(x)``, or ``(None,)`` when ``x`` is not iterable (which then fails the int check)."""
    try:
        return tuple(x)
    except TypeError:
        return (None,)


def bpp(data_or_nbytes: BytesLike | int, shape: Sequence[int] | np.ndarray) -> float:
    """Bits per pixel: ``total bytes * 8 / (height * width)``.

    The rate is per *pixel*, not per channel sample: a colour stream of N bytes
    for an ``(h, w, 3)`` image has ``8 N / (h w)`` bpp.

    Parameters
    ----------
    data_or_nbytes : bytes-like or int
        The compressed stream (its length is used) or its size in bytes.
    shape : sequence of int or ndarray
        Image shape ``(h, w)`` or ``(h, w, c)``; an ndarray's ``.shape`` is used.

    Returns
    -------
    float
        Bits per pixel.
    """
    if isinstance(data_or_nbytes, (bool, np.bool_)):
        raise InvalidArgumentError("data_or_nbytes: expected a bytes-like object or an int, got a bool")
    if isinstance(data_or_nbytes, (int, np.integer)):
        nbytes = int(data_or_nbytes)
    elif isinstance(data_or_nbytes, (bytes, bytearray, memoryview)):
        nbytes = memoryview(data_or_nbytes).nbytes
    elif isinstance(data_or_nbytes, np.ndarray):
        nbytes = int(data_or_nbytes.nbytes)
    else:
        raise InvalidArgumentError(
            f"data_or_nbytes: expected a bytes-like object or an int, got {type(data_or_nbytes).__name__}"
        )
    if nbytes < 0:
        raise InvalidArgumentError(f"data_or_nbytes: byte count must be >= 0, got {nbytes}")
    if isinstance(shape, np.ndarray):
        shape = shape.shape
    if isinstance(shape, (str, bytes)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) for d in _iterable(shape)):
        raise InvalidArgumentError(f"shape: expected (h, w) or (h, w, c) of ints, got {shape!r}")
    dims = tuple(int(d) for d in shape)
    if len(dims) not in (2, 3) or dims[0] <= 0 or dims[1] <= 0:
        raise InvalidArgumentError(f"shape: expected (h, w) or (h, w, c) with h, w > 0, got {shape!r}")
    return nbytes * 8.0 / (dims[0] * dims[1])
