"""The plain-Python reference coders (wavecodec.reference) against the Numba kernels' raw-bits variants.

Seeded random integer coefficient arrays (1 and 3 planes, 0-3 levels, sizes up
to 32x32, dense and sparse, all-zero, huge magnitudes, n_max above the top
plane): the reference's bits must equal the kernel's payload (also cut to a
budget), and the reference decoder must hold exactly the kernel decoder's
coefficients after the whole stream and after a random prefix of it.  Then
Shapiro's 8x8 example against the published symbols.
"""

from __future__ import annotations

import numpy as np
import pytest

from wavecodec.coders import ezw as kernel_ezw
from wavecodec.coders import imp1ezw as kernel_imp1ezw
from wavecodec.coders import spiht as kernel_spiht
from wavecodec.reference import SHAPIRO_8X8, ezw, pack_bits, spiht, unpack_bits
from wavecodec.reference._common import top_plane

BATCHES = 8  # test ids per coder
PER_BATCH = 25  # random arrays per test id: 200 per coder, 600 in all


def random_coefficients(rng: np.random.Generator, unit_shift: int) -> tuple[np.ndarray, int, int]:
    """(q, levels, n_max): a random integer array in tree layout, sides multiples of 2**(levels + unit_shift)."""
    levels = int(rng.integers(0, 4))
    unit = 1 << (levels + unit_shift)
    h = unit * int(rng.integers(1, max(2, 32 // unit + 1)))
    w = unit * int(rng.integers(1, max(2, 32 // unit + 1)))
    planes = int(rng.choice([1, 1, 3]))
    if planes == 3 and h * w > 256:
        h = w = unit  # keep colour cases small
    shape = (planes, h, w)
    kind = rng.choice(["laplace", "sparse", "uniform", "huge", "zeros"], p=[0.45, 0.25, 0.15, 0.1, 0.05])
    if kind == "laplace":
        q = rng.laplace(0, rng.choice([0.7, 3, 30, 300]), size=shape)
    elif kind == "sparse":
        q = np.where(rng.random(shape) < 0.1, rng.laplace(0, 100, size=shape), 0)
    elif kind == "uniform":
        top = 1 << int(rng.integers(1, 10))
        q = rng.integers(-top, top + 1, size=shape)
    elif kind == "huge":
        q = rng.integers(-(1 << 22), 1 << 22, size=shape) >> rng.integers(0, 22, size=shape)
    else:
        q = np.zeros(shape)
    q = q.astype(np.int64)
    n_max = top_plane(q)
    if n_max >= 0 and rng.random() < 0.1:
        n_max += 1  # a threshold above the top plane is legal: the first pass finds nothing
    return q, levels, n_max


def check_against_kernel(rng, q, levels, n_max, ref_bits, ref_decode, kernel_encode, kernel_decode):
    """Full payload, a budget cut, and the decoders on both; returns the number of bits."""
    payload = kernel_encode(q, levels, n_max, None)
    assert pack_bits(ref_bits) == payload, (q.shape, levels, n_max)
    if n_max < 0:
        assert ref_bits == []
        return 0
    budget = int(rng.integers(1, len(payload) + 1))
    assert kernel_encode(q, levels, n_max, budget) == pack_bits(ref_bits, budget)
    for data in (payload, payload[:budget]):
        expected = kernel_decode(data, q.shape, levels, n_max)
        np.testing.assert_array_equal(ref_decode(unpack_bits(data), q.shape, levels, n_max), expected)
    # the whole stream is lossless: every magnitude lies in [|c|, |c| + 1)
    full = ref_decode(ref_bits, q.shape, levels, n_max)
    np.testing.assert_array_equal(np.sign(full) * np.floor(np.abs(full)), q)
    return len(ref_bits)


# --------------------------------------------------------------------------- SPIHT


def spiht_kernel_encode(q, levels, n_max, budget):
    return kernel_spiht.encode_coefficients(q, variant="binary", levels=levels, n_max=n_max, budget=budget).payload


def spiht_kernel_decode(data, shape, levels, n_max):
    # frac_bits=0, integer=False, recon=(128, 128): interval midpoints ("reconstruction='midpoint'", the paper's)
    return kernel_spiht.decode_coefficients(data, variant="binary", shape=shape, levels=levels, n_max=n_max,
                                            frac_bits=0, integer=False, recon=(128, 128))


@pytest.mark.parametrize("batch", range(BATCHES))
def test_spiht_bit_exact_with_binary_variant(batch):
    rng = np.random.default_rng([13, 1, batch])
    for _ in range(PER_BATCH):
        q, levels, n_max = random_coefficients(rng, unit_shift=1)
        bits = spiht.encode(q, levels, n_max)
        check_against_kernel(rng, q, levels, n_max, bits, spiht.decode, spiht_kernel_encode, spiht_kernel_decode)


def test_spiht_lists_after_each_pass():
    """Every coefficient is in exactly one of LIP / LSP or under an LIS set, and the LSP only grows."""
    q = SHAPIRO_8X8
    forest = spiht.Forest((1, 8, 8), 2)
    previous: list = []
    for p in spiht.passes(2, 5, coefficients=q):
        assert p.LSP[: len(previous)] == previous
        previous = p.LSP
        assert all(abs(q[node[1:]]) >= 1 << p.n for node in p.LSP)
        assert all(abs(q[node[1:]]) < 1 << p.n for node in p.LIP)
        covered = set(p.LIP) | set(p.LSP)
        for node, kind in p.LIS:
            stack = list(forest.offspring(node))
            if kind == "B":
                stack = [g for child in stack for g in forest.offspring(child)]
            while stack:
                member = stack.pop()
                assert member not in covered
                covered.add(member)
                stack += forest.offspring(member)
        assert covered == {(0, i, j) for i in range(8) for j in range(8)}


# --------------------------------------------------------------------------- EZW and IMP1EZW


def zerotree_kernel(module, scan, order):
    def encode(q, levels, n_max, budget):
        return module.encode_coefficients(q, variant="plain", scan=scan, order=order, levels=levels, n_max=n_max,
                                          budget=budget).payload

    def decode(data, shape, levels, n_max):
        return module.decode_coefficients(data, variant="plain", scan=scan, order=order, shape=shape, levels=levels,
                                          n_max=n_max, frac_bits=0, integer=False, recon=(128, 128))

    return encode, decode


def zerotree_reference(symbols, scan, order):
    def decode(bits, shape, levels, n_max):
        return ezw.decode(bits, shape, levels, n_max, symbols=symbols, scan=scan, pass_order=order)

    return decode


@pytest.mark.parametrize("batch", range(BATCHES))
def test_ezw_bit_exact_with_plain_variant(batch):
    rng = np.random.default_rng([13, 2, batch])
    for k in range(PER_BATCH):
        q, levels, n_max = random_coefficients(rng, unit_shift=0)
        scan = ("strict", "rescan")[k % 2]
        order = ("shapiro", "significance-first")[(k // 2) % 2]
        bits = ezw.encode(q, levels, n_max, symbols=ezw.EZW, scan=scan, pass_order=order)
        check_against_kernel(rng, q, levels, n_max, bits, zerotree_reference(ezw.EZW, scan, order),
                             *zerotree_kernel(kernel_ezw, scan, order))


@pytest.mark.parametrize("batch", range(BATCHES))
def test_imp1ezw_bit_exact_with_plain_variant(batch):
    rng = np.random.default_rng([13, 3, batch])
    for k in range(PER_BATCH):
        q, levels, n_max = random_coefficients(rng, unit_shift=0)
        order = ("shapiro", "significance-first")[k % 2]
        bits = ezw.encode(q, levels, n_max, symbols=ezw.IMP1EZW, pass_order=order)
        check_against_kernel(rng, q, levels, n_max, bits, zerotree_reference(ezw.IMP1EZW, "strict", order),
                             *zerotree_kernel(kernel_imp1ezw, "strict", order))


# --------------------------------------------------------------------------- the published example


def dominant(p) -> str:
    return " ".join(d.symbol for d in p.decisions if d.kind == "dominant")


def subordinate(p) -> str:
    return "".join(d.symbol for d in p.decisions if d.kind == "subordinate")


def test_shapiro_8x8_ezw_published_symbols():
    """Shapiro (1993), Sec. VII: the first dominant pass, its subordinate bits, and the second pass."""
    p1, p2 = list(ezw.passes(3, 5, coefficients=SHAPIRO_8X8, scan="rescan"))[:2]
    assert dominant(p1) == "P N IZ ZTR P ZTR ZTR ZTR ZTR IZ ZTR ZTR Z Z Z Z Z P Z Z"
    assert subordinate(p1) == "1010"
    rec = p1.reconstruction[0]
    assert [rec[0, 0], rec[0, 1], rec[0, 2], rec[4, 3]] == [56, -40, 56, 40]
    assert dominant(p2) == "IZ ZTR N P ZTR ZTR ZTR ZTR ZTR ZTR ZTR ZTR"
    assert subordinate(p2) == "100110"  # the list re-ordered: 63, 49, 34, 47, 31, 23
    assert [abs(p2.reconstruction[(0, *ij)]) for ij in [(0, 0), (0, 2), (0, 1), (4, 3), (1, 0), (1, 1)]] == [
        60, 52, 36, 44, 28, 20]
    # the strict scan codes the children of 49 (already significant) as Z in the second pass
    strict = list(ezw.passes(3, 5, coefficients=SHAPIRO_8X8))[1]
    assert dominant(strict) == "N P ZTR ZTR ZTR ZTR ZTR ZTR ZTR ZTR ZTR ZTR ZTR Z Z Z Z"


def test_shapiro_8x8_imp1ezw_and_spiht():
    first = next(ezw.passes(3, 5, coefficients=SHAPIRO_8X8, symbols=ezw.IMP1EZW))
    assert dominant(first) == "P N IZ ZTR PT ZTR ZTR ZTR ZTR IZ ZTR ZTR Z P Z Z"
    assert "".join(d.bits for d in first.decisions if d.symbol == "PT") == "101"
    s1 = next(spiht.passes(2, 5, coefficients=SHAPIRO_8X8))
    assert "".join(d.symbol for d in s1.decisions) == "1+1-0011+000100000010101+0000"
    assert s1.LSP == [(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 4, 3)]
    assert s1.LIS == [((0, 1, 1), "A"), ((0, 0, 1), "B"), ((0, 2, 0), "A"), ((0, 3, 0), "A"), ((0, 3, 1), "A")]
    assert s1.LIP[:2] == [(0, 1, 0), (0, 1, 1)] and len(s1.LIP) == 12


def test_decoder_stops_at_the_end_of_its_input():
    bits = spiht.encode(SHAPIRO_8X8, 2)
    runs = list(spiht.passes(2, 5, bits=bits[:40], shape=(1, 8, 8)))
    assert [p.complete for p in runs] == [True, False]
    assert runs[-1].LIP is None
    assert spiht.decode([], (8, 8), 2, 5).shape == (8, 8)
    with pytest.raises(ValueError, match="integer"):
        spiht.encode(SHAPIRO_8X8.astype(float), 2)
    with pytest.raises(ValueError, match="scan"):
        ezw.encode(SHAPIRO_8X8, 3, scan="sideways")
