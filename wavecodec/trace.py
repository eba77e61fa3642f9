"""Pass-by-pass traces of the embedded zerotree coders, for teaching and tests.

:func:`trace` runs a coder's encoder on wavelet coefficients (or on an image,
transformed first) and returns, per pass: the threshold, every coded symbol
with its position and subband, the bits, and the reconstruction a decoder holds
after the pass.  ``print(t)`` shows the tables textbooks use;
:meth:`Trace.plot` draws the significance map over the subband layout and the
reconstruction per pass (needs matplotlib).

>>> from wavecodec.trace import trace, SHAPIRO_8X8
>>> t = trace(SHAPIRO_8X8, codec="ezw", levels=3, passes=1)
>>> " ".join(s.symbol for s in t.passes[0].symbols)
'P N IZ ZTR P ZTR ZTR ZTR ZTR IZ ZTR ZTR Z Z Z Z Z P Z Z'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import transform as T
from .coders.spiht_trace import SHAPIRO_8X8
from .errors import InvalidArgumentError, MissingDependencyError

__all__ = ["trace", "Trace", "TracePass", "TraceSymbol", "SHAPIRO_8X8"]

_EZW_NAMES = {0: "ZTR", 1: "IZ", 2: "P", 3: "N", 4: "Z", 6: "PT", 7: "NT"}  # PT/NT: IMP1EZW
_SPIHT_KINDS = {0: "LIP", 1: "sign", 2: "D-set", 3: "L-set", 4: "offspring", 5: "refine"}


@dataclass(frozen=True)
class TraceSymbol:
    """One coded decision: what, where (row, column, subband) and the coefficient there."""

    kind: str  # (imp1)ezw: 'dominant' or 'subordinate'; spiht: 'LIP', 'sign', 'D-set', 'L-set', 'offspring', 'refine'
    symbol: str  # ezw: P, N, IZ, ZTR, Z (imp1ezw also PT, NT) or the subordinate bit; spiht: the bit, or +/-
    row: int
    col: int
    subband: str
    value: int


@dataclass
class TracePass:
    """One pass at threshold ``2**plane``."""

    plane: int
    symbols: list = field(default_factory=list)
    reconstruction: np.ndarray | None = None

    @property
    def threshold(self) -> int:
        return 1 << self.plane

    def bits(self, kind: str | None = None) -> str:
        """The pass's symbols as text (optionally only one kind)."""
        chosen = [s.symbol for s in self.symbols if kind is None or s.kind == kind]
        sep = " " if any(len(x) > 1 for x in chosen) else ""
        return sep.join(chosen)

    def table(self) -> str:
        lines = [f"threshold {self.threshold} (bit-plane {self.plane})",
                 f"  {'kind':12} {'subband':8} {'(row,col)':10} {'value':>6}  symbol"]
        for s in self.symbols:
            lines.append(f"  {s.kind:12} {s.subband:8} {f'({s.row},{s.col})':10} {s.value:>6}  {s.symbol}")
        if self.reconstruction is not None:
            lines.append("  reconstruction after the pass:")
            for row in self.reconstruction:
                lines.append("    " + " ".join(f"{v:6g}" for v in row))
        return "\n".join(lines)


@dataclass
class Trace:
    """All traced passes of one coder run on one coefficient array."""

    codec: str
    coefficients: np.ndarray
    levels: int
    passes: list
    image_shape: tuple | None = None  # set when the trace started from an image
    image_offset: int = 0

    def image(self, k: int) -> np.ndarray:
        """The decoded image after pass ``k`` (traces started from an image only)."""
        if self.image_shape is None:
            raise InvalidArgumentError("this trace was made from coefficients, not from an image")
        rec = np.rint(self.passes[k].reconstruction).astype(np.int32)
        img = T.inverse(rec, shape=self.image_shape, wavelet="legall53", levels=self.levels) + self.image_offset
        return np.clip(img, 0, None)

    def __str__(self) -> str:
        return "\n\n".join(p.table() for p in self.passes)

    def plot(self, path: str | None = None):
        """Significance map over the subband layout and reconstruction, one column per pass."""
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise MissingDependencyError("Trace.plot needs matplotlib: pip install 'wavecodec[plot]'") from None
        n = len(self.passes)
        fig, axes = plt.subplots(2, max(n, 1), figsize=(3 * max(n, 1), 6), squeeze=False)
        h, w = self.coefficients.shape
        lines = _band_lines(h, w, self.levels)
        for k, p in enumerate(self.passes):
            sig = np.zeros((h, w))
            for s in p.symbols:
                if s.symbol in ("P", "N", "PT", "NT", "+", "-"):
                    sig[s.row, s.col] = 1
            axes[0, k].imshow(sig, cmap="Greys", vmin=0, vmax=1)
            for (r0, c0, r1, c1) in lines:
                axes[0, k].plot([c0 - 0.5, c1 - 0.5], [r0 - 0.5, r1 - 0.5], color="tab:red", lw=0.8)
            axes[0, k].set_title(f"T={p.threshold}: new significant")
            if self.image_shape is not None:
                axes[1, k].imshow(self.image(k), cmap="gray")
                axes[1, k].set_title("decoded image")
            else:
                axes[1, k].imshow(p.reconstruction, cmap="gray")
                axes[1, k].set_title("coefficients")
            for ax in axes[:, k]:
                ax.set_xticks([])
                ax.set_yticks([])
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


def _as_coefficients(data: Any, levels: int | None) -> tuple[np.ndarray, int, tuple | None, int]:
    a = np.asarray(data)
    if a.ndim != 2:
        raise InvalidArgumentError("trace takes a 2-D grayscale image or coefficient array")
    if a.dtype in (np.uint8, np.uint16):
        # an image: lossless integer transform, so every coefficient is an integer
        from .coders._bitplane import forward_coefficients

        lv = T.default_levels(*a.shape) if levels is None else T.check_levels(levels, *a.shape)
        [(q, plan)] = forward_coefficients(a[:, :, None], lossless=True, wavelet="legall53", levels=lv,
                                           bit_depth=a.dtype.itemsize * 8)
        return q[0], lv, a.shape, int(plan.offsets[0])
    if not np.issubdtype(a.dtype, np.integer):
        raise InvalidArgumentError("coefficients must be integers (or pass a uint8/uint16 image)")
    if levels is None:
        raise InvalidArgumentError("levels is required when tracing a coefficient array")
    return a.astype(np.int64), int(levels), None, 0


def _apply(rec_state: dict, kind: str, row: int, col: int, symbol: str, plane: int) -> None:
    """Decoder-side interval update: new significance -> [2**n, 2**(n+1)); a refinement bit halves it."""
    if kind == "new":
        rec_state[(row, col)] = [1 << plane, 1 << plane, -1 if symbol in ("N", "NT", "-") else 1]
    elif kind == "refine":
        lo, width, sign = rec_state[(row, col)]
        width //= 2 if width > 1 else 1
        lo += int(symbol) * width
        rec_state[(row, col)] = [lo, width, sign]


def _reconstruction(rec_state: dict, shape: tuple) -> np.ndarray:
    out = np.zeros(shape)
    for (i, j), (lo, width, sign) in rec_state.items():
        out[i, j] = sign * (lo + width / 2.0)
    return out


def trace(data: Any, codec: str = "ezw", *, passes: int | None = None, levels: int | None = None,
          scan: str = "strict") -> Trace:
    """Trace the passes of ``codec`` ('ezw', 'imp1ezw' or 'spiht') on coefficients or an image.

    ``data``: a 2-D integer coefficient array in the tree layout of
    :mod:`wavecodec.transform` (sides multiples of ``2**levels`` for EZW,
    ``2**(levels+1)`` for SPIHT; ``levels`` required), or a uint8/uint16 grayscale image (transformed with the integer
    5/3 first).  ``passes`` limits the trace to the first thresholds.  For EZW
    ``scan`` picks the strict (default) or 'rescan' convention.  Reconstructions
    are the decoder's values after each pass (interval midpoints; the codecs'
    'optimized' reconstruction points are not applied here).
    """
    q, lv, image_shape, offset = _as_coefficients(data, levels)
    h, w = q.shape
    # SPIHT groups the LL band in 2x2, so its LL slot must have even sides; EZW's may be 1x1
    unit = 1 << (lv + 1) if codec == "spiht" else 1 << lv
    if h % unit or w % unit:
        raise InvalidArgumentError(f"coefficient array sides must be multiples of {unit} for {codec!r} with"
                                   f" levels={lv}, got {q.shape}")
    if passes is not None and (isinstance(passes, bool) or not isinstance(passes, (int, np.integer)) or passes < 1):
        raise InvalidArgumentError(f"passes must be a positive int or None, got {passes!r}")
    top = int(np.abs(q).max())
    n_max = top.bit_length() - 1
    names = _subband_names(h, w, lv)
    if n_max < 0:
        return Trace(codec, q, lv, [], image_shape, offset)
    capacity = q.size * (n_max + 2) * 3
    records = []
    if codec in ("ezw", "imp1ezw"):
        from .coders import ezw as E
        from .coders import imp1ezw as I
        from ._kernels import ezw as EK

        if scan not in ("strict", "rescan") or (codec == "imp1ezw" and scan != "strict"):
            raise InvalidArgumentError(f"scan must be 'strict' or (EZW only) 'rescan', got {scan!r}")
        coder = E if codec == "ezw" else I
        # the paper's pass order: each dominant pass is followed by the refinement of every entry
        res = coder.encode_coefficients(q[None], variant="plain", scan=scan, order="shapiro", levels=lv, n_max=n_max,
                                        budget=None, trace_capacity=capacity)
        for n, kind, _c, i, j, bit in res.trace.tolist():
            if kind == EK.T_SUB:
                records.append((n, "subordinate", str(bit), i, j, "refine"))
            else:
                name = _EZW_NAMES[kind]
                records.append((n, "dominant", name, i, j, "new" if name in ("P", "N", "PT", "NT") else None))
    elif codec == "spiht":
        from .coders import spiht as S

        res = S.encode_coefficients(q[None], variant="binary", levels=lv, n_max=n_max, budget=None,
                                    trace_capacity=capacity)
        for n, kind, _c, i, j, bit in res.trace.tolist():
            name = _SPIHT_KINDS[kind]
            if name == "sign":
                records.append((n, "sign", "-" if bit else "+", i, j, "new"))
            elif name == "refine":
                records.append((n, "refine", str(bit), i, j, "refine"))
            else:
                records.append((n, name, str(bit), i, j, None))
    else:
        raise InvalidArgumentError(f"trace supports codec 'ezw', 'imp1ezw' or 'spiht', not {codec!r}")
    out: dict[int, TracePass] = {}
    rec_state: dict = {}
    for n, kind, symbol, i, j, effect in records:
        if passes is not None and n <= n_max - passes:
            break
        p = out.setdefault(n, TracePass(n))
        p.symbols.append(TraceSymbol(kind, symbol, i, j, names[i, j], int(q[i, j])))
        if effect is not None:
            _apply(rec_state, effect, i, j, symbol, n)
        p.reconstruction = _reconstruction(rec_state, q.shape)
    return Trace(codec, q, lv, [out[n] for n in sorted(out, reverse=True)], image_shape, offset)
