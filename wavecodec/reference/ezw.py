"""EZW and IMP1EZW in plain Python: Shapiro, IEEE TSP 41(12):3445-3462, 1993; Brahimi et al., AEU 73:183-192, 2017.

Written to be read next to Shapiro's paper: successive thresholds ``T = 2**n``,
each with a *dominant pass* (is each coefficient significant, and if not, is it
the root of a zerotree?) and a *subordinate pass* (one more magnitude bit of every
coefficient on the subordinate list).  IMP1EZW is the same coder with a larger
symbol map (:data:`IMP1EZW`: PT / NT = "significant, and its whole subtree is
not"), so the map is a parameter, not a second coder.  The bits are exactly those
of wavecodec's Numba kernels with ``variant="plain"`` (checked on hundreds of
random arrays by ``tests/test_reference.py``).

Coefficients are integers in the layout of :mod:`wavecodec.transform`
(``q[c, i, j]``, a 2-D array is one plane; sides multiples of ``2**levels``).
Trees: LL coefficient ``(i, j)`` has the three children ``(i, j+wl)``,
``(i+hl, j)``, ``(i+hl, j+wl)`` (``hl x wl`` = the LL band); a detail coefficient
``(i, j)`` in the top-left quadrant has the 2x2 children ``(2i..2i+1, 2j..2j+1)``;
the finest level has none.  Scan: plane by plane, subband by subband from
coarse to fine (LL, HL, LH, HH of level ``levels``, then of ``levels - 1``, ...;
HL is top-right), raster order inside a subband.

Options of the kernels:

``scan``
    ``"strict"``: a coefficient significant from an earlier pass gets no symbol,
    but its descendants are scanned (the decoder-consistent reading of Shapiro).
    ``"rescan"``: it stays in the scan, coded as a zero (Valens' tutorial).
``pass_order``
    ``"shapiro"``: the subordinate pass after threshold ``T`` refines every list
    entry (the ones just found included) with bit ``n - 1``; the last pass
    (``T = 1``) has none.  ``"significance-first"``: it refines, with bit ``n``,
    only the entries of earlier passes (SPIHT's order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from ._common import Channel, Decision, EndOfStream, Knowledge, Node, as_planes, top_plane

__all__ = ["SymbolMap", "EZW", "IMP1EZW", "Trees", "ZerotreePass", "passes", "encode", "decode"]


@dataclass(frozen=True)
class SymbolMap:
    """Dominant-pass symbols and their bits: for coefficients with descendants, and at the finest level."""

    name: str
    inner: dict[str, str]
    leaf: dict[str, str]

    @property
    def subtree_symbols(self) -> bool:
        """Whether PT / NT ("significant, and the whole subtree insignificant") exist."""
        return "PT" in self.inner


#: Shapiro's four symbols as fixed 2-bit codes; Z (a zero without descendants) at the finest level.
EZW = SymbolMap("ezw", inner={"ZTR": "00", "IZ": "01", "P": "10", "N": "11"},
                leaf={"Z": "00", "P": "10", "N": "11"})
#: EZW's symbols plus PT / NT: a significant coefficient and its zerotree in one symbol.
IMP1EZW = SymbolMap("imp1ezw", inner={"ZTR": "00", "IZ": "01", "P": "100", "N": "110", "PT": "101", "NT": "111"},
                    leaf={"Z": "00", "P": "10", "N": "11"})


class Trees:
    """EZW's parent-child trees and scan order over a ``(planes, h, w)`` array."""

    def __init__(self, shape: tuple[int, int, int], levels: int):
        self.planes, self.height, self.width = shape
        self.levels = levels
        self.ll_height, self.ll_width = self.height >> levels, self.width >> levels

    def children(self, node: Node) -> list[Node]:
        c, i, j = node
        if self.levels == 0:
            return []
        if i < self.ll_height and j < self.ll_width:
            return [(c, i, j + self.ll_width), (c, i + self.ll_height, j), (c, i + self.ll_height, j + self.ll_width)]
        if i < self.height // 2 and j < self.width // 2:
            return [(c, 2 * i, 2 * j), (c, 2 * i, 2 * j + 1), (c, 2 * i + 1, 2 * j), (c, 2 * i + 1, 2 * j + 1)]
        return []

    def parent(self, node: Node) -> Node | None:
        c, i, j = node
        if i < self.ll_height and j < self.ll_width:
            return None
        if i < 2 * self.ll_height and j < 2 * self.ll_width:  # coarsest detail bands: an LL parent
            return c, i % self.ll_height, j % self.ll_width
        return c, i // 2, j // 2

    def scan(self) -> list[Node]:
        """Every node: plane by plane, LL then HL, LH, HH from coarse to fine, raster order in a band."""
        bands = [(0, self.ll_height, 0, self.ll_width)]
        for k in range(self.levels, 0, -1):
            h, w = self.height >> k, self.width >> k
            bands += [(0, h, w, 2 * w), (h, 2 * h, 0, w), (h, 2 * h, w, 2 * w)]
        return [(c, i, j) for c in range(self.planes) for (r0, r1, c0, c1) in bands
                for i in range(r0, r1) for j in range(c0, c1)]


@dataclass
class ZerotreePass:
    """The pass at threshold ``2**n``: its decisions, the subordinate list and the decoder's coefficients after it."""

    n: int
    decisions: list[Decision]
    subordinate_list: list[Node]
    reconstruction: np.ndarray
    complete: bool = True


def passes(levels: int, n_max: int, *, coefficients: np.ndarray | None = None, bits: Sequence[int] | None = None,
           shape: tuple[int, int, int] | None = None, symbols: SymbolMap = EZW, scan: str = "strict",
           pass_order: str = "shapiro") -> Iterator[ZerotreePass]:
    """Run the coder from threshold ``2**n_max`` down to 1, yielding each pass (dominant, then subordinate).

    Encoder: give ``coefficients``.  Decoder: give ``bits`` and ``shape``; it stops
    (with an incomplete last pass) when the bits run out; a symbol whose bits are
    not all there is dropped.
    """
    if scan not in ("strict", "rescan") or pass_order not in ("shapiro", "significance-first"):
        raise ValueError(f"unknown scan {scan!r} or pass order {pass_order!r}")
    if coefficients is not None:
        q = as_planes(coefficients)
        magnitude = {node: abs(int(v)) for node, v in np.ndenumerate(q)}
        negative = {node: v < 0 for node, v in np.ndenumerate(q)}
    else:  # the decoder never looks at these: the channel supplies every bit
        q = np.zeros(shape, dtype=np.int64)
        magnitude = negative = dict.fromkeys(np.ndindex(q.shape), 0)
    trees = Trees(q.shape, levels)
    order = trees.scan()
    io = Channel(bits)
    known = Knowledge(q.shape)  # its keys: the coefficients found significant so far
    subordinate_list: list[Node] = []

    def transmit(node: Node, symbol: str) -> str:
        """Encoder: output the symbol's code.  Decoder: read a codeword and return its symbol."""
        table = symbols.inner if trees.children(node) else symbols.leaf
        if not io.decoding:
            for b in table[symbol]:
                io.put(int(b))
        else:
            word = ""
            while word not in table.values():  # a prefix code: read until a codeword is complete
                word += str(io.put(0))
            symbol = next(s for s, w in table.items() if w == word)
        io.record("dominant", node, table[symbol], symbol)
        return symbol

    n = n_max
    start = 0
    try:
        for n in range(n_max, -1, -1):
            T = 1 << n
            start = len(io.decisions)
            # the largest descendant of each node, with coefficients found in earlier passes as 0
            d_max = {}
            for node in reversed(order):
                kids = trees.children(node)
                if kids:
                    d_max[node] = max(max(0 if k in known.bits else magnitude[k], d_max.get(k, 0)) for k in kids)

            # Dominant pass: in scan order, every coefficient not inside a zerotree of this pass
            # is P / N if significant (|c| >= T), otherwise IZ (some descendant is significant),
            # ZTR (none is: one symbol for the whole tree) or Z (it has no descendants).
            # IMP1EZW: PT / NT for a significant coefficient whose descendants are all insignificant.
            zerotree = set()  # roots of zerotrees in this pass, and their descendants as the scan meets them
            for node in order:
                if trees.parent(node) in zerotree:
                    zerotree.add(node)  # predictably insignificant: no symbol
                    continue
                was_significant = node in known.bits
                if was_significant and scan == "strict":
                    continue
                has_descendants = bool(trees.children(node))
                subtree_significant = has_descendants and d_max[node] >= T
                if not was_significant and magnitude[node] >= T:
                    symbol = "N" if negative[node] else "P"
                    if symbols.subtree_symbols and has_descendants and not subtree_significant:
                        symbol += "T"
                else:
                    symbol = "IZ" if subtree_significant else ("ZTR" if has_descendants else "Z")
                symbol = transmit(node, symbol)
                if symbol in ("P", "N", "PT", "NT"):
                    known.significant(node, n, symbol[0] == "N")
                    subordinate_list.append(node)
                if symbol in ("ZTR", "PT", "NT"):
                    zerotree.add(node)

            # Subordinate pass: one more magnitude bit of the list's entries, i.e. the upper or
            # lower half of each one's uncertainty interval
            if pass_order == "shapiro":
                plane, entries = n - 1, subordinate_list if n > 0 else []
            else:
                plane, entries = n, [node for node in subordinate_list if known.low[node] > n]
            for node in entries:
                bit = io.put((magnitude[node] >> plane) & 1)
                io.record("subordinate", node, str(bit), str(bit))
                known.refine(node, plane, bit)
            # Shapiro: re-order by the magnitudes the decoder knows, largest first (a stable sort)
            subordinate_list.sort(key=lambda node: known.bits[node], reverse=True)
            yield ZerotreePass(n, io.decisions[start:], list(subordinate_list), known.reconstruction())
    except EndOfStream:
        yield ZerotreePass(n, io.decisions[start:], list(subordinate_list), known.reconstruction(), complete=False)


def encode(coefficients: np.ndarray, levels: int, n_max: int | None = None, *, symbols: SymbolMap = EZW,
           scan: str = "strict", pass_order: str = "shapiro") -> list[int]:
    """All the bits, from threshold ``2**n_max`` (default: the top bit-plane) down to 1.

    ``pack_bits(encode(q, levels, n_max, ...), budget)`` equals the kernels'
    ``variant="plain"`` payload (:data:`EZW`: ``wavecodec.coders.ezw``, :data:`IMP1EZW`:
    ``wavecodec.coders.imp1ezw``) with the same scan, pass order, n_max and budget.
    """
    q = as_planes(coefficients)
    n_max = top_plane(q) if n_max is None else n_max
    run = passes(levels, n_max, coefficients=q, symbols=symbols, scan=scan, pass_order=pass_order)
    return [int(b) for p in run for d in p.decisions for b in d.bits]


def decode(bits: Sequence[int], shape: tuple[int, ...], levels: int, n_max: int, *, symbols: SymbolMap = EZW,
           scan: str = "strict", pass_order: str = "shapiro") -> np.ndarray:
    """The coefficients a decoder holds after ``bits`` (any prefix of a stream), at interval midpoints."""
    planes = tuple(shape) if len(shape) == 3 else (1, *shape)
    result = np.zeros(planes)
    for p in passes(levels, n_max, bits=bits, shape=planes, symbols=symbols, scan=scan, pass_order=pass_order):
        result = p.reconstruction
    return result.reshape(shape)
