"""The coders' list storage: SPIHT's LSP byte stream and list buffers that give pages back."""

import mmap

import numpy as np
import pytest
from numba import njit

from wavecodec._kernels import pages
from wavecodec._kernels.spiht import _append_lsp, _next_lsp


@njit(cache=False)
def _round_trip(entries, stream, sizes):
    pos = last = np.int64(0)
    for k in range(entries.size):
        pos, last = _append_lsp(stream, sizes, k, pos, last, entries[k])
    out = np.empty_like(entries)
    rpos = p = np.int64(0)
    for k in range(entries.size):
        rpos, p = _next_lsp(stream, sizes, k, rpos, p)
        out[k] = p
    return out, pos, rpos


def test_lsp_stream_round_trip_at_every_entry_size():
    rng = np.random.default_rng(7)
    # differences of every size class (1, 2, 3 and 5 bytes), both signs, up to the 37-bit limit
    steps = np.concatenate([rng.integers(-100, 100, 300), rng.integers(-30000, 30000, 300),
                            rng.integers(-(1 << 23), 1 << 23, 300)])
    entries = np.abs(np.cumsum(rng.permutation(steps))).astype(np.int64)
    entries = np.concatenate([entries, [(1 << 37) - 1, 0, (1 << 37) - 1, 5]]).astype(np.int64)
    stream = np.zeros(5 * entries.size + 8, dtype=np.uint8)
    sizes = np.zeros(entries.size // 4 + 1, dtype=np.uint8)
    out, written, read = _round_trip(entries, stream, sizes)
    assert np.array_equal(out, entries)
    assert written == read
    assert written < 5 * entries.size  # small differences took fewer bytes


def test_released_pages_lose_only_the_tail():
    n = pages.MAPPED_MIN_BYTES // 4 * 3
    a = pages.list_buffer(n, np.int32)
    assert a.shape == (n,) and a.dtype == np.int32 and a.flags.writeable
    a[:] = np.arange(n, dtype=np.int32)
    used = n // 3 + 5
    pages.release_beyond(a, used)
    assert np.array_equal(a[:used], np.arange(used, dtype=np.int32))
    if isinstance(getattr(a.base, "obj", None), mmap.mmap):  # where pages can be given back
        first_released = -(-used * 4 // mmap.PAGESIZE) * mmap.PAGESIZE // 4
        assert not a[first_released:].any()
        assert np.array_equal(a[used:first_released], np.arange(used, first_released, dtype=np.int32))


@pytest.mark.parametrize("n", [0, 10])
def test_small_list_buffers_are_plain_arrays(n):
    a = pages.list_buffer(n, np.int64)
    assert a.shape == (n,)
    pages.release_beyond(a, 0)  # no effect, no error


def test_released_prefix_loses_only_the_pages_read():
    n = pages.MAPPED_MIN_BYTES * 2
    a = pages.list_buffer(n, np.uint8)
    a[:] = 7
    pages.release_before(a, n // 3)
    if isinstance(getattr(a.base, "obj", None), mmap.mmap):  # where pages can be given back
        end = n // 3 // mmap.PAGESIZE * mmap.PAGESIZE
        assert not a[:end].any() and (a[end:] == 7).all()
    else:
        assert (a == 7).all()
    pages.release_before(a, -5)  # nothing read yet: no effect, no error
