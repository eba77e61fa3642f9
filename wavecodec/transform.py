"""Discrete wavelet transforms and colour transforms used by the wavecodec codecs.

Wavelets
--------
* ``"cdf97"``: CDF 9/7 irreversible lifting of JPEG 2000 Part 1 (Annex F.4.8.2,
  Table F.4), whole-sample symmetric extension (Annex F.3.7), **L2-normalised**:
  low-pass DC gain and high-pass Nyquist gain are both ``sqrt(2)`` per 1-D step
  (JPEG 2000 uses 1 and 2), so the transform is near-orthonormal and a squared
  error on any coefficient maps to about the same squared error on the pixels.
  float64.
* ``"legall53"``: LeGall 5/3 reversible integer lifting of JPEG 2000 Part 1
  (Annex F.4.8.1), whole-sample symmetric extension, no normalisation
  (JPEG 2000 gains: low-pass DC gain 1, high-pass Nyquist gain 2), int32,
  bit-exact inverse.
* any PyWavelets discrete wavelet (``pywt.wavelist(kind="discrete")``, e.g.
  ``"bior4.4"``, ``"db4"``, ``"haar"``, ``"sym8"``) through ``pywt.wavedec2`` /
  ``pywt.waverec2`` with ``mode="periodization"``.  float64.

For the lifting wavelets a level splits ``n`` samples into ``ceil(n/2)`` low-pass
and ``floor(n/2)`` high-pass samples (a size-1 dimension is not split); for the
PyWavelets wavelets every band of a level has ``ceil(n/2)`` samples per axis.

Tree layout
-----------
:func:`forward` returns the coefficients in a zero-padded dyadic "tree layout" of
shape :func:`padded_shape` in which the parent ``(i, j)`` of a band at level
``k+1`` has its children at ``(2i..2i+1, 2j..2j+1)`` in the same-orientation band of
level ``k``, for any image size.  For level ``k`` the slot size is
``(sh, sw) = (hp >> k, wp >> k)``; the bands sit at:

* ``LL`` (last level ``L`` only): rows ``[0, h_L)``, cols ``[0, w_L)``
* ``HL`` (low rows, high cols; top right): rows ``[0, nlow_rows)``,
  cols ``[sw, sw + nhigh_cols)``
* ``LH`` (high rows, low cols; bottom left): rows ``[sh, sh + nhigh_rows)``,
  cols ``[0, nlow_cols)``
* ``HH``: rows ``[sh, sh + nhigh_rows)``, cols ``[sw, sw + nhigh_cols)``

Everything else is exactly 0.  :func:`band_layout` lists the bands.

Colour
------
:func:`ict_forward` / :func:`ict_inverse` (irreversible, float) and
:func:`rct_forward` / :func:`rct_inverse` (reversible, integer) implement JPEG 2000
Part 1 Annex G.
"""

from __future__ import annotations

import functools
import operator
import warnings
from typing import NamedTuple

import numpy as np

from ._kernels import transform as _k
from .errors import InvalidArgumentError

__all__ = [
    "LIFTING_WAVELETS",
    "MAX_LEVELS",
    "Band",
    "wavelet_names",
    "check_wavelet",
    "is_reversible",
    "max_levels",
    "default_levels",
    "check_levels",
    "padded_shape",
    "band_sizes",
    "band_layout",
    "forward",
    "inverse",
    "lowpass_gain",
    "reduced_shape",
    "block_mean",
    "forward_compact",
    "inverse_compact",
    "ict_forward",
    "ict_inverse",
    "ict_synthesis_gains",
    "synthesis_gains_1d",
    "synthesis_weights",
    "synthesis_weight_table",
    "level_ranges",
    "rct_forward",
    "rct_inverse",
]

#: Wavelets implemented by wavecodec's own lifting kernels.
LIFTING_WAVELETS: tuple[str, ...] = ("cdf97", "legall53")
#: Hard upper bound on the number of decomposition levels.
MAX_LEVELS = 12

_PYWT_NAMES: frozenset[str] | None = None


def _pywt():
    import pywt

    return pywt


def wavelet_names() -> tuple[str, ...]:
    """All accepted wavelet names: ``"cdf97"``, ``"legall53"``, then PyWavelets' discrete ones."""
    global _PYWT_NAMES
    if _PYWT_NAMES is None:
        _PYWT_NAMES = frozenset(_pywt().wavelist(kind="discrete"))
    return LIFTING_WAVELETS + tuple(sorted(_PYWT_NAMES))


def check_wavelet(wavelet: str) -> str:
    """Return ``wavelet`` if it names a supported wavelet, else raise :class:`InvalidArgumentError`."""
    if isinstance(wavelet, str):
        if wavelet in LIFTING_WAVELETS:
            return wavelet
        wavelet_names()  # fills _PYWT_NAMES
        assert _PYWT_NAMES is not None
        if wavelet in _PYWT_NAMES:
            return wavelet
    raise InvalidArgumentError(
        f"wavelet must be 'cdf97', 'legall53' or a PyWavelets discrete wavelet name "
        f"(see pywt.wavelist(kind='discrete'), e.g. 'bior4.4', 'db4', 'haar'); got {wavelet!r}"
    )


def is_reversible(wavelet: str) -> bool:
    """True for the integer (lossless-capable) wavelet ``"legall53"``."""
    return check_wavelet(wavelet) == "legall53"


def _check_size(height: int, width: int) -> tuple[int, int]:
    for name, v in (("height", height), ("width", width)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InvalidArgumentError(f"{name} must be a positive integer; got {v!r}")
    return int(height), int(width)


def max_levels(height: int, width: int) -> int:
    """Largest accepted number of decomposition levels for a ``height`` x ``width`` image.

    ``min(12, max(height, width).bit_length())``, i.e. ``floor(log2(max(h, w))) + 1``:
    enough levels to shrink the low-pass band to 1x1 (``ceil(log2(max(h, w)))``),
    plus at most one redundant level (which is an identity for the lifting
    wavelets).  Levels beyond that would only pad the tree layout further.
    """
    h, w = _check_size(height, width)
    return min(MAX_LEVELS, max(h, w).bit_length())


def default_levels(height: int, width: int, max_levels: int = 6) -> int:
    """Default number of levels: ``clip(floor(log2(min(h, w))) - 3, 0, max_levels)``.

    768x512 -> 6, 64x64 -> 3, 8x8 -> 0, 1x1 -> 0.
    """
    h, w = _check_size(height, width)
    if isinstance(max_levels, bool) or not isinstance(max_levels, (int, np.integer)) or max_levels < 0:
        raise InvalidArgumentError(f"max_levels must be a non-negative integer; got {max_levels!r}")
    return int(min(max(min(h, w).bit_length() - 1 - 3, 0), max_levels))


def check_levels(levels: int, height: int, width: int) -> int:
    """Validate ``levels`` for an image size: an int with ``0 <= levels <= max_levels(h, w)``."""
    upper = max_levels(height, width)
    if (
        isinstance(levels, (bool, np.bool_))
        or not isinstance(levels, (int, np.integer))
        or not 0 <= levels <= upper
    ):
        raise InvalidArgumentError(
            f"levels must be an integer in [0, {upper}] for a {height}x{width} image "
            f"(at most {MAX_LEVELS}, and at most floor(log2(max(height, width))) + 1); got {levels!r}"
        )
    return int(levels)


def _resolve_levels(levels: int | None, height: int, width: int) -> int:
    if levels is None:
        return default_levels(height, width)
    return check_levels(levels, height, width)


def padded_shape(height: int, width: int, levels: int) -> tuple[int, int]:
    """Shape ``(hp, wp)`` of the tree layout: each size rounded up to a multiple of ``2**(levels+1)``.

    The extra factor 2 makes the coarsest LL slot even-sized, as SPIHT's 2x2 root
    grouping needs.
    """
    h, w = _check_size(height, width)
    levels = check_levels(levels, h, w)
    m = 1 << (levels + 1)
    return (-(-h // m) * m, -(-w // m) * m)


def band_sizes(n: int, levels: int, wavelet: str) -> list[tuple[int, int]]:
    """Per-level ``(nlow, nhigh)`` along one axis of ``n`` samples, levels 1..``levels``.

    Lifting wavelets: ``(ceil(m/2), floor(m/2))`` with ``m`` the previous low size
    (``m == 1`` gives ``(1, 0)``); PyWavelets (periodization): ``(ceil(m/2), ceil(m/2))``.
    """
    lifting = check_wavelet(wavelet) in LIFTING_WAVELETS
    out = []
    m = int(n)
    for _ in range(levels):
        lo = (m + 1) // 2
        hi = m // 2 if lifting else lo
        out.append((lo, hi))
        m = lo
    return out


class Band(NamedTuple):
    """Where one subband sits in the tree layout (``row0:row0+nrows, col0:col0+ncols``)."""

    level: int
    orientation: str  # "LL", "HL" (low rows, high cols), "LH" (high rows, low cols), "HH"
    row0: int
    col0: int
    nrows: int
    ncols: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices selecting the band in the tree-layout array."""
        return (slice(self.row0, self.row0 + self.nrows), slice(self.col0, self.col0 + self.ncols))


def band_layout(height: int, width: int, levels: int, wavelet: str = "cdf97") -> list[Band]:
    """Bands of the tree layout, coarse to fine: ``LL_L, HL_L, LH_L, HH_L, HL_{L-1}, ..., HH_1``.

    ``levels == 0`` gives the single band ``Band(0, "LL", 0, 0, height, width)``.
    Bands may be empty (``nrows == 0`` or ``ncols == 0``) when a dimension has
    shrunk to 1 before the last level (lifting wavelets only).
    """
    h, w = _check_size(height, width)
    wavelet = check_wavelet(wavelet)
    levels = check_levels(levels, h, w)
    hp, wp = padded_shape(h, w, levels)
    rows = band_sizes(h, levels, wavelet)
    cols = band_sizes(w, levels, wavelet)
    hl = rows[-1][0] if levels else h
    wl = cols[-1][0] if levels else w
    out = [Band(levels, "LL", 0, 0, hl, wl)]
    for k in range(levels, 0, -1):
        sh, sw = hp >> k, wp >> k
        rlo, rhi = rows[k - 1]
        clo, chi = cols[k - 1]
        out.append(Band(k, "HL", 0, sw, rlo, chi))
        out.append(Band(k, "LH", sh, 0, rhi, clo))
        out.append(Band(k, "HH", sh, sw, rhi, chi))
    return out


# ---------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------


def _as_plane(plane, name: str = "plane") -> np.ndarray:
    a = np.asarray(plane)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InvalidArgumentError(f"{name} must be a non-empty 2-D array (height, width); got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating) or a.dtype == np.bool_):
        raise InvalidArgumentError(f"{name} must have an integer or floating dtype; got {a.dtype}")
    return a


def _check_finite(a: np.ndarray, name: str) -> None:
    if not np.issubdtype(a.dtype, np.floating):
        return
    flat = a.reshape(-1) if a.flags.c_contiguous else a.ravel()
    for start in range(0, flat.size, 1 << 18):  # by blocks: no image-sized boolean temporary
        if not np.isfinite(flat[start : start + (1 << 18)]).all():
            raise InvalidArgumentError(f"{name} must contain only finite values (no NaN or inf)")


def _as_int32(a: np.ndarray, name: str, limit: int | None = None) -> np.ndarray:
    """Convert an integer-valued array to C-contiguous int32, checking ``|a| <= limit``.

    ``limit=None`` only checks that the values fit int32.
    """
    lo, hi = (-(2**31), 2**31 - 1) if limit is None else (-limit, limit)
    if np.issubdtype(a.dtype, np.floating):
        _check_finite(a, name)
        if not np.array_equal(a, np.round(a)):
            raise InvalidArgumentError(f"{name} must be integer-valued (use an integer dtype)")
    narrow = a.dtype == np.bool_ or (
        np.issubdtype(a.dtype, np.integer) and lo <= np.iinfo(a.dtype).min and np.iinfo(a.dtype).max <= hi
    )
    if not narrow and (a.max() > hi or a.min() < lo):
        raise InvalidArgumentError(
            f"{name} values must lie in [{lo}, {hi}] so that the transform fits int32; "
            f"got range [{a.min()}, {a.max()}]"
        )
    return np.ascontiguousarray(a, dtype=np.int32)


def _legall53_input_limit(levels: int) -> int:
    # The 5/3 analysis low-pass filter has L1 norm 1.5, the high-pass 2: over L 2-D
    # levels |coefficient| <= |x| * 1.5**(2L) * 4 (< 2**31 needed, with margin).
    return int(2**30 / (4 * 1.5 ** (2 * levels)))


# ---------------------------------------------------------------------------------
# Compact (Mallat) transforms
# ---------------------------------------------------------------------------------


def forward_compact(plane, *, wavelet: str = "cdf97", levels: int | None = None,
                    overwrite_input: bool = False) -> np.ndarray:
    """Forward transform in the compact Mallat layout (same shape as ``plane``; lifting wavelets only).

    Level ``k`` transforms the top-left ``(h_{k-1}, w_{k-1})`` region, rows then
    columns; the low band comes first along each axis.  ``overwrite_input=True``
    transforms ``plane`` in place when it already is a C-contiguous, writable array
    of the transform's dtype (float64 for ``"cdf97"``, int32 for ``"legall53"``).
    """
    a = _as_plane(plane)
    wavelet = check_wavelet(wavelet)
    if wavelet not in LIFTING_WAVELETS:
        raise InvalidArgumentError(
            f"forward_compact supports only wavelet 'cdf97' or 'legall53'; got {wavelet!r} (use forward)"
        )
    h, w = a.shape
    levels = _resolve_levels(levels, h, w)
    if wavelet == "legall53":
        x = _as_int32(a, "plane", _legall53_input_limit(levels))
        if not (overwrite_input and x is a and a.flags.writeable) and (x is a or np.shares_memory(x, a)):
            x = x.copy()
        _k.legall53_forward_2d(x, levels)
    else:
        if overwrite_input and a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable:
            x = a
        else:
            x = np.array(a, dtype=np.float64, order="C", copy=True)
        _check_finite(x, "plane")
        _k.cdf97_forward_2d(x, levels)
    return x


def inverse_compact(coeffs, *, wavelet: str = "cdf97", levels: int | None = None) -> np.ndarray:
    """Inverse of :func:`forward_compact` (returns a new array)."""
    a = _as_plane(coeffs, "coeffs")
    wavelet = check_wavelet(wavelet)
    if wavelet not in LIFTING_WAVELETS:
        raise InvalidArgumentError(
            f"inverse_compact supports only wavelet 'cdf97' or 'legall53'; got {wavelet!r} (use inverse)"
        )
    h, w = a.shape
    levels = _resolve_levels(levels, h, w)
    if wavelet == "legall53":
        x = _as_int32(a, "coeffs")
        if x is a or np.shares_memory(x, a):
            x = x.copy()
        _k.legall53_inverse_2d(x, levels)
    else:
        x = np.array(a, dtype=np.float64, order="C", copy=True)
        _k.cdf97_inverse_2d(x, levels)
    return x


# ---------------------------------------------------------------------------------
# Tree layout transforms
# ---------------------------------------------------------------------------------


def _compact_bands(h: int, w: int, levels: int) -> list[tuple[slice, slice]]:
    """Slices of the bands in the compact layout, in :func:`band_layout` order (lifting only)."""
    hs, ws = [h], [w]
    for _ in range(levels):
        hs.append((hs[-1] + 1) // 2)
        ws.append((ws[-1] + 1) // 2)
    out = [(slice(0, hs[levels]), slice(0, ws[levels]))]
    for k in range(levels, 0, -1):
        out.append((slice(0, hs[k]), slice(ws[k], ws[k - 1])))  # HL
        out.append((slice(hs[k], hs[k - 1]), slice(0, ws[k])))  # LH
        out.append((slice(hs[k], hs[k - 1]), slice(ws[k], ws[k - 1])))  # HH
    return out


def forward(plane, *, wavelet: str = "cdf97", levels: int | None = None) -> np.ndarray:
    """Forward 2-D DWT of ``plane`` (h, w) into the zero-padded tree layout of shape :func:`padded_shape`.

    Returns float64 for ``"cdf97"`` and PyWavelets wavelets, int32 for ``"legall53"``
    (whose input must then be integer-valued).  ``levels=None`` uses
    :func:`default_levels`.  See the module docstring for the layout.
    """
    a = _as_plane(plane)
    wavelet = check_wavelet(wavelet)
    h, w = a.shape
    levels = _resolve_levels(levels, h, w)
    hp, wp = padded_shape(h, w, levels)
    layout = band_layout(h, w, levels, wavelet)
    if wavelet in LIFTING_WAVELETS:
        compact = forward_compact(a, wavelet=wavelet, levels=levels)
        if (hp, wp) == (h, w):
            return compact  # no padding: the compact layout already is the tree layout
        out = np.zeros((hp, wp), dtype=compact.dtype)
        for band, (rs, cs) in zip(layout, _compact_bands(h, w, levels)):
            out[band.slices] = compact[rs, cs]
        return out
    x = np.asarray(a, dtype=np.float64)
    _check_finite(x, "plane")
    out = np.zeros((hp, wp), dtype=np.float64)
    if levels == 0:
        out[:h, :w] = x
        return out
    pywt = _pywt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "level is too high": boundary effects are fine
        coeffs = pywt.wavedec2(x, wavelet, mode="periodization", level=levels)
    out[layout[0].slices] = coeffs[0]
    for i, details in enumerate(coeffs[1:]):
        # pywt orders details as (horizontal detail cH, vertical cV, diagonal cD):
        # cH = low cols / high rows ("LH"), cV = high cols / low rows ("HL").
        c_h, c_v, c_d = details
        hl, lh, hh = layout[1 + 3 * i : 4 + 3 * i]
        out[hl.slices] = c_v
        out[lh.slices] = c_h
        out[hh.slices] = c_d
    return out


def inverse(coeffs, *, shape: tuple[int, int], wavelet: str = "cdf97", levels: int | None = None,
            overwrite_input: bool = False, reduce: int = 0) -> np.ndarray:
    """Inverse of :func:`forward`: tree-layout ``coeffs`` -> image plane of ``shape`` (h, w).

    Returns float64, or int32 for ``"legall53"``.  Values outside the bands are ignored.
    ``overwrite_input=True`` lets a lifting inverse work in place on ``coeffs`` when it
    already has the right layout and dtype (saves a copy; ``coeffs`` is then destroyed).

    ``reduce=k`` (``0 <= k <= levels``) reconstructs the image at ``1/2**k`` of each
    side, of shape :func:`reduced_shape` ``(h, w, k)`` = ``(ceil(h/2**k), ceil(w/2**k))``:
    only the ``levels - k`` coarsest inverse levels run, on the bands of level
    ``> k`` (the low-pass band of level ``k`` is the reduced image, divided by
    :func:`lowpass_gain` ``** (2*k)``: 2**k for the L2-normalised 9/7 and the
    orthonormal PyWavelets wavelets, 1 for the integer 5/3, which stays int32).
    Those bands fill the top-left ``(hp >> k, wp >> k)`` corner of the tree
    layout, which is exactly the tree layout of a ``levels - k`` level transform
    of the reduced size, so ``coeffs`` may be the full tree layout or only that
    corner.  ``reduce > levels`` raises :class:`InvalidArgumentError` (a wavelet
    inverse has no coarser image; :func:`wavecodec.decode` block-averages the rest).
    """
    if isinstance(reduce, (bool, np.bool_)) or not isinstance(reduce, (int, np.integer)) or reduce < 0:
        raise InvalidArgumentError(f"reduce must be a non-negative integer; got {reduce!r}")
    if reduce == 0:
        return _inverse_full(coeffs, shape=shape, wavelet=wavelet, levels=levels, overwrite_input=overwrite_input)
    a = _as_plane(coeffs, "coeffs")
    wavelet = check_wavelet(wavelet)
    h, w = _check_shape(shape)
    levels = _resolve_levels(levels, h, w)
    if reduce > levels:
        raise InvalidArgumentError(
            f"reduce={reduce} exceeds levels={levels}: a {levels}-level transform reconstructs at most"
            f" 1/2**{levels} of each side (block-average the result for more)"
        )
    k = int(reduce)
    hp, wp = padded_shape(h, w, levels)
    hr, wr = reduced_shape(h, w, k)
    if a.shape == (hp, wp):
        a = a[: hp >> k, : wp >> k]
        overwrite_input = False  # a view: never reuse it in place
    elif a.shape != (hp >> k, wp >> k):
        raise InvalidArgumentError(
            f"coeffs must have the tree-layout shape padded_shape({h}, {w}, {levels}) = {(hp, wp)}, or its"
            f" top-left corner {(hp >> k, wp >> k)} for reduce={k}; got {a.shape}"
        )
    out = _inverse_full(a, shape=(hr, wr), wavelet=wavelet, levels=levels - k, overwrite_input=overwrite_input)
    if wavelet != "legall53":
        out *= lowpass_gain(wavelet) ** (-2 * k)
    return out


def _check_shape(shape) -> tuple[int, int]:
    try:
        h, w = (operator.index(s) for s in shape)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"shape must be a (height, width) pair of positive integers; got {shape!r}"
        ) from None
    return _check_size(h, w)


def reduced_shape(height: int, width: int, reduce: int) -> tuple[int, int]:
    """``(ceil(height / 2**reduce), ceil(width / 2**reduce))``: the size of the level-``reduce`` low-pass band
    (OpenJPEG's and glymur's ``reduce`` convention)."""
    h, w = _check_size(height, width)
    if isinstance(reduce, (bool, np.bool_)) or not isinstance(reduce, (int, np.integer)) or reduce < 0:
        raise InvalidArgumentError(f"reduce must be a non-negative integer; got {reduce!r}")
    k = min(int(reduce), max(h, w).bit_length())  # beyond that both sides are 1
    return (-(-h >> k), -(-w >> k))


@functools.lru_cache(maxsize=None)
def lowpass_gain(wavelet: str) -> float:
    """DC gain of one 1-D analysis low-pass step: a constant signal ``c`` has low-pass coefficients ``g * c``.

    ``sqrt(2)`` for the L2-normalised ``"cdf97"`` and the (bi)orthogonal PyWavelets
    filters (the sum of their ``dec_lo`` taps), 1 for the integer ``"legall53"``.  A
    2-D level multiplies the low-pass band by ``g**2``, so the level-``k`` LL band
    of an image is about ``g**(2k)`` times its ``2**k x 2**k`` block means.
    """
    wavelet = check_wavelet(wavelet)
    if wavelet == "legall53":
        return 1.0
    if wavelet == "cdf97":
        # measured: the low-pass output of a constant row (whole-sample symmetric extension)
        return float(forward_compact(np.ones((1, 16)), wavelet="cdf97", levels=1)[0, 0])
    return float(np.sum(_pywt().Wavelet(wavelet).dec_lo))


def block_mean(image, reduce: int) -> np.ndarray:
    """Mean over ``2**reduce x 2**reduce`` blocks of the first two axes (float64).

    The result has the size :func:`reduced_shape`; a block cut by the right or
    bottom edge is the mean of the samples it holds.  ``reduce=0`` returns a float64
    copy.  Trailing axes (channels) are kept.
    """
    a = np.asarray(image)
    if a.ndim < 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InvalidArgumentError(f"image must have at least 2 non-empty axes; got shape {a.shape}")
    h, w = a.shape[:2]
    hr, wr = reduced_shape(h, w, reduce)
    x = np.asarray(a, dtype=np.float64)
    if (hr, wr) == (h, w):
        return x.copy()
    b = 1 << min(int(reduce), max(h, w).bit_length())
    rows = np.arange(0, h, b)
    cols = np.arange(0, w, b)
    s = np.add.reduceat(np.add.reduceat(x, rows, axis=0), cols, axis=1)
    nr = np.minimum(rows + b, h) - rows
    nc = np.minimum(cols + b, w) - cols
    count = (nr[:, None] * nc[None, :]).astype(np.float64)
    s /= count.reshape(count.shape + (1,) * (a.ndim - 2))
    return s


def _inverse_full(coeffs, *, shape: tuple[int, int], wavelet: str, levels: int | None,
                  overwrite_input: bool) -> np.ndarray:
    a = _as_plane(coeffs, "coeffs")
    wavelet = check_wavelet(wavelet)
    h, w = _check_shape(shape)
    levels = _resolve_levels(levels, h, w)
    hp, wp = padded_shape(h, w, levels)
    if a.shape != (hp, wp):
        raise InvalidArgumentError(
            f"coeffs must have the tree-layout shape padded_shape({h}, {w}, {levels}) = {(hp, wp)}; got {a.shape}"
        )
    layout = band_layout(h, w, levels, wavelet)
    if wavelet in LIFTING_WAVELETS:
        if wavelet == "legall53":
            a = _as_int32(a, "coeffs")
            dtype = np.int32
        else:
            dtype = np.float64
        if (hp, wp) == (h, w):
            # no padding: the tree layout is the compact layout
            if overwrite_input and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable:
                compact = a
            else:
                compact = np.array(a, dtype=dtype, order="C", copy=True)
        else:
            compact = np.empty((h, w), dtype=dtype)
            for band, (rs, cs) in zip(layout, _compact_bands(h, w, levels)):
                compact[rs, cs] = a[band.slices]
        if wavelet == "legall53":
            _k.legall53_inverse_2d(compact, levels)
        else:
            _k.cdf97_inverse_2d(compact, levels)
        return compact
    x = np.asarray(a, dtype=np.float64)
    if levels == 0:
        return np.array(x[:h, :w], dtype=np.float64, order="C")
    parts: list = [x[layout[0].slices]]
    for i in range(levels):
        hl, lh, hh = layout[1 + 3 * i : 4 + 3 * i]
        parts.append((x[lh.slices], x[hl.slices], x[hh.slices]))
    pywt = _pywt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = pywt.waverec2(parts, wavelet, mode="periodization")
    return np.ascontiguousarray(rec[:h, :w], dtype=np.float64)


# ---------------------------------------------------------------------------------
# Synthesis gains (for rate-distortion weighting of bit-plane coders)
# ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def synthesis_gains_1d(wavelet: str, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """L2 norms of the 1-D synthesis basis functions: ``(low[k], high[k])`` for k = 0..levels.

    ``high[k]`` belongs to the level-``k`` detail band, ``low[k]`` to the level-``k``
    approximation (index 0 is unused and set to 1).  A unit error on such a
    coefficient becomes a pixel-domain error of this L2 norm, so a coder that
    scales every coefficient by the product of its row and column gains before
    quantising minimises pixel MSE (the weighting JPEG 2000 encoders apply in rate
    allocation).  Measured on an impulse in the middle of a long signal (no
    boundary effects); rounded to 1/4096 so that encoder and decoder agree exactly.
    Cached per (wavelet, levels): two read-only arrays of ``levels + 1`` values,
    independent of the image size.
    """
    wavelet = check_wavelet(wavelet)
    low = np.ones(levels + 1)
    high = np.ones(levels + 1)
    if wavelet == "legall53" or levels == 0:
        low.flags.writeable = high.flags.writeable = False
        return low, high
    n = 1 << (levels + 6)
    # sizes of the approximation after each level (power of two: no rounding)
    for k in range(1, levels + 1):
        for is_high in (False, True):
            z = np.zeros((1, n))
            start = 0 if not is_high else n >> k
            width = n >> k
            z[0, start + width // 2] = 1.0
            if wavelet == "cdf97":
                rec = inverse_compact(z, wavelet="cdf97", levels=k)[0]
            else:
                pywt = _pywt()
                size = n >> k
                # waverec wants [cA_k, cD_k, cD_{k-1}, ..., cD_1] with halving sizes
                parts = [np.zeros(size), np.zeros(size)] + [np.zeros(n >> j) for j in range(k - 1, 0, -1)]
                idx = 0 if not is_high else 1
                parts[idx][size // 2] = 1.0
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rec = pywt.waverec(parts, wavelet, mode="periodization")
            g = float(np.sqrt(np.sum(rec * rec)))
            if is_high:
                high[k] = g
            else:
                low[k] = g
    low, high = np.round(low * 4096) / 4096, np.round(high * 4096) / 4096
    low.flags.writeable = high.flags.writeable = False  # cached (levels + 1 values each): shared between calls
    return low, high


def level_ranges(n: int, levels: int) -> list[tuple[int, int, int]]:
    """``(level, start, stop)`` of each level along one axis of the tree layout of length ``n``
    (level ``levels + 1`` is the LL slot ``[0, n >> levels)``)."""
    return [(levels + 1, 0, n >> levels)] + [(k, n >> k, n >> (k - 1)) for k in range(levels, 0, -1)]


def synthesis_weight_table(wavelet: str, levels: int) -> np.ndarray:
    """Synthesis gain of a coefficient by the levels of its row and of its column:
    ``table[r, c]``, a (levels+2, levels+2) float64 array (index ``levels + 1``: the LL slot).

    The 2-D basis is separable, so the gain of a coefficient of a level-``k`` band
    is the product of the 1-D gains of its row and column (low or high at level
    ``k``; ``low[L]`` twice for the LL band); ``lev = min(r, c)`` is its band's level.
    """
    low, high = synthesis_gains_1d(wavelet, levels)
    k = np.arange(levels + 2)
    rl, cl = k[:, None], k[None, :]
    lev = np.minimum(rl, cl)
    low_ext = np.append(low, low[levels])  # index levels+1 (LL slot) -> low[levels]
    high_ext = np.append(high, low[levels])
    row_gain = np.where(rl == lev, high_ext[lev], low_ext[lev])
    col_gain = np.where(cl == lev, high_ext[lev], low_ext[lev])
    return row_gain * col_gain


def synthesis_weights(height: int, width: int, levels: int, wavelet: str = "cdf97") -> np.ndarray:
    """Per-coefficient synthesis gain (2-D basis-function L2 norm) over the tree layout.

    The entries of :func:`synthesis_weight_table`, spread over the bands.  Returns a
    new (hp, wp) float64 array, computed per call: nothing size-dependent is cached.
    (The codecs apply the table band by band instead, without this array.)
    """
    table = synthesis_weight_table(wavelet, levels)
    hp, wp = padded_shape(height, width, levels)
    weights = np.empty((hp, wp))
    for r, r0, r1 in level_ranges(hp, levels):
        for c, c0, c1 in level_ranges(wp, levels):
            weights[r0:r1, c0:c1] = table[r, c]
    return weights


# ---------------------------------------------------------------------------------
# Colour transforms (JPEG 2000 Part 1, Annex G)
# ---------------------------------------------------------------------------------


def _as_rgb(rgb, name: str = "rgb") -> np.ndarray:
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InvalidArgumentError(f"{name} must be a non-empty (height, width, 3) array; got shape {a.shape}")
    return a


def _as_ycc(ycc, name: str = "ycc") -> np.ndarray:
    a = np.asarray(ycc)
    if a.ndim != 3 or a.shape[0] != 3 or a.shape[1] < 1 or a.shape[2] < 1:
        raise InvalidArgumentError(f"{name} must be a non-empty (3, height, width) array; got shape {a.shape}")
    return a


def ict_forward(rgb) -> np.ndarray:
    """Irreversible colour transform (JPEG 2000 Part 1, G.3): (h, w, 3) RGB -> (3, h, w) float64 Y, Cb, Cr.

    ``Y = 0.299 R + 0.587 G + 0.114 B``, ``Cb = -0.168736 R - 0.331264 G + 0.5 B``,
    ``Cr = 0.5 R - 0.418688 G - 0.081312 B``.  No level shift is applied.
    """
    a = _as_rgb(rgb)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_) or np.issubdtype(a.dtype, np.complexfloating):
        raise InvalidArgumentError(f"rgb must have a real numeric dtype; got {a.dtype}")
    x = np.ascontiguousarray(a, dtype=np.float64)
    return _k.ict_forward_kernel(x)


def ict_inverse(ycc) -> np.ndarray:
    """Inverse ICT (JPEG 2000 Part 1, G.3): (3, h, w) Y, Cb, Cr -> (h, w, 3) float64 RGB.

    ``R = Y + 1.402 Cr``, ``G = Y - 0.344136 Cb - 0.714136 Cr``, ``B = Y + 1.772 Cb``.
    """
    a = _as_ycc(ycc)
    x = np.ascontiguousarray(a, dtype=np.float64)
    return _k.ict_inverse_kernel(x)


def ict_synthesis_gains() -> np.ndarray:
    """Per-component MSE weights of the inverse ICT: ``[1, 1.0861, 0.8252]``.

    Entry ``c`` is the squared L2 norm of column ``c`` of the inverse ICT matrix
    divided by 3 (Y: ``(1+1+1)/3``, Cb: ``(0.344136**2 + 1.772**2)/3``,
    Cr: ``(1.402**2 + 0.714136**2)/3``): an error of MSE ``e`` on component ``c``
    (uncorrelated with the other components' errors) adds ``gains[c] * e`` to the
    MSE averaged over the three RGB channels.
    """
    return np.array(
        [
            (1.0 + 1.0 + 1.0) / 3.0,
            (0.344136**2 + 1.772**2) / 3.0,
            (1.402**2 + 0.714136**2) / 3.0,
        ]
    )


def rct_forward(rgb) -> np.ndarray:
    """Reversible colour transform (JPEG 2000 Part 1, G.2): (h, w, 3) integer RGB -> (3, h, w) int32.

    ``Y = floor((R + 2G + B) / 4)``, ``Cb = B - G``, ``Cr = R - G``.  Values must lie
    in ``[-2**29, 2**29]``; float input must be integer-valued.
    """
    a = _as_rgb(rgb)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating) or a.dtype == np.bool_):
        raise InvalidArgumentError(f"rgb must have an integer dtype for the RCT; got {a.dtype}")
    x = _as_int32(a, "rgb", 2**29)
    return _k.rct_forward_kernel(x)


def rct_inverse(ycc) -> np.ndarray:
    """Inverse RCT (JPEG 2000 Part 1, G.2), bit-exact: (3, h, w) int -> (h, w, 3) int32 RGB.

    ``G = Y - floor((Cb + Cr) / 4)``, ``R = Cr + G``, ``B = Cb + G``.
    """
    a = _as_ycc(ycc)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise InvalidArgumentError(f"ycc must have an integer dtype for the inverse RCT; got {a.dtype}")
    x = _as_int32(a, "ycc", 2**30)
    return _k.rct_inverse_kernel(x)
