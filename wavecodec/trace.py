"""Pass-by-pass traces of SPIHT, EZW and IMP1EZW, for teaching and tests.

:func:`trace` runs one of the plain-Python reference coders of
:mod:`wavecodec.reference` (bit-exact with the codecs' raw-bits variants) on
wavelet coefficients, or on an image transformed first, and returns one
:class:`Trace`: per pass, the threshold, every coded decision with its position,
subband and bits, the reconstruction a decoder holds after the pass, and for
SPIHT the contents of the LIP, LIS and LSP.  ``print(t)`` shows the tables
textbooks use; :meth:`Trace.plot` draws the significance map, the reconstruction
and the rate (bpp) and PSNR reached after each pass (needs matplotlib).

>>> from wavecodec.trace import trace, SHAPIRO_8X8
>>> t = trace(SHAPIRO_8X8, codec="ezw", levels=3, passes=1)
>>> t.passes[0].bits("dominant")
'P N IZ ZTR P ZTR ZTR ZTR ZTR IZ ZTR ZTR Z Z Z Z Z P Z Z'
>>> s = trace(SHAPIRO_8X8, codec="spiht", levels=2, passes=1)
>>> s.passes[0].lsp
[(0, 0), (0, 1), (0, 2), (4, 3)]
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import transform as T
from .errors import InvalidArgumentError, MissingDependencyError
from .reference import SHAPIRO_8X8
from .reference import ezw as _ezw
from .reference import spiht as _spiht

__all__ = ["trace", "Trace", "TracePass", "TraceSymbol", "SHAPIRO_8X8", "CODECS"]

CODECS = ("spiht", "ezw", "imp1ezw")
_NEW = ("P", "N", "PT", "NT", "+", "-")  # symbols that make a coefficient significant


@dataclass(frozen=True)
class TraceSymbol:
    """One coded decision: what, where (row, column, subband) and the coefficient there."""

    kind: str  # (imp1)ezw: 'dominant' or 'subordinate'; spiht: 'LIP', 'sign', 'D-set', 'L-set', 'offspring', 'refine'
    symbol: str  # ezw: P, N, IZ, ZTR, Z (imp1ezw also PT, NT) or the subordinate bit; spiht: the bit, or +/-
    row: int
    col: int
    subband: str
    value: int
    bits: str = ""  # the bits on the channel (the plain / binary variants): e.g. '10' for EZW's P


@dataclass
class TracePass:
    """One pass at threshold ``2**plane``, and the coder's state after it.

    ``lip``, ``lsp``: SPIHT's lists as ``(row, col)``; ``lis``: ``(row, col, 'A' | 'B')``
    (type A: the set ``D(i,j)``, type B: ``L(i,j)``).  ``subordinate_list``: EZW's,
    in the order of the next subordinate pass.  ``total_bits``: bits from the start
    of the stream to the end of this pass.
    """

    plane: int
    symbols: list = field(default_factory=list)
    reconstruction: np.ndarray | None = None
    total_bits: int = 0
    lip: list | None = None
    lis: list | None = None
    lsp: list | None = None
    subordinate_list: list | None = None

    @property
    def threshold(self) -> int:
        return 1 << self.plane

    @property
    def bit_count(self) -> int:
        """Bits coded in this pass."""
        return sum(len(s.bits) for s in self.symbols)

    def bits(self, kind: str | None = None) -> str:
        """The pass's symbols as text (optionally only one kind)."""
        chosen = [s.symbol for s in self.symbols if kind is None or s.kind == kind]
        sep = " " if any(len(x) > 1 for x in chosen) else ""
        return sep.join(chosen)

    def table(self) -> str:
        """One row per decision, then SPIHT's lists and the reconstruction after the pass."""
        lines = [f"threshold {self.threshold} (bit-plane {self.plane})",
                 f"  {'kind':12} {'subband':8} {'(row,col)':10} {'value':>6}  symbol"]
        for s in self.symbols:
            lines.append(f"  {s.kind:12} {s.subband:8} {f'({s.row},{s.col})':10} {s.value:>6}  {s.symbol}")
        if self.lis is not None:
            lines.append("  lists after the pass:")
            lines.append(_wrapped("LIP", [f"({i},{j})" for i, j in self.lip]))
            lines.append(_wrapped("LIS", [f"({i},{j}){t}" for i, j, t in self.lis]))
            lines.append(_wrapped("LSP", [f"({i},{j})" for i, j in self.lsp]))
        if self.reconstruction is not None:
            lines.append("  reconstruction after the pass:")
            for row in self.reconstruction:
                lines.append("    " + " ".join(f"{v:6g}" for v in row))
        return "\n".join(lines)


def _wrapped(name: str, items: list, width: int = 88) -> str:
    lines, line = [], f"    {name}:"
    for item in items or ["(empty)"]:
        if len(line) + 1 + len(item) > width:
            lines.append(line)
            line = " " * (len(name) + 5)
        line += " " + item
    return "\n".join(lines + [line])


@dataclass
class Trace:
    """All traced passes of one coder run on one coefficient array."""

    codec: str
    coefficients: np.ndarray
    levels: int
    passes: list
    image_shape: tuple | None = None  # set when the trace started from an image
    image_offset: int = 0
    original: np.ndarray | None = None  # the image, when the trace started from one

    def image(self, k: int) -> np.ndarray:
        """The decoded image after pass ``k`` (traces started from an image only)."""
        if self.image_shape is None:
            raise InvalidArgumentError("this trace was made from coefficients, not from an image")
        rec = np.rint(self.passes[k].reconstruction).astype(np.int32)
        img = T.inverse(rec, shape=self.image_shape, wavelet="legall53", levels=self.levels) + self.image_offset
        return np.clip(img, 0, np.iinfo(self.original.dtype).max).astype(self.original.dtype)

    def bpp(self, k: int) -> float:
        """Bits per pixel (per coefficient, for a coefficient trace) from the start to the end of pass ``k``."""
        shape = self.image_shape if self.image_shape is not None else self.coefficients.shape
        return self.passes[k].total_bits / (shape[0] * shape[1])

    def psnr(self, k: int) -> float:
        """PSNR after pass ``k``: of the decoded image (peak 255 or 65535), or of the coefficients (peak max |c|)."""
        if self.image_shape is not None:
            ref, test = self.original.astype(np.float64), self.image(k).astype(np.float64)
            peak = float(np.iinfo(self.original.dtype).max)
        else:
            ref, test = self.coefficients.astype(np.float64), self.passes[k].reconstruction
            peak = float(np.abs(ref).max())
        mse = float(np.mean((ref - test) ** 2))
        return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)

    def __str__(self) -> str:
        return "\n\n".join(p.table() for p in self.passes)

    def plot(self, path: str | None = None):
        """Per pass: new significant coefficients over the subband layout and the reconstruction; then PSNR vs bpp."""
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise MissingDependencyError("Trace.plot needs matplotlib: pip install 'wavecodec[plot]'") from None
        n = max(len(self.passes), 1)
        fig = plt.figure(figsize=(max(3 * n, 6), 9))
        grid = fig.add_gridspec(3, n)
        h, w = self.coefficients.shape
        lines = _band_lines(h, w, self.levels)
        for k, p in enumerate(self.passes):
            top, middle = fig.add_subplot(grid[0, k]), fig.add_subplot(grid[1, k])
            sig = np.zeros((h, w))
            for s in p.symbols:
                if s.symbol in _NEW:
                    sig[s.row, s.col] = 1
            top.imshow(sig, cmap="Greys", vmin=0, vmax=1)
            for (r0, c0, r1, c1) in lines:
                top.plot([c0 - 0.5, c1 - 0.5], [r0 - 0.5, r1 - 0.5], color="tab:red", lw=0.8)
            top.set_title(f"T={p.threshold}: new significant")
            if self.image_shape is not None:
                middle.imshow(self.image(k), cmap="gray")
            else:
                middle.imshow(p.reconstruction, cmap="gray")
            middle.set_title(f"{self.bpp(k):.3g} bpp, {self.psnr(k):.1f} dB")
            for ax in (top, middle):
                ax.set_xticks([])
                ax.set_yticks([])
        rd = fig.add_subplot(grid[2, :])
        rates = [self.bpp(k) for k in range(len(self.passes))]
        quality = [self.psnr(k) for k in range(len(self.passes))]
        rd.plot(rates, quality, "o-")
        for k, p in enumerate(self.passes):
            rd.annotate(f"T={p.threshold}", (rates[k], quality[k]), textcoords="offset points", xytext=(4, -10),
                        fontsize=8)
        rd.set_xlabel("bits per pixel" if self.image_shape is not None else "bits per coefficient")
        rd.set_ylabel("PSNR (dB)")
        rd.set_title(f"{self.codec}: rate and PSNR after each pass")
        rd.grid(True, alpha=0.3)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
            plt.close(fig)
        return fig


def _band_lines(h: int, w: int, levels: int) -> list:
    out = []
    for k in range(1, levels + 1):
        sh, sw = h >> k, w >> k
        out.append((sh, 0, sh, 2 * sw))
        out.append((0, sw, 2 * sh, sw))
    return out


def _subband_names(h: int, w: int, levels: int) -> np.ndarray:
    def axis(n: int) -> np.ndarray:
        lev = np.full(n, levels + 1, dtype=np.int64)
        for k in range(1, levels + 1):
            lev[n >> k : n >> (k - 1)] = k
        return lev

    rl, cl = axis(h), axis(w)
    names = np.empty((h, w), dtype=object)
    for i in range(h):
        for j in range(w):
            lev = min(rl[i], cl[j])
            if lev > levels:
                names[i, j] = f"LL{levels}"
            elif rl[i] == cl[j]:
                names[i, j] = f"HH{lev}"
            elif cl[j] < rl[i]:
                names[i, j] = f"HL{lev}"
            else:
                names[i, j] = f"LH{lev}"
    return names


def _as_coefficients(data: Any, levels: int | None) -> tuple[np.ndarray, int, np.ndarray | None, int]:
    a = np.asarray(data)
    if a.ndim != 2:
        raise InvalidArgumentError("trace takes a 2-D grayscale image or coefficient array")
    if a.dtype in (np.uint8, np.uint16):
        # an image: the lossless integer 5/3 (as the codecs' lossless mode), so every coefficient is an integer
        lv = T.default_levels(*a.shape) if levels is None else T.check_levels(levels, *a.shape)
        offset = int(np.round(a.mean()))
        q = T.forward((a.astype(np.int64) - offset).astype(np.int32), wavelet="legall53", levels=lv)
        return q.astype(np.int64), lv, a, offset
    if not np.issubdtype(a.dtype, np.integer):
        raise InvalidArgumentError("coefficients must be integers (or pass a uint8/uint16 image)")
    if levels is None:
        raise InvalidArgumentError("levels is required when tracing a coefficient array")
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 0:
        raise InvalidArgumentError(f"levels must be a non-negative int, got {levels!r}")
    return a.astype(np.int64), int(levels), None, 0


def trace(data: Any, codec: str = "ezw", *, passes: int | None = None, levels: int | None = None,
          scan: str = "strict", pass_order: str | None = None) -> Trace:
    """Trace the passes of ``codec`` ('spiht', 'ezw' or 'imp1ezw') on coefficients or an image.

    ``data``: a 2-D integer coefficient array in the tree layout of
    :mod:`wavecodec.transform` (sides multiples of ``2**levels`` for EZW,
    ``2**(levels+1)`` for SPIHT; ``levels`` required), or a uint8/uint16 grayscale
    image (transformed with the integer 5/3 first).  ``passes`` limits the trace to
    the first thresholds.  EZW only: ``scan`` 'strict' (default) or 'rescan';
    EZW and IMP1EZW: ``pass_order`` 'shapiro' (default, the paper's: each dominant
    pass is followed by the refinement of every entry) or 'significance-first'
    (the codecs' default; SPIHT's order).  The bits are those of the codecs' raw-bits variants
    (SPIHT ``variant="binary"``, EZW / IMP1EZW ``variant="plain"``).
    Reconstructions are the decoder's values after each pass, at the midpoints of
    the uncertainty intervals (the papers' rule; the codecs' 'optimized'
    reconstruction points are not applied here).
    """
    if codec not in CODECS:
        raise InvalidArgumentError(f"trace supports codec 'spiht', 'ezw' or 'imp1ezw', not {codec!r}")
    if scan not in ("strict", "rescan") or (codec != "ezw" and scan != "strict"):
        raise InvalidArgumentError(f"scan must be 'strict' or (EZW only) 'rescan', got {scan!r}")
    if pass_order not in (None, "shapiro", "significance-first") or (codec == "spiht" and pass_order is not None):
        raise InvalidArgumentError(f"pass_order must be 'shapiro' or 'significance-first' (EZW and IMP1EZW only),"
                                   f" got {pass_order!r}")
    if passes is not None and (isinstance(passes, bool) or not isinstance(passes, (int, np.integer)) or passes < 1):
        raise InvalidArgumentError(f"passes must be a positive int or None, got {passes!r}")
    q, lv, original, offset = _as_coefficients(data, levels)
    h, w = q.shape
    # SPIHT groups the LL band in 2x2, so its LL slot must have even sides; EZW's may be 1x1
    unit = 1 << (lv + 1) if codec == "spiht" else 1 << lv
    if h % unit or w % unit:
        raise InvalidArgumentError(f"coefficient array sides must be multiples of {unit} for {codec!r} with"
                                   f" levels={lv}, got {q.shape}")
    n_max = int(np.abs(q).max(initial=0)).bit_length() - 1
    if codec == "spiht":
        run = _spiht.passes(lv, n_max, coefficients=q)
    else:
        symbols = _ezw.EZW if codec == "ezw" else _ezw.IMP1EZW
        run = _ezw.passes(lv, n_max, coefficients=q, symbols=symbols, scan=scan,
                          pass_order=pass_order or "shapiro")
    names = _subband_names(h, w, lv)
    out = []
    total = 0
    for p in itertools.islice(run, passes):
        symbols_ = [TraceSymbol(d.kind, d.symbol, i, j, names[i, j], int(q[i, j]), d.bits)
                    for d in p.decisions for (_c, i, j) in [d.node]]
        total += sum(len(s.bits) for s in symbols_)
        tp = TracePass(p.n, symbols_, p.reconstruction[0], total)
        if codec == "spiht":
            tp.lip = [(i, j) for _c, i, j in p.LIP]
            tp.lis = [(i, j, kind) for (_c, i, j), kind in p.LIS]
            tp.lsp = [(i, j) for _c, i, j in p.LSP]
        else:
            tp.subordinate_list = [(i, j) for _c, i, j in p.subordinate_list]
        out.append(tp)
    image_shape = original.shape if original is not None else None
    return Trace(codec, q, lv, out, image_shape, offset, original)
