"""What the reference coders share: the bit channel, the decisions it records, the decoder's knowledge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

import numpy as np

Node = tuple[int, int, int]  # (colour plane, row, column) of a coefficient


class EndOfStream(Exception):
    """The decoder has read every bit it was given (an embedded stream may be cut anywhere)."""


class Decision(NamedTuple):
    """One coded decision: what was tested (``kind``), where, its bits, and how textbooks write it."""

    kind: str  # SPIHT: LIP, sign, D-set, L-set, offspring, refine; EZW: dominant, subordinate
    node: Node
    bits: str  # the bits on the channel, e.g. "1", or "10" for EZW's P
    symbol: str  # "0"/"1", "+"/"-" for a sign, or a dominant symbol (P, N, IZ, ZTR, Z, PT, NT)


class Channel:
    """The papers' "output" (encoder) or "input" (decoder).

    Encoder (``bits`` None): :meth:`put` appends the bit it is given.  Decoder:
    :meth:`put` ignores its argument and returns the next input bit instead, so the
    same code runs both sides (Said & Pearlman, Sec. III-C: "the decoder duplicates
    the execution path of the encoder"); it raises :class:`EndOfStream` when the
    input is exhausted.
    """

    def __init__(self, bits: Iterable[int] | None = None):
        self.decoding = bits is not None
        self.input = [int(b) for b in bits] if bits is not None else []
        self.bits: list[int] = []  # every bit written (or read) so far
        self.decisions: list[Decision] = []

    def put(self, bit: int) -> int:
        if self.decoding:
            if len(self.bits) == len(self.input):
                raise EndOfStream
            bit = self.input[len(self.bits)]
        self.bits.append(int(bit))
        return int(bit)

    def record(self, kind: str, node: Node, bits: str, symbol: str) -> None:
        self.decisions.append(Decision(kind, node, bits, symbol))


@dataclass
class Knowledge:
    """What the decoder knows of each significant coefficient after the bits so far.

    A coefficient found significant at threshold ``2**n`` is known to lie in
    ``[2**n, 2**(n+1))``; each refinement bit halves that interval.  ``bits[node]``
    holds the magnitude bits known, ``low[node]`` the lowest known bit-plane, so the
    magnitude lies in ``[bits, bits + 2**low)``.
    """

    shape: tuple[int, int, int]
    negative: dict = field(default_factory=dict)
    bits: dict = field(default_factory=dict)
    low: dict = field(default_factory=dict)

    def significant(self, node: Node, n: int, negative: int) -> None:
        self.negative[node], self.bits[node], self.low[node] = bool(negative), 1 << n, n

    def refine(self, node: Node, n: int, bit: int) -> None:
        """Bit ``n`` of the magnitude is now known."""
        self.bits[node] |= bit << n
        self.low[node] = n

    def reconstruction(self) -> np.ndarray:
        """Each coefficient at the midpoint of its interval (the papers' rule: 1.5 * 2**n when just found)."""
        out = np.zeros(self.shape)
        for node, bits in self.bits.items():
            value = bits + (1 << self.low[node]) / 2
            out[node] = -value if self.negative[node] else value
        return out


def as_planes(coefficients: np.ndarray) -> np.ndarray:
    """A 2-D array as one plane (1, h, w); 3-D arrays (planes, h, w) as they are; integers only."""
    q = np.asarray(coefficients)
    if q.ndim == 2:
        q = q[None]
    if q.ndim != 3 or not np.issubdtype(q.dtype, np.integer):
        raise ValueError("coefficients must be a 2-D or 3-D (planes, rows, columns) integer array")
    return q.astype(np.int64)


def top_plane(q: np.ndarray) -> int:
    """``n_max = floor(log2(max |c|))`` (Said & Pearlman step 1), -1 if every coefficient is 0."""
    return int(np.abs(q).max(initial=0)).bit_length() - 1


def pack_bits(bits: Iterable[int], budget: int | None = None) -> bytes:
    """Bits -> bytes, MSB first, the last byte padded with zeros; at most ``budget`` bytes (the kernels' raw output)."""
    bits = list(bits)
    if budget is not None:
        bits = bits[: 8 * budget]
    bits += [0] * (-len(bits) % 8)
    return bytes(int("".join(map(str, bits[k : k + 8])), 2) for k in range(0, len(bits), 8))


def unpack_bits(data: bytes) -> list[int]:
    """Bytes -> bits, MSB first."""
    return [(byte >> (7 - k)) & 1 for byte in data for k in range(8)]
