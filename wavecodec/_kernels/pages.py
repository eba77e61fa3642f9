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

import ctypes
import mmap

import numpy as np

#: buffers below this many bytes are ordinary arrays: too small to matter
MAPPED_MIN_BYTES = 1 << 20
#: maps from this many bytes on ask for transparent huge pages (NumPy's threshold for its arrays)
HUGE_MIN_BYTES = 1 << 22
_HUGE = getattr(mmap, "MADV_HUGEPAGE", None)
_CAN_RELEASE = all(hasattr(mmap, name) for name in ("MADV_DONTNEED", "MAP_PRIVATE", "MAP_ANONYMOUS")) and hasattr(
    mmap.mmap, "madvise")


def list_buffer(n: int, dtype, *, huge: bool = False) -> np.ndarray:
    """An uninitialised 1-d array of ``n`` elements, like ``np.empty``; big ones are anonymous
    memory maps whose pages :func:`release_beyond` can give back.  ``huge``: for memory that
    is used whole (not a list whose tail is given back page by page: a huge page is resident
    as soon as one byte of it is touched, 8.66 instead of 7.0 bytes per sample beyond the
    output in a lossless SPIHT decode with its lists in huge pages)."""
    nbytes = int(n) * np.dtype(dtype).itemsize
    if not _CAN_RELEASE or nbytes < MAPPED_MIN_BYTES:
        return np.empty(n, dtype=dtype)
    # private: released pages are freed (a shared mapping's would stay in memory, only unmapped)
    mapping = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if huge and _HUGE is not None and nbytes >= HUGE_MIN_BYTES:
        # as NumPy does for its own arrays from 4 MiB: transparent huge pages where the system
        # gives them on request, 512 times fewer page faults (a 4096^2 SPIHT decode took
        # 1.2-1.5x the time with its coefficients in 4 KiB pages); a release within a huge page
        # splits it
        mapping.madvise(_HUGE)
    return np.frombuffer(mapping, dtype=dtype)


def zeroed_buffer(shape, dtype, *, huge: bool = False) -> np.ndarray:
    """A zero-filled array of ``shape``, like ``np.zeros``; a big one is an anonymous memory map of
    its own (zero pages from the system), whose memory goes back to the operating system when the
    array is freed.  (``np.zeros`` memory that ``malloc`` took from its heap may stay with the
    process after it is freed and add to the next big array's: the ecbp encoder's state between
    the steps of its quantiser-step search.)  ``huge``: as for :func:`list_buffer` (what
    ``np.zeros`` gives a big array, for memory used whole)."""
    n = int(np.prod(shape, dtype=np.int64))
    if not _CAN_RELEASE or n * np.dtype(dtype).itemsize < MAPPED_MIN_BYTES:
        return np.zeros(shape, dtype=dtype)
    return list_buffer(n, dtype, huge=huge).reshape(shape)


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


def _mapping_of(array: np.ndarray):
    """``(mapping, address)``: the :func:`list_buffer` memory map that ``array`` (or the array it
    is a view of) lies in and the map's start address, or ``(None, 0)``."""
    base = array
    while isinstance(base, np.ndarray):
        owner = base.base
        if isinstance(owner, memoryview) and isinstance(owner.obj, mmap.mmap):
            return owner.obj, base.__array_interface__["data"][0]
        if isinstance(owner, mmap.mmap):
            return owner, base.__array_interface__["data"][0]
        base = owner
    return None, 0


def release_span(array: np.ndarray, start: int, stop: int) -> int:
    """Give back the whole memory pages that hold elements ``start .. stop - 1`` of the
    C-contiguous ``array`` (any view of a :func:`list_buffer`; no effect on other arrays),
    and return the element from which the next call should start: ``stop`` rounded down to
    where the last released page ends, so that a caller releasing a growing prefix in steps
    (``done = release_span(a, done, n)``) misses no page.  The contents are lost; they read
    as zeros when touched again."""
    mapping, origin = _mapping_of(array)
    if mapping is None or stop <= start or not array.flags.c_contiguous:
        return start
    page = mmap.PAGESIZE
    here = array.__array_interface__["data"][0] - origin
    first = -(-(here + int(start) * array.itemsize) // page) * page
    end = min((here + int(stop) * array.itemsize) // page * page, len(mapping))
    if end <= first:
        return start
    mapping.madvise(mmap.MADV_DONTNEED, first, end - first)
    return max(int(start), (end - here) // array.itemsize)


def _find_malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows)
        return None


_MALLOC_TRIM = _find_malloc_trim()


def trim_heap() -> None:
    """Hand the allocator's free heap memory back to the system (glibc's ``malloc_trim(0)``; a
    no-op elsewhere).  NumPy's temporaries below glibc's mmap threshold (which rises to 32 MiB
    after a big array is freed) come from the heap, and once freed stay with the process;
    a phase that follows and maps its own big arrays would add to them.  canny-spiht calls
    it between its phases (measured on a 4096^2 gray mosaic at 0.1 bpp: the decoder's peak
    9.10 bytes per sample without, 9.00 with; at 2048^2 the encoder's 16.8 without, 14.4 with)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
