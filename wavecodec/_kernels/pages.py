"""Buffers whose unused pages can be handed back to the operating system (plain Python).

Why: the coders' lists (SPIHT's LIP and LIS) are allocated at their largest possible size,
and only the part that coding reaches is ever touched, and so resident.  But a list that
shrinks (the LIP as its pixels turn significant, the LIS as its sets are split) keeps the
pages it once reached: at the last bit-plane of a lossless SPIHT decode of a 2048^2 Kodak
mosaic the LIP had reached 1.18 bytes per sample and held 0.55, the LIS 0.6 and 0.01,
while the LSP was at its largest.  :func:`release_beyond` gives such pages back
(``madvise(MADV_DONTNEED)``: the next touch maps a fresh zero page), so that a decode's
peak is what its lists hold, not what they once held.  The contents past the used part are
lost, which is what a list's free tail is.  Likewise a decoder's copy of its payload,
which it reads from start to end: :func:`release_before` gives back the part behind it
(between passes, :func:`.arith.passes_done`).  Where ``madvise`` is not available
(Windows), nothing is released.
"""

from __future__ import annotations

import mmap

import numpy as np

#: buffers below this many bytes are ordinary arrays: too small to matter
MAPPED_MIN_BYTES = 1 << 20
_CAN_RELEASE = all(hasattr(mmap, name) for name in ("MADV_DONTNEED", "MAP_PRIVATE", "MAP_ANONYMOUS")) and hasattr(
    mmap.mmap, "madvise")


def list_buffer(n: int, dtype) -> np.ndarray:
    """An uninitialised 1-d array of ``n`` elements, like ``np.empty``; big ones are anonymous
    memory maps whose pages :func:`release_beyond` can give back."""
    nbytes = int(n) * np.dtype(dtype).itemsize
    if not _CAN_RELEASE or nbytes < MAPPED_MIN_BYTES:
        return np.empty(n, dtype=dtype)
    # private: released pages are freed (a shared mapping's would stay in memory, only unmapped)
    mapping = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(mapping, dtype=dtype)


def zeroed_buffer(shape, dtype) -> np.ndarray:
    """A zero-filled array of ``shape``, like ``np.zeros``; a big one is an anonymous memory map of
    its own (zero pages from the system), whose memory goes back to the operating system when the
    array is freed.  (``np.zeros`` memory that ``malloc`` took from its heap may stay with the
    process after it is freed and add to the next big array's: the ecbp encoder's state between
    the steps of its quantiser-step search.)"""
    n = int(np.prod(shape, dtype=np.int64))
    if not _CAN_RELEASE or n * np.dtype(dtype).itemsize < MAPPED_MIN_BYTES:
        return np.zeros(shape, dtype=dtype)
    return list_buffer(n, dtype).reshape(shape)


def release_beyond(array: np.ndarray, used: int) -> None:
    """Give back the whole memory pages of a :func:`list_buffer` past its first ``used`` elements
    (no effect on other arrays).  Their contents are lost; they read as zeros when touched again."""
    mapping = getattr(array.base, "obj", None)
    if not isinstance(mapping, mmap.mmap):
        return
    start = -(-int(used) * array.itemsize // mmap.PAGESIZE) * mmap.PAGESIZE
    if start < len(mapping):
        mapping.madvise(mmap.MADV_DONTNEED, start, len(mapping) - start)


def release_before(array: np.ndarray, used: int) -> None:
    """Give back the whole memory pages of a :func:`list_buffer` that lie within its first ``used``
    elements (no effect on other arrays).  Their contents are lost; they read as zeros when touched again."""
    mapping = getattr(array.base, "obj", None)
    if not isinstance(mapping, mmap.mmap):
        return
    end = max(int(used), 0) * array.itemsize // mmap.PAGESIZE * mmap.PAGESIZE
    if end > 0:
        mapping.madvise(mmap.MADV_DONTNEED, 0, end)
