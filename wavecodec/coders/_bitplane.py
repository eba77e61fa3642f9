"""The wavelet front end shared by the bit-plane coders: SPIHT, EZW, IMP1EZW and canny-spiht.

Colour and wavelet transforms, the quantisation of the coefficients into signed
integers in tree layout (with the quantiser-step candidates the encoders search),
the choice of the least-distortion candidate, the inverse path, and the checks of
the transform fields in their parameter blocks.  Each codec keeps its own
parameter block and kernel; what they share lives here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .. import transform as T
from .._container import Header, ParamReader
from .._registry import EncodeTarget, ImageSpec
from ..errors import CorruptStreamError, InvalidArgumentError

COLOUR_NONE, COLOUR_ICT, COLOUR_RCT = 0, 1, 2
MAX_PLANE = 30  # int32 magnitudes
N_STEPS = 4  # quantiser steps 2**(-k/4), k = 0..3, searched by the encoder
SEARCH_MAX_BPP = 0.3  # step_search="auto" searches up to this rate (cheap there, and it pays most)
MAX_PAD = 16  # padded tree layout: at most this many times the image area (+1 Mi)


@dataclass
class Quantised:
    """What :func:`forward_coefficients` did to one candidate: the codecs' parameter blocks store it."""

    colour: int  # COLOUR_NONE, COLOUR_ICT or COLOUR_RCT
    frac_bits: int
    n_max: int  # top bit-plane, -1 if all coefficients are 0
    offsets: list  # per-plane mean removed before the transform (float lossy, int lossless)
    step: int = 0  # quantiser step 2**(-step/4) (0 = the plain bit-planes)


def read_transform_fields(r: ParamReader, header: Header, name: str) -> tuple[str, int, int]:
    """Read and check the wavelet, level count and colour transform of a bit-plane codec's block.

    Shared by SPIHT, EZW and IMP1EZW: the wavelet must be known, the padded tree
    layout bounded, the colour transform must match the channel count, and the
    lossless flag must go with the reversible transforms (and only with them).
    """
    wavelet = r.text("wavelet")
    try:
        wavelet = T.check_wavelet(wavelet)
    except InvalidArgumentError:
        raise CorruptStreamError(f"{name} stream names an unknown wavelet {wavelet!r}") from None
    levels = r.u8("levels", 0, T.MAX_LEVELS)
    try:
        check_padding(levels, header.height, header.width)
    except InvalidArgumentError as exc:
        raise CorruptStreamError(f"{name} stream: {exc}") from None
    colour = r.u8("colour transform", 0, 2)
    if (colour != COLOUR_NONE) != (header.channels == 3):
        raise CorruptStreamError(f"{name} stream: colour transform does not match the channel count")
    if header.lossless and (wavelet != "legall53" or colour == COLOUR_ICT):
        raise CorruptStreamError(f"{name} stream: lossless flag with an irreversible transform")
    if not header.lossless and (colour == COLOUR_RCT or wavelet == "legall53"):
        raise CorruptStreamError(f"{name} stream: reversible transform in a lossy stream")
    return wavelet, levels, colour


def check_padding(levels: int, height: int, width: int) -> int:
    """Validate ``levels`` and bound the zero-padded tree layout it implies.

    The tree layout pads each side to a multiple of ``2**(levels+1)``; for thin
    images and many levels that area could dwarf the image (and a corrupt header
    could ask for gigabytes), so the padded area may be at most 16x the image plus
    1 Mi samples (enough for the deepest pyramid of any reasonably shaped image).
    """
    levels = T.check_levels(levels, height, width)
    hp, wp = T.padded_shape(height, width, levels)
    if hp * wp > MAX_PAD * height * width + (1 << 20):
        fit = levels
        while fit > 0:
            fit -= 1
            a, b = T.padded_shape(height, width, fit)
            if a * b <= MAX_PAD * height * width + (1 << 20):
                break
        raise InvalidArgumentError(
            f"levels={levels} would pad the {height}x{width} image to {hp}x{wp} coefficients;"
            f" use levels <= {fit}"
        )
    return levels


def level_maps(hp: int, wp: int, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Decomposition level of every row and column of the tree layout (levels+1 = LL slot)."""

    def axis(n: int) -> np.ndarray:
        lev = np.full(n, levels + 1, dtype=np.int64)
        for k in range(1, levels + 1):
            lev[n >> k : n >> (k - 1)] = k
        return lev

    return axis(hp), axis(wp)


def chroma_weights(colour: int) -> np.ndarray:
    """Scale of each plane before quantisation: sqrt of the plane's synthesis gain to RGB, Y = 1."""
    if colour != COLOUR_ICT:
        return np.ones(3)
    g = T.ict_synthesis_gains()
    return np.sqrt(g / g[0])


def frac_bits_for(bit_depth: int, levels: int) -> int:
    """Fractional bits kept below the integer part of the (L2-normalised) lossy coefficients.

    Two bits put the finest quantiser step at 1/4 of a sample value, so the
    default "full quality" stream is nearly lossless; fewer when needed to keep
    magnitudes within int32 (the LL gain is 2**levels).
    """
    return int(np.clip(MAX_PLANE - 1 - bit_depth - levels, 0, 2))


def forward_coefficients(
    pixels: np.ndarray, *, lossless: bool, wavelet: str, levels: int, bit_depth: int, steps: tuple = (0,)
) -> list[tuple[np.ndarray, Quantised]]:
    """Pixels (H, W, C) -> signed integer coefficients (C, hp, wp) in tree layout, and how.

    Lossy coefficients are quantised once per quantiser step in ``steps``
    (``2**(-step/4)``; the transform runs once); one ``(q, plan)`` pair per step.
    """
    h, w, c = pixels.shape
    if c == 3:
        colour = COLOUR_RCT if lossless else COLOUR_ICT
        planes = T.rct_forward(pixels) if lossless else T.ict_forward(pixels.astype(np.float64))
    else:
        colour = COLOUR_NONE
        planes = pixels.transpose(2, 0, 1)
    if lossless:
        planes = planes.astype(np.int64)
        offsets = [int(np.round(p.mean())) for p in planes]
        try:
            coeffs = np.stack(
                [T.forward((p - m).astype(np.int32), wavelet=wavelet, levels=levels) for p, m in zip(planes, offsets)]
            )
        except InvalidArgumentError as exc:
            # the integer 5/3 keeps every intermediate in int32 only up to a data range
            # that shrinks with the number of levels
            raise InvalidArgumentError(
                f"lossless coding of this {bit_depth}-bit image cannot use levels={levels} ({exc});"
                " choose fewer levels"
            ) from None
        frac = 0
        candidates = [(coeffs.astype(np.int64), 0)]
    else:
        planes = planes.astype(np.float64)
        offsets = [float(np.float32(p.mean())) for p in planes]
        coeffs = np.stack([T.forward(p - m, wavelet=wavelet, levels=levels) for p, m in zip(planes, offsets)])
        coeffs *= T.synthesis_weights(h, w, levels, wavelet)[None]
        coeffs *= chroma_weights(colour)[:c, None, None]
        frac = frac_bits_for(bit_depth, levels)
        candidates = [(np.trunc(coeffs * (step_scale(s) * (1 << frac))).astype(np.int64), s) for s in steps]
    out = []
    for q, s in candidates:
        top = int(np.abs(q).max()) if q.size else 0
        if top >= 1 << MAX_PLANE:
            raise InvalidArgumentError("coefficient magnitudes exceed the 30-bit range; use fewer levels")
        out.append((q, Quantised(colour, frac, top.bit_length() - 1, offsets, step=s)))
    return out


def resolve_transform(codec: str, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                      options: Mapping[str, Any]) -> tuple[str, int, tuple]:
    """The wavelet, the number of levels and the quantiser steps to try, from a codec's options.

    Shared by the bit-plane codecs (options ``wavelet``, ``levels``, ``step_search``):
    ``'auto'`` picks the 5/3 for lossless and the 9/7 otherwise; the steps are all
    ``N_STEPS`` when the search applies (``'always'``, or ``'auto'`` with a budget of
    at most ``SEARCH_MAX_BPP``), else only the plain bit-planes.
    """
    h, w = image.height, image.width
    wavelet = options["wavelet"]
    if wavelet == "auto":
        wavelet = "legall53" if lossless else "cdf97"
    if lossless and not T.is_reversible(wavelet):
        raise InvalidArgumentError(f"{codec}: lossless=True needs wavelet='legall53' (or 'auto'), not {wavelet!r}")
    if not lossless and T.is_reversible(wavelet):
        raise InvalidArgumentError(f"{codec}: wavelet='legall53' is the reversible transform; use it with"
                                   " lossless=True")
    levels = options["levels"]
    levels = T.default_levels(h, w) if levels is None else check_padding(levels, h, w)
    search = options.get("step_search", "never")
    budget_bpp = None if target.max_bytes is None else 8.0 * target.max_bytes / (h * w)
    if not lossless and (search == "always" or (search == "auto" and budget_bpp is not None
                                                and budget_bpp <= SEARCH_MAX_BPP)):
        return wavelet, levels, tuple(range(N_STEPS))
    return wavelet, levels, (0,)


def least_distortion(candidates: list, code: Callable) -> tuple:
    """Code every ``(q, quantised)`` candidate with ``code(q, quantised) -> (plan, result)``
    and keep the best: (plan, result, squared error).

    The best is the one whose decoded coefficients have the least squared error,
    estimated from ``result.reduction`` without decoding and taken back to the
    unscaled domain (quantiser step and fractional bits).
    """
    best = None
    for q, quantised in candidates:
        plan, result = code(q, quantised)
        scale = step_scale(plan.step) * (1 << plan.frac_bits)
        energy = float(np.sum((np.abs(q) + 0.5 * (q != 0)) ** 2))
        error = (energy - result.reduction) / (scale * scale)
        if best is None or error < best[2]:
            best = (plan, result, error)
    return best


def step_scale(step: int) -> float:
    """Scale applied to the coefficients for quantiser step ``step`` (``2**(-step/4)``)."""
    return 2.0 ** (-step / 4.0)


def inverse_coefficients(coeffs: np.ndarray, plan: Any, header: Header) -> np.ndarray:
    """Reconstructed (unweighted) coefficients (C, hp, wp) -> pixels (H, W, C) of the header's dtype
    (``plan``: a codec's parameter block with ``wavelet``, ``levels`` and ``offsets``)."""
    h, w, c = header.height, header.width, header.channels
    maxval = (1 << header.bit_depth) - 1
    if header.lossless:
        planes = [
            T.inverse(coeffs[k].astype(np.int32), shape=(h, w), wavelet=plan.wavelet, levels=plan.levels).astype(np.int64)
            + plan.offsets[k]
            for k in range(c)
        ]
        img = T.rct_inverse(np.stack(planes)) if c == 3 else planes[0][:, :, None]
        return np.clip(img, 0, maxval).astype(header.dtype)
    planes = [T.inverse(coeffs[k], shape=(h, w), wavelet=plan.wavelet, levels=plan.levels, overwrite_input=True)
              for k in range(c)]
    for k in range(c):
        planes[k] += plan.offsets[k]
    img = T.ict_inverse(np.stack(planes)) if c == 3 else planes[0][:, :, None]
    np.rint(img, out=img)
    np.clip(img, 0, maxval, out=img)
    return img.astype(header.dtype)
