"""A readable trace of SPIHT's sorting and refinement passes, for teaching and tests.

>>> import numpy as np
>>> from wavecodec.coders.spiht_trace import spiht_trace, SHAPIRO_8X8
>>> t = spiht_trace(SHAPIRO_8X8, levels=2, planes=1)
>>> t.passes[0].bitstring()
'1+1-0011+000100000010101+0000'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidArgumentError
from .._kernels import spiht as _k
from . import spiht as _spiht

#: The 8x8 wavelet-coefficient example of Shapiro (IEEE TSP 1993), used by Said & Pearlman too.
SHAPIRO_8X8 = np.array(
    [
        [63, -34, 49, 10, 7, 13, -12, 7],
        [-31, 23, 14, -13, 3, 4, 6, -1],
        [15, 14, 3, -12, 5, -7, 3, 9],
        [-9, -7, -14, 8, 4, -2, 3, 2],
        [-5, 9, -1, 47, 4, 6, -2, 2],
        [3, 0, -3, 2, 3, -2, 0, 4],
        [2, -3, 6, -4, 3, 6, 3, 6],
        [5, 11, 5, 6, 0, 3, -4, 4],
    ],
    dtype=np.int64,
)

KIND_NAMES = {
    _k.T_LIP: "LIP",
    _k.T_SIGN: "sign",
    _k.T_SET_A: "D-set",
    _k.T_SET_B: "L-set",
    _k.T_OFFSPRING: "offspring",
    _k.T_REFINE: "refine",
}


@dataclass(frozen=True)
class TraceBit:
    """One emitted bit: what was tested, where, and the bit."""

    plane: int
    kind: str
    channel: int
    row: int
    col: int
    bit: int
    value: int  # the coefficient (signed) at (row, col)

    def symbol(self) -> str:
        if self.kind == "sign":
            return "-" if self.bit else "+"
        return str(self.bit)


@dataclass
class TracePass:
    """All bits of one bit-plane ``n`` (threshold ``2**n``): sorting then refinement."""

    plane: int
    bits: list = field(default_factory=list)

    @property
    def threshold(self) -> int:
        return 1 << self.plane

    def sorting(self) -> list:
        return [b for b in self.bits if b.kind != "refine"]

    def refinement(self) -> list:
        return [b for b in self.bits if b.kind == "refine"]

    def bitstring(self, part: str = "sorting") -> str:
        """The pass's bits as text, sign bits as ``+``/``-`` (``part``: 'sorting', 'refinement' or 'all')."""
        bits = {"sorting": self.sorting, "refinement": self.refinement, "all": lambda: self.bits}[part]()
        return "".join(b.symbol() for b in bits)

    def table(self) -> str:
        """Textbook-style table: one row per emitted bit."""
        lines = [f"bit-plane n={self.plane} (threshold {self.threshold})",
                 f"  {'test':10} {'(row,col)':10} {'value':>6}  bit"]
        for b in self.bits:
            lines.append(f"  {b.kind:10} {f'({b.row},{b.col})':10} {b.value:>6}  {b.symbol()}")
        return "\n".join(lines)


@dataclass
class SpihtTrace:
    """The passes of a SPIHT run, from the top bit-plane down."""

    passes: list

    def __str__(self) -> str:
        return "\n\n".join(p.table() for p in self.passes)


def spiht_trace(coefficients: np.ndarray, *, levels: int, planes: int | None = None) -> SpihtTrace:
    """Trace binary-uncoded SPIHT on integer wavelet coefficients in the tree layout.

    ``coefficients``: a 2-D integer array whose sides are multiples of
    ``2**(levels + 1)``, with the top-left ``(h >> levels) x (w >> levels)`` block as the
    LL band grouped in 2x2 (paper Sec. III, Fig. 2).  ``planes`` limits the trace to
    the first bit-planes.  For Shapiro's example with ``levels=2`` (the 2x2 group
    63, -34, -31, 23 at the top) the first plane emits ``1+1-0011+000100000010101+0000``.
    """
    q = np.asarray(coefficients)
    if q.ndim != 2 or not np.issubdtype(q.dtype, np.integer):
        raise InvalidArgumentError("coefficients must be a 2-D integer array")
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 0:
        raise InvalidArgumentError(f"levels must be a non-negative int, got {levels!r}")
    unit = 1 << (levels + 1)
    h, w = q.shape
    if h % unit or w % unit:
        raise InvalidArgumentError(f"coefficient array sides must be multiples of 2**(levels+1) = {unit}, got {q.shape}")
    top = int(np.abs(q).max())
    n_max = top.bit_length() - 1
    if n_max < 0:
        return SpihtTrace([])
    if planes is not None and (isinstance(planes, bool) or not isinstance(planes, (int, np.integer)) or planes < 1):
        raise InvalidArgumentError(f"planes must be a positive int or None, got {planes!r}")
    capacity = q.size * (n_max + 2) * 3
    res = _spiht.encode_coefficients(q[None].astype(np.int64), variant="binary", levels=int(levels), n_max=n_max,
                                     budget=None, trace_capacity=capacity)
    passes: dict[int, TracePass] = {}
    for n, kind, c, i, j, bit in res.trace.tolist():
        if planes is not None and n <= n_max - planes:
            break
        passes.setdefault(n, TracePass(n)).bits.append(
            TraceBit(n, KIND_NAMES[kind], c, i, j, bit, int(q[i, j]))
        )
    return SpihtTrace([passes[n] for n in sorted(passes, reverse=True)])
