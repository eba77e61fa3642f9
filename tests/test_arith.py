"""Tests of the adaptive binary range coder (wavecodec._kernels.arith).

Uses the test helpers ``encode_bits(bits, ctxs, n_contexts, capacity) -> (bytes array, n)``
and ``decode_bits(data, n_bytes, ctxs, n_contexts) -> bits`` (stops when the input is
exhausted).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavecodec._kernels import arith as A


def _encode(bits: np.ndarray, ctxs: np.ndarray, n_contexts: int) -> np.ndarray:
    capacity = bits.shape[0] // 4 + 64
    data, n = A.encode_bits(bits.astype(np.int64), ctxs.astype(np.int64), n_contexts, capacity)
    assert n <= capacity
    assert data.dtype == np.uint8 and data.shape[0] == n
    return data


def _decode(data: np.ndarray, n_bytes: int, ctxs: np.ndarray, n_contexts: int) -> np.ndarray:
    return A.decode_bits(np.ascontiguousarray(data), n_bytes, ctxs.astype(np.int64), n_contexts)


def _source(rng, n: int, n_contexts: int, skew: str = "random"):
    ctxs = rng.integers(0, n_contexts, n)
    if skew == "random":
        p1 = rng.random(n_contexts)
    elif skew == "uniform":
        p1 = np.full(n_contexts, 0.5)
    else:
        p1 = rng.choice([0.01, 0.05, 0.95, 0.2], n_contexts)
    bits = (rng.random(n) < p1[ctxs]).astype(np.int64)
    return bits, ctxs.astype(np.int64), p1


def _entropy_bits(bits: np.ndarray, ctxs: np.ndarray, n_contexts: int) -> float:
    """Empirical conditional entropy (bits) of the sequence given its contexts."""
    total = 0.0
    for c in range(n_contexts):
        sel = bits[ctxs == c]
        if sel.size == 0:
            continue
        p = sel.mean()
        if 0 < p < 1:
            total += sel.size * -(p * math.log2(p) + (1 - p) * math.log2(1 - p))
    return total


@pytest.mark.parametrize("seed", range(12))
def test_round_trip_random_bits_random_contexts(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 20000))
    n_contexts = int(rng.integers(1, 300))
    bits, ctxs, _ = _source(rng, n, n_contexts, ["random", "uniform", "skewed"][seed % 3])
    data = _encode(bits, ctxs, n_contexts)
    out = _decode(data, data.shape[0], ctxs, n_contexts)
    np.testing.assert_array_equal(out, bits)


@pytest.mark.parametrize("bits", [[], [0], [1], [0] * 1000, [1] * 1000, [0, 1] * 500])
def test_round_trip_edge_sequences(bits):
    bits = np.array(bits, dtype=np.int64)
    ctxs = np.zeros(bits.shape[0], dtype=np.int64)
    data = _encode(bits, ctxs, 1)
    np.testing.assert_array_equal(_decode(data, data.shape[0], ctxs, 1), bits)
    assert data.shape[0] <= 5 + bits.shape[0] // 8 + 2


def test_deterministic():
    rng = np.random.default_rng(5)
    bits, ctxs, _ = _source(rng, 5000, 17)
    a = _encode(bits, ctxs, 17)
    b = _encode(bits.copy(), ctxs.copy(), 17)
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("p1", [0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.9, 0.99])
def test_skewed_source_compresses_near_entropy(p1):
    rng = np.random.default_rng(int(p1 * 1000))
    n = 50000
    bits = (rng.random(n) < p1).astype(np.int64)
    ctxs = np.zeros(n, dtype=np.int64)
    data = _encode(bits, ctxs, 1)
    h = _entropy_bits(bits, ctxs, 1)
    # adaptive model: a few percent over the empirical entropy, plus a handful of bytes
    assert 8 * data.shape[0] <= 1.04 * h + 8 * 8 + 0.002 * n, (8 * data.shape[0], h)
    np.testing.assert_array_equal(_decode(data, data.shape[0], ctxs, 1), bits)


def test_contexts_separate_statistics():
    # two interleaved sources with opposite skew: with one context each, the coder must
    # get near the conditional entropy; with a single shared context it cannot
    rng = np.random.default_rng(7)
    n = 40000
    ctxs = rng.integers(0, 2, n).astype(np.int64)
    bits = np.where(ctxs == 0, rng.random(n) < 0.03, rng.random(n) < 0.97).astype(np.int64)
    separate = _encode(bits, ctxs, 2).shape[0]
    shared = _encode(bits, np.zeros(n, np.int64), 1).shape[0]
    h = _entropy_bits(bits, ctxs, 2)
    assert 8 * separate <= 1.05 * h + 64
    assert shared > 3 * separate


def test_uniform_bits_cost_about_one_bit():
    rng = np.random.default_rng(8)
    n = 80000
    bits = rng.integers(0, 2, n).astype(np.int64)
    ctxs = np.zeros(n, np.int64)
    size = _encode(bits, ctxs, 1).shape[0]
    assert size <= n / 8 * 1.02 + 8


def test_nonstationary_source_adapts():
    # the probability flips halfway: the coder must re-learn (two-rate estimates)
    rng = np.random.default_rng(9)
    n = 40000
    p = np.where(np.arange(n) < n // 2, 0.02, 0.98)
    bits = (rng.random(n) < p).astype(np.int64)
    ctxs = np.zeros(n, np.int64)
    size = _encode(bits, ctxs, 1).shape[0]
    h = 2 * (n // 2) * -(0.02 * math.log2(0.02) + 0.98 * math.log2(0.98))
    assert 8 * size < 1.15 * h + 200


@pytest.mark.parametrize("seed", range(6))
def test_every_prefix_decodes_to_a_prefix(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(50, 3000))
    n_contexts = int(rng.integers(1, 40))
    bits, ctxs, _ = _source(rng, n, n_contexts, ["random", "skewed", "uniform"][seed % 3])
    data = _encode(bits, ctxs, n_contexts)
    lengths = []
    for m in range(data.shape[0] + 1):
        out = _decode(data, m, ctxs, n_contexts)
        # exactly the leading bits: never a wrong bit
        np.testing.assert_array_equal(out, bits[: out.shape[0]], err_msg=f"prefix of {m} bytes")
        lengths.append(out.shape[0])
        # the bytes after the prefix are not looked at
        junk = data.copy()
        junk[m:] = rng.integers(0, 256, data.shape[0] - m)
        np.testing.assert_array_equal(_decode(junk, m, ctxs, n_contexts), out)
    assert lengths[-1] == n
    assert lengths[0] == 0
    assert all(b >= a for a, b in zip(lengths, lengths[1:])), "a longer prefix never decodes fewer bits"
    # a prefix gives all but the last few bytes' worth of symbols
    bits_per_byte = n / data.shape[0]
    for m in range(5, data.shape[0] + 1):
        assert lengths[m] >= (m - 5) * bits_per_byte * 0.5 - 16, (m, lengths[m])


def test_prefix_with_skewed_source_is_exact():
    # very skewed: many symbols per byte, so an off-by-one in exhaustion would show up
    rng = np.random.default_rng(11)
    n = 20000
    bits = (rng.random(n) < 0.002).astype(np.int64)
    ctxs = np.zeros(n, np.int64)
    data = _encode(bits, ctxs, 1)
    for m in range(data.shape[0] + 1):
        out = _decode(data, m, ctxs, 1)
        np.testing.assert_array_equal(out, bits[: out.shape[0]])


def test_encoder_budget_stops_and_prefix_property():
    # the codec drives the coder with a byte budget: once done, the flushed and cut
    # stream decodes to exactly the symbols coded before the stop
    rng = np.random.default_rng(12)
    n = 5000
    bits, ctxs, _ = _source(rng, n, 8)
    for limit in (1, 2, 5, 20, 100, 300):
        state = np.zeros(A.STATE_SIZE, np.int64)
        out = np.zeros(limit + 64, np.uint8)
        probs, counts = A.new_models(8)
        A.ac_encoder_init(state, limit)
        k = 0
        while k < n and not A.is_done(state):
            A.ac_encode_bit(state, out, probs, counts, ctxs[k], bits[k])
            k += 1
        nbytes = min(int(A.ac_encoder_flush(state, out)), limit)
        dec = _decode(out[:nbytes], nbytes, ctxs, 8)
        np.testing.assert_array_equal(dec, bits[: dec.shape[0]])
        assert dec.shape[0] <= k


def test_raw_bits_round_trip_and_budget():
    rng = np.random.default_rng(13)
    bits = rng.integers(0, 2, 1001)
    state = np.zeros(A.STATE_SIZE, np.int64)
    buf = np.zeros(200, np.uint8)
    A.raw_init(state, 8 * 100)  # room for 800 bits
    for b in bits:
        A.raw_write_bit(state, buf, int(b))
    assert A.is_done(state) and A.position(state) == 800
    assert not buf[100:].any()  # nothing written past the budget
    np.testing.assert_array_equal(np.unpackbits(buf[:100]), bits[:800])
    rstate = np.zeros(A.STATE_SIZE, np.int64)
    A.raw_init(rstate, 8 * 100)
    got = []
    while True:
        b = A.raw_read_bit(rstate, buf)
        if b < 0:
            break
        got.append(b)
    np.testing.assert_array_equal(got, bits[:800])


def test_models_start_flat():
    probs, counts = A.new_models(10)
    assert probs.shape[0] == 10 and np.all(probs == A.PROB_HALF) and np.all(counts == 0)


def test_cache_guard_drops_kernels_compiled_from_other_sources(tmp_path):
    """Numba checks only a kernel's own file: wavecodec._kernels drops its cache when any kernel source changes."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    run = ("import numpy as np; from wavecodec._kernels import arith as A;"
           " A.encode_bits(np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64), 1, 16)")
    subprocess.run([sys.executable, "-c", run], env=env, check=True)
    stamps = list(tmp_path.rglob("wavecodec-kernels.sha256"))
    assert len(stamps) == 1
    folder = stamps[0].parent
    assert list(folder.glob("arith.encode_bits-*.nbi"))
    stamps[0].write_text("digest of other sources\n")  # as after an edit of a kernel file
    subprocess.run([sys.executable, "-c", "import wavecodec._kernels"], env=env, check=True)
    assert not list(folder.glob("*.nbi")) and not list(folder.glob("*.nbc"))
    assert stamps[0].read_text().strip() != "digest of other sources"
