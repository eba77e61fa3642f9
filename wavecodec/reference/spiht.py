"""SPIHT in plain Python: Said & Pearlman, IEEE TCSVT 6(3):243-250, 1996, Sec. III.

Written to be read next to the paper, with its names: the threshold ``2**n``,
the sets ``O(i,j)``, ``D(i,j)`` and ``L(i,j) = D(i,j) - O(i,j)``, the significance
test ``S_n``, and the three lists LIP, LIS and LSP.  It produces exactly the bits
of wavecodec's Numba kernel with ``variant="binary"`` (checked on hundreds of
random arrays by ``tests/test_reference.py``), at a few thousand bits per second
instead of tens of millions.

Coefficients are integers in the zero-padded dyadic layout of
:mod:`wavecodec.transform`: ``q[c, i, j]`` for plane ``c`` (a 2-D array is one
plane), both sides multiples of ``2**(levels + 1)``, the LL band in the top-left
``(h >> levels) x (w >> levels)`` corner.  Colour planes share one forest: the
lists hold the nodes of every plane, plane by plane, so each pass visits all
planes with the same threshold.

The decoder is the encoder with every "output" replaced by an "input"
(Sec. III-C): :class:`~wavecodec.reference._common.Channel` supplies the bits,
and the coefficient values the encoder would test are never looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from ._common import Channel, Decision, EndOfStream, Knowledge, Node, as_planes, top_plane

__all__ = ["Forest", "SpihtPass", "passes", "encode", "decode"]


class Forest:
    """The spatial orientation trees (Sec. III-A, Fig. 2).

    Outside the LL band, node ``(i, j)`` has the four offspring
    ``O(i,j) = {(2i, 2j), (2i, 2j+1), (2i+1, 2j), (2i+1, 2j+1)}``, except at the
    finest level, which has none.  The LL band is read in 2x2 groups: the top-left
    member of a group has no offspring; each other member points to the 2x2 block
    at the same place in the coarsest detail band of its orientation (HL, LH, HH).
    """

    def __init__(self, shape: tuple[int, int, int], levels: int):
        self.planes, self.height, self.width = shape
        self.levels = levels
        self.ll_height, self.ll_width = self.height >> levels, self.width >> levels

    def roots(self) -> list[Node]:
        """``H``: the LL coefficients, plane by plane, in raster order."""
        return [(c, i, j) for c in range(self.planes) for i in range(self.ll_height) for j in range(self.ll_width)]

    def offspring(self, node: Node) -> list[Node]:
        """``O(i,j)``, as a 2x2 block in raster order (empty for leaves)."""
        c, i, j = node
        if i < self.ll_height and j < self.ll_width:  # in the LL band
            di, dj = i % 2, j % 2
            if self.levels == 0 or (di, dj) == (0, 0):
                return []
            r, s = di * self.ll_height + i - di, dj * self.ll_width + j - dj
        elif i < self.height // 2 and j < self.width // 2:
            r, s = 2 * i, 2 * j
        else:
            return []  # finest level
        return [(c, r, s), (c, r, s + 1), (c, r + 1, s), (c, r + 1, s + 1)]

    def has_grandchildren(self, node: Node) -> bool:
        """Whether ``L(i,j)`` is non-empty."""
        return bool(self.offspring(self.offspring(node)[0]))


def set_maxima(magnitude: dict, forest: Forest) -> tuple[dict, dict]:
    """``max |c|`` over ``D(i,j)`` and over ``L(i,j)`` for every node with offspring.

    ``S_n(set) = 1`` iff that maximum is ``>= 2**n``.  Nodes are visited in reverse
    raster order, which meets every offspring before its parent.
    """
    d_max: dict = {}
    l_max: dict = {}
    for node in reversed(list(magnitude)):
        kids = forest.offspring(node)
        if kids:
            l_max[node] = max(d_max.get(k, 0) for k in kids)
            d_max[node] = max(l_max[node], *(magnitude[k] for k in kids))
    return d_max, l_max


@dataclass
class SpihtPass:
    """The pass at threshold ``2**n``: its decisions and the state once it is over.

    The lists are ``None`` for a pass cut short by the end of the decoder's input.
    LIS entries are ``(node, "A")`` for ``D(i,j)`` and ``(node, "B")`` for ``L(i,j)``.
    """

    n: int
    decisions: list[Decision]
    LIP: list[Node] | None
    LIS: list[tuple[Node, str]] | None
    LSP: list[Node] | None
    reconstruction: np.ndarray  # the decoder's coefficients: midpoints of the uncertainty intervals
    complete: bool = True


def passes(levels: int, n_max: int, *, coefficients: np.ndarray | None = None, bits: Sequence[int] | None = None,
           shape: tuple[int, int, int] | None = None) -> Iterator[SpihtPass]:
    """Run SPIHT from threshold ``2**n_max`` down to 1, yielding each pass.

    Encoder: give ``coefficients``.  Decoder: give ``bits`` and ``shape``
    ``(planes, h, w)``; it stops (with an incomplete last pass) when the bits run out.
    """
    if coefficients is not None:
        q = as_planes(coefficients)
        magnitude = {node: abs(int(v)) for node, v in np.ndenumerate(q)}
        negative = {node: int(v < 0) for node, v in np.ndenumerate(q)}
    else:  # the decoder never looks at these: the channel supplies every bit
        q = np.zeros(shape, dtype=np.int64)
        magnitude = negative = dict.fromkeys(np.ndindex(q.shape), 0)
    forest = Forest(q.shape, levels)
    d_max, l_max = set_maxima(magnitude, forest)
    io = Channel(bits)
    known = Knowledge(q.shape)

    def output(kind: str, node: Node, bit: int) -> int:
        bit = io.put(bit)
        io.record(kind, node, str(bit), str(bit))
        return bit

    def output_sign_and_move_to_lsp(node: Node) -> None:
        s = io.put(negative[node])
        io.record("sign", node, str(s), "-" if s else "+")
        known.significant(node, n, s)
        LSP.append(node)

    # Step 1, initialisation: n = floor(log2 max |c|) (given), LSP empty, LIP = H,
    # LIS = the members of H that have descendants, as type A entries
    LSP: list[Node] = []
    LIP: list[Node] = forest.roots()
    LIS: list[tuple[Node, str]] = [(node, "A") for node in LIP if forest.offspring(node)]
    n = n_max
    start = 0
    try:
        for n in range(n_max, -1, -1):
            T = 1 << n
            start = len(io.decisions)
            refine_count = len(LSP)  # step 3 refines only the entries of earlier passes

            # Step 2.1, sorting pass: for each entry of the LIP output S_n(i,j) (2.1.1);
            # if it is 1, move (i,j) to the LSP and output its sign (2.1.2)
            still_insignificant = []
            for node in LIP:
                if output("LIP", node, magnitude[node] >= T):
                    output_sign_and_move_to_lsp(node)
                else:
                    still_insignificant.append(node)
            LIP = still_insignificant

            # Step 2.2: for each entry of the LIS, in order; entries added at its end
            # during this pass are visited in this pass too (the list is a queue)
            kept = []
            position = 0
            while position < len(LIS):
                node, kind = LIS[position]
                position += 1
                if kind == "A":  # 2.2.1: output S_n(D(i,j)); if 1, test each (k,l) in O(i,j) ...
                    if output("D-set", node, d_max[node] >= T):
                        for child in forest.offspring(node):
                            if output("offspring", child, magnitude[child] >= T):
                                output_sign_and_move_to_lsp(child)
                            else:
                                LIP.append(child)  # tested from the next pass on
                        # ... and (i,j) moves to the end of the LIS as type B if L(i,j) is not
                        # empty (tested when the scan reaches it, as in the paper's example),
                        # otherwise it leaves the LIS
                        if forest.has_grandchildren(node):
                            LIS.append((node, "B"))
                    else:
                        kept.append((node, "A"))
                else:  # 2.2.2: output S_n(L(i,j)); if 1, O(i,j) joins the end as type A, (i,j) leaves
                    if output("L-set", node, l_max[node] >= T):
                        LIS.extend((child, "A") for child in forest.offspring(node))
                    else:
                        kept.append((node, "B"))
            LIS = kept

            # Step 3, refinement pass: for each LSP entry except those just found, output
            # the n-th most significant bit of |c(i,j)|
            for node in LSP[:refine_count]:
                known.refine(node, n, output("refine", node, (magnitude[node] >> n) & 1))

            yield SpihtPass(n, io.decisions[start:], list(LIP), list(LIS), list(LSP), known.reconstruction())
            # Step 4, quantisation-step update: n -> n - 1
    except EndOfStream:
        yield SpihtPass(n, io.decisions[start:], None, None, None, known.reconstruction(), complete=False)


def encode(coefficients: np.ndarray, levels: int, n_max: int | None = None) -> list[int]:
    """All the bits, from ``n_max`` (default: the top bit-plane of the coefficients) down to plane 0.

    ``pack_bits(encode(q, levels, n_max), budget)`` equals the kernel's
    ``variant="binary"`` payload for the same coefficients, levels, n_max and budget.
    """
    q = as_planes(coefficients)
    n_max = top_plane(q) if n_max is None else n_max
    return [int(d.bits) for p in passes(levels, n_max, coefficients=q) for d in p.decisions]


def decode(bits: Sequence[int], shape: tuple[int, ...], levels: int, n_max: int) -> np.ndarray:
    """The coefficients a decoder holds after ``bits`` (any prefix of a stream), at interval midpoints."""
    planes = tuple(shape) if len(shape) == 3 else (1, *shape)
    result = np.zeros(planes)
    for p in passes(levels, n_max, bits=bits, shape=planes):
        result = p.reconstruction
    return result.reshape(shape)
