"""Deprecated: ``wavecodec.spiht_trace`` is ``wavecodec.trace(..., codec="spiht")`` in SPIHT's vocabulary.

Kept as a thin alias (no warning, so existing scripts and pages keep running):
:func:`spiht_trace` runs :func:`wavecodec.trace` and regroups its decisions as
bits.  New code should use :func:`wavecodec.trace`, which also shows the
LIP / LIS / LSP contents after each pass and works for EZW and IMP1EZW too.

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
from ..reference import SHAPIRO_8X8
from ..trace import trace

__all__ = ["spiht_trace", "SpihtTrace", "TracePass", "TraceBit", "SHAPIRO_8X8"]


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
    """Deprecated alias of ``wavecodec.trace(coefficients, codec="spiht", levels=levels, passes=planes)``.

    ``coefficients``: a 2-D integer array whose sides are multiples of
    ``2**(levels + 1)``, the top-left ``(h >> levels) x (w >> levels)`` block being
    the LL band grouped in 2x2 (paper Sec. III, Fig. 2).  ``planes`` limits the
    trace to the first bit-planes.  For Shapiro's example with ``levels=2`` the
    first plane emits ``1+1-0011+000100000010101+0000``.
    """
    q = np.asarray(coefficients)
    if q.ndim != 2 or not np.issubdtype(q.dtype, np.integer):
        raise InvalidArgumentError("coefficients must be a 2-D integer array")
    if planes is not None and (isinstance(planes, bool) or not isinstance(planes, (int, np.integer)) or planes < 1):
        raise InvalidArgumentError(f"planes must be a positive int or None, got {planes!r}")
    t = trace(q, codec="spiht", levels=levels, passes=planes)
    return SpihtTrace([TracePass(p.plane, [TraceBit(p.plane, s.kind, 0, s.row, s.col, int(s.bits), s.value)
                                           for s in p.symbols]) for p in t.passes])
