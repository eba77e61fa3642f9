"""The decoders' coefficient codes (wavecodec._kernels.coefficients) and the in-place expansion."""

from __future__ import annotations

import numpy as np
import pytest

from wavecodec._kernels.coefficients import expand_codes, expand_integer_codes
from wavecodec.coders import _bitplane as B


def _reference_value(code: int, integer: bool, frac_bits: int, fresh: float, refined: float, weight: float) -> float:
    """The reconstruction rule written out: |x| in [v, v + 2**low), code = +-((v << 1) | (1 << low))."""
    if code == 0:
        return 0.0
    a = abs(code)
    low = (a & -a).bit_length() - 1
    v = (a - (1 << low)) >> 1
    if integer:
        r = v + ((1 << low) - 1) // 2
    elif low == 0:
        r = v + 0.5
    else:
        r = v + (1 << low) * (fresh if v == 1 << low else refined)
    r = r * ((1.0 / (1 << frac_bits)) / weight)
    return -r if code < 0 else r


def _random_codes(rng, shape):
    n = int(np.prod(shape))
    low = rng.integers(0, 12, n)
    top = low + rng.integers(0, 6, n)
    v = (np.int64(1) << top) | ((rng.integers(0, 1 << 20, n) << low) & ((np.int64(1) << top) - 1))
    v &= ~((np.int64(1) << low) - 1)
    codes = (v << 1) | (np.int64(1) << low)
    codes *= rng.choice([-1, 1], n)
    codes[rng.random(n) < 0.4] = 0
    return codes.reshape(shape).astype(np.int32)


@pytest.mark.parametrize("integer", [False, True])
def test_expand_codes_matches_the_rule_in_place_and_into_a_window(integer):
    rng = np.random.default_rng(7)
    shape = (3, 16, 24)
    levels = 2
    codes0 = _random_codes(rng, shape)
    rowlev, collev = B.level_maps(16, 24, levels)
    table = rng.uniform(0.5, 3.0, (levels + 2, levels + 2))
    plane_weight = np.array([1.0, 1.3, 0.7])
    args = (table, rowlev, collev, plane_weight, 2, integer, 0.4, 0.55)
    want = np.array([[[_reference_value(int(codes0[c, i, j]), integer, 2, 0.4, 0.55,
                                        table[rowlev[i], collev[j]] * plane_weight[c])
                       for j in range(24)] for i in range(16)] for c in range(3)])
    # in place: the codes in the first half of the float64 result's memory
    values, codes = B.coefficient_buffer(shape)
    codes[...] = codes0
    expand_codes(codes, values, *args)
    assert np.array_equal(values, want)
    # a corner, into a separate array
    values, codes = B.coefficient_buffer(shape)
    codes[...] = codes0
    corner = np.empty((3, 8, 12))
    expand_codes(codes, corner, *args)
    assert np.array_equal(corner, want[:, :8, :12])
    assert np.array_equal(codes, codes0)  # untouched when not in place


@pytest.mark.parametrize("frac_bits", [0, 1, 3])
def test_integer_expansion_is_the_float_path_truncated_to_int32(frac_bits):
    # lossless streams decode into int32 memory: the integer codes must become exactly the
    # values the float64 path gives once inverse_coefficients truncates them to int32
    rng = np.random.default_rng(11)
    shape = (2, 12, 20)
    codes0 = _random_codes(rng, shape)
    values, codes = B.coefficient_buffer(shape)
    codes[...] = codes0
    ones = B.CoefficientWeights(np.ones((4, 4)), *B.level_maps(12, 20, 2))
    want = B.expand(values, codes, integer=True, frac_bits=frac_bits, recon=(128, 128), weights=ones,
                    plane_weight=np.ones(2)).astype(np.int32)
    values, codes = B.coefficient_buffer(shape, integer=True)
    assert values is codes and values.dtype == np.int32 and B.payload_area(values) is None
    codes[...] = codes0
    got = B.expand(values, codes, integer=True, frac_bits=frac_bits, recon=(128, 128), weights=None,
                   plane_weight=None)
    assert got is values and np.array_equal(got, want)  # in place
    codes[...] = codes0
    corner = B.expand(values, codes, integer=True, frac_bits=frac_bits, recon=(128, 128), weights=None,
                      plane_weight=None, window=(6, 10))
    assert corner.dtype == np.int32 and np.array_equal(corner, want[:, :6, :10])
    assert np.array_equal(codes, codes0)  # untouched when not in place
    out = np.empty(shape, dtype=np.int32)
    expand_integer_codes(codes0, out, frac_bits)
    assert np.array_equal(out, want)


def test_coefficient_buffer_codes_share_the_values_memory():
    values, codes = B.coefficient_buffer((2, 8, 8))
    assert values.dtype == np.float64 and codes.dtype == np.int32
    assert np.shares_memory(values, codes) and codes.nbytes * 2 == values.nbytes


@pytest.mark.parametrize("codec", ["spiht", "ezw", "imp1ezw"])
def test_a_top_plane_beyond_the_int32_codes_is_a_corrupt_stream(codec):
    # encoders never write n_max >= 30 (magnitudes stay below 2**30, so that the decoders'
    # codes fit int32); a header that says otherwise is refused, not decoded into garbage
    import dataclasses

    import wavecodec
    from wavecodec import _container
    from wavecodec.errors import CorruptStreamError

    from conftest import make_image, restream

    data = wavecodec.encode(make_image(32, 32, None, seed=3), codec, bpp=1.0)
    header, _ = _container.parse(data)
    c = wavecodec.get_codec(codec)
    plan = c.read_plan(header)
    for n_max, ok in ((29, True), (30, False)):
        forged = restream(data, params=c.pack_plan(dataclasses.replace(plan, n_max=n_max), False))
        if ok:
            wavecodec.decode(forged)
        else:
            with pytest.raises(CorruptStreamError, match="top bit-plane"):
                wavecodec.decode(forged)


# ----------------------------------------------------------------------------- the encoder's quantisation


def _numpy_quantise(x: np.ndarray, factor: float, chunk: int) -> tuple[np.ndarray, float, float]:
    """The NumPy expressions the kernel replaces, block by block: ``trunc(x * factor)`` as int32,
    ``max |q|``, and ``sum (|q| + 0.5)**2`` over the non-zero ``q``, each block summed by NumPy."""
    q = np.empty(x.size, np.int32)
    top, energy = 0.0, 0.0
    for a in range(0, x.size, chunk):
        t = np.trunc(x[a : a + chunk] * factor)
        top = max(top, float(np.abs(t).max()))
        q[a : a + chunk] = t
        block = q[a : a + chunk]
        e = np.abs(block) + 0.5 * (block != 0)
        e *= e
        energy += float(e.sum())
    return q, top, energy


@pytest.mark.parametrize("n", [1, 7, 129, 1000, 5003, 300_001, 3 * B._CHUNK + 17])
def test_quantise_is_the_numpy_quantisation_bit_for_bit(n):
    """Values, maximum and energy equal those of the NumPy expressions the kernel replaced, for
    sizes around NumPy's summation blocks (8 and 128 terms) and the encoder's blocks."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) * 10.0 ** rng.integers(-1, 7, n)  # a wide dynamic range: rounding matters
    x[rng.random(n) < 0.3] = 0.0
    for factor in (1.0, 4 * 2 ** -0.25, 2 ** -0.75):
        q, top, energy = _numpy_quantise(x, factor, B._CHUNK)
        out = np.zeros(n, np.int32)
        assert B._quantise(x, factor, out, energy=True) == (top, energy)
        np.testing.assert_array_equal(out, q)
        assert energy == B.coefficient_energy(q)
        out[:] = 0
        assert B._quantise(x, factor, out) == (top, None)
        np.testing.assert_array_equal(out, q)


def test_quantise_in_place_and_its_range_check():
    """``_quantise`` into the int32 view of its own input gives the same values; magnitudes of 2**30
    and more are an InvalidArgumentError, and the energy is coefficient_energy's."""
    from wavecodec.errors import InvalidArgumentError

    rng = np.random.default_rng(5)
    x = rng.standard_normal(3 * B._CHUNK + 17) * 1e4
    expected = np.trunc(x * 1.5).astype(np.int32)
    top, energy = B._quantise(x, 1.5, x.view(np.int32)[: x.size], energy=True)
    np.testing.assert_array_equal(x.view(np.int32)[: x.size], expected)
    assert top == np.abs(expected).max() and energy == B.coefficient_energy(expected)
    assert B._quantise(np.ones(4), 1.0, np.empty(4, np.int32)) == (1, None)
    with pytest.raises(InvalidArgumentError, match="30-bit"):
        B._quantise(np.array([3.0, 2.0 ** 30]), 1.0, np.empty(2, np.int32))
