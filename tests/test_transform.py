"""Tests of the transform layer: lifting kernels, tree layout, colour transforms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavecodec import transform as T
from wavecodec._kernels import transform as K
from wavecodec.errors import InvalidArgumentError, WavecodecError

SIZES = [(1, 1), (1, 7), (7, 1), (2, 2), (3, 5), (17, 31), (64, 64), (127, 200), (768, 512)]


# ---------------------------------------------------------------------------------
# Plain-Python references of the 1-D lifting steps (interleaved, explicit mirroring)
# ---------------------------------------------------------------------------------


def _mirror(i: int, n: int) -> int:
    """Whole-sample symmetric extension index: x[-i] = x[i], x[n-1+i] = x[n-1-i]."""
    if n == 1:
        return 0
    period = 2 * (n - 1)
    i = abs(i) % period
    return period - i if i >= n else i


def _ref_lift(y: list, parity: int, fn) -> None:
    n = len(y)
    for i in range(parity, n, 2):
        y[i] = fn(y[i], y[_mirror(i - 1, n)], y[_mirror(i + 1, n)])


def ref_cdf97_forward(x) -> list:
    y = [float(v) for v in x]
    n = len(y)
    if n < 2:
        return y
    for coef, parity in ((K.ALPHA, 1), (K.BETA, 0), (K.GAMMA, 1), (K.DELTA, 0)):
        _ref_lift(y, parity, lambda c, a, b, coef=coef: c + coef * (a + b))
    low = [v * math.sqrt(2.0) / K.K for v in y[0::2]]
    high = [v * K.K / math.sqrt(2.0) for v in y[1::2]]
    return low + high


def ref_cdf97_inverse(x) -> list:
    n = len(x)
    if n < 2:
        return [float(v) for v in x]
    nl = (n + 1) // 2
    y = [0.0] * n
    y[0::2] = [v * K.K / math.sqrt(2.0) for v in x[:nl]]
    y[1::2] = [v * math.sqrt(2.0) / K.K for v in x[nl:]]
    for coef, parity in ((K.DELTA, 0), (K.GAMMA, 1), (K.BETA, 0), (K.ALPHA, 1)):
        _ref_lift(y, parity, lambda c, a, b, coef=coef: c - coef * (a + b))
    return y


def ref_legall53_forward(x) -> list:
    y = [int(v) for v in x]
    if len(y) < 2:
        return y
    _ref_lift(y, 1, lambda c, a, b: c - (a + b) // 2)
    _ref_lift(y, 0, lambda c, a, b: c + (a + b + 2) // 4)
    return y[0::2] + y[1::2]


def ref_legall53_inverse(x) -> list:
    n = len(x)
    if n < 2:
        return [int(v) for v in x]
    nl = (n + 1) // 2
    y = [0] * n
    y[0::2] = [int(v) for v in x[:nl]]
    y[1::2] = [int(v) for v in x[nl:]]
    _ref_lift(y, 0, lambda c, a, b: c - (a + b + 2) // 4)
    _ref_lift(y, 1, lambda c, a, b: c + (a + b) // 2)
    return y


def ref_forward_2d(x: np.ndarray, levels: int, fwd1d) -> np.ndarray:
    x = x.copy()
    h, w = x.shape
    for _ in range(levels):
        for r in range(h):
            x[r, :w] = fwd1d(list(x[r, :w]))
        for c in range(w):
            x[:h, c] = fwd1d(list(x[:h, c]))
        h, w = (h + 1) // 2, (w + 1) // 2
    return x


# ---------------------------------------------------------------------------------
# Kernels vs reference
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n", list(range(1, 20)) + [64, 101])
def test_cdf97_1d_matches_reference(n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) * 100
    y = x.copy()
    K.cdf97_forward_1d(y)
    np.testing.assert_allclose(y, ref_cdf97_forward(x), rtol=0, atol=1e-11)
    z = y.copy()
    K.cdf97_inverse_1d(z)
    np.testing.assert_allclose(z, ref_cdf97_inverse(list(y)), rtol=0, atol=1e-11)
    np.testing.assert_allclose(z, x, rtol=0, atol=1e-11)


@pytest.mark.parametrize("n", list(range(1, 20)) + [64, 101])
def test_legall53_1d_matches_reference(n):
    rng = np.random.default_rng(100 + n)
    x = rng.integers(-(2**16), 2**16, n).astype(np.int32)
    y = x.copy()
    K.legall53_forward_1d(y)
    assert y.tolist() == ref_legall53_forward(x)
    z = y.copy()
    K.legall53_inverse_1d(z)
    assert z.tolist() == ref_legall53_inverse(y.tolist())
    assert np.array_equal(z, x)


def test_n1_passthrough():
    x = np.array([3.25])
    K.cdf97_forward_1d(x)
    assert x[0] == 3.25
    xi = np.array([-7], dtype=np.int32)
    K.legall53_forward_1d(xi)
    assert xi[0] == -7


@pytest.mark.parametrize("shape,levels", [((1, 9), 2), ((9, 1), 3), ((5, 6), 2), ((13, 8), 3), ((16, 11), 4)])
def test_2d_kernels_match_reference(shape, levels):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    y = x.copy()
    K.cdf97_forward_2d(y, levels)
    np.testing.assert_allclose(y, ref_forward_2d(x, levels, ref_cdf97_forward), rtol=0, atol=1e-10)
    xi = rng.integers(-1000, 1000, shape).astype(np.int32)
    yi = xi.copy()
    K.legall53_forward_2d(yi, levels)
    ref = ref_forward_2d(xi.astype(object), levels, ref_legall53_forward)
    assert yi.tolist() == ref.tolist()


# ---------------------------------------------------------------------------------
# Perfect reconstruction
# ---------------------------------------------------------------------------------


def _levels_for(shape):
    return range(0, T.max_levels(*shape) + 1)


@pytest.mark.parametrize("shape", SIZES)
def test_roundtrip_cdf97(shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    x = rng.uniform(-128, 128, shape)
    for levels in _levels_for(shape):
        c = T.forward(x, wavelet="cdf97", levels=levels)
        assert c.dtype == np.float64 and c.shape == T.padded_shape(*shape, levels)
        r = T.inverse(c, shape=shape, wavelet="cdf97", levels=levels)
        assert r.dtype == np.float64 and r.shape == shape
        np.testing.assert_allclose(r, x, rtol=0, atol=1e-9)


@pytest.mark.parametrize("shape", SIZES)
def test_roundtrip_legall53(shape):
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    x = rng.integers(-(2**16), 2**16, shape)  # 17-bit signed range, int64 input
    for levels in _levels_for(shape):
        c = T.forward(x, wavelet="legall53", levels=levels)
        assert c.dtype == np.int32 and c.shape == T.padded_shape(*shape, levels)
        r = T.inverse(c, shape=shape, wavelet="legall53", levels=levels)
        assert r.dtype == np.int32
        assert np.array_equal(r, x)


@pytest.mark.parametrize("wavelet", ["bior4.4", "db4", "haar"])
@pytest.mark.parametrize("shape", SIZES)
def test_roundtrip_pywt(shape, wavelet):
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, shape)
    levels_list = sorted({0, 1, T.default_levels(*shape), T.max_levels(*shape)})
    for levels in levels_list:
        c = T.forward(x, wavelet=wavelet, levels=levels)
        assert c.shape == T.padded_shape(*shape, levels)
        _check_zeros_outside(c, T.band_layout(*shape, levels, wavelet))
        r = T.inverse(c, shape=shape, wavelet=wavelet, levels=levels)
        np.testing.assert_allclose(r, x, rtol=0, atol=1e-8)


def test_roundtrip_uint8_and_float32_inputs():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (37, 45), dtype=np.uint8)
    c = T.forward(x, wavelet="legall53", levels=3)
    assert np.array_equal(T.inverse(c, shape=x.shape, wavelet="legall53", levels=3), x)
    c = T.forward(x.astype(np.float32), levels=3)
    np.testing.assert_allclose(T.inverse(c, shape=x.shape, levels=3), x, atol=1e-9)
    # legall53 accepts integer-valued floats
    c2 = T.forward(x.astype(np.float64), wavelet="legall53", levels=3)
    assert np.array_equal(c2, T.forward(x, wavelet="legall53", levels=3))


def test_forward_does_not_modify_input():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((32, 32))
    x0 = x.copy()
    T.forward(x, levels=2)  # no padding: the compact fast path
    assert np.array_equal(x, x0)
    xi = rng.integers(-5, 5, (32, 32)).astype(np.int32)
    xi0 = xi.copy()
    T.forward(xi, wavelet="legall53", levels=2)
    assert np.array_equal(xi, xi0)
    c = T.forward(x, levels=2)
    c0 = c.copy()
    T.inverse(c, shape=x.shape, levels=2)
    assert np.array_equal(c, c0)


def test_compact_roundtrip_and_tree_equivalence():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((23, 18))
    c = T.forward_compact(x, levels=3)
    assert c.shape == x.shape
    np.testing.assert_allclose(T.inverse_compact(c, levels=3), x, atol=1e-10)
    tree = T.forward(x, levels=3)
    # same multiset of coefficients, only moved around
    np.testing.assert_allclose(np.sort(tree[tree != 0]), np.sort(c[c != 0]))


# ---------------------------------------------------------------------------------
# Tree layout
# ---------------------------------------------------------------------------------


def _check_zeros_outside(c, layout):
    mask = np.zeros(c.shape, dtype=bool)
    for b in layout:
        assert not mask[b.slices].any(), f"overlapping band {b}"
        mask[b.slices] = True
    assert not c[~mask].any()


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("wavelet", ["cdf97", "legall53", "bior4.4"])
def test_band_layout_consistent(shape, wavelet):
    h, w = shape
    for levels in _levels_for(shape):
        hp, wp = T.padded_shape(h, w, levels)
        m = 2 ** (levels + 1)
        assert hp % m == 0 and wp % m == 0 and h <= hp < h + m and w <= wp < w + m
        layout = T.band_layout(h, w, levels, wavelet)
        assert len(layout) == 1 + 3 * levels
        assert layout[0].orientation == "LL" and layout[0].level == levels
        assert [b.orientation for b in layout[1:]] == ["HL", "LH", "HH"] * levels
        assert [b.level for b in layout[1:]] == [k for k in range(levels, 0, -1) for _ in range(3)]
        for b in layout:
            assert b.nrows >= 0 and b.ncols >= 0
            if b.orientation == "LL":
                assert (b.row0, b.col0) == (0, 0)
                assert b.nrows <= hp >> levels and b.ncols <= wp >> levels
                continue
            sh, sw = hp >> b.level, wp >> b.level
            assert b.row0 == (sh if b.orientation in ("LH", "HH") else 0)
            assert b.col0 == (sw if b.orientation in ("HL", "HH") else 0)
            assert b.nrows <= sh and b.ncols <= sw
        if wavelet in T.LIFTING_WAVELETS:
            # non-expansive: as many coefficients as pixels
            assert sum(b.nrows * b.ncols for b in layout) == h * w
        if levels > 0 and min(h, w) > 1:
            x = np.random.default_rng(0).integers(1, 100, shape)
            c = T.forward(x, wavelet=wavelet, levels=levels)
            _check_zeros_outside(c, layout)


def test_band_layout_known_values():
    layout = T.band_layout(5, 3, 2, "cdf97")
    # rows 5 -> (3, 2) -> (2, 1); cols 3 -> (2, 1) -> (1, 1); padded to (8, 8)
    assert T.padded_shape(5, 3, 2) == (8, 8)
    assert layout == [
        T.Band(2, "LL", 0, 0, 2, 1),
        T.Band(2, "HL", 0, 2, 2, 1),
        T.Band(2, "LH", 2, 0, 1, 1),
        T.Band(2, "HH", 2, 2, 1, 1),
        T.Band(1, "HL", 0, 4, 3, 1),
        T.Band(1, "LH", 4, 0, 2, 2),
        T.Band(1, "HH", 4, 4, 2, 1),
    ]
    assert T.band_layout(5, 3, 0, "cdf97") == [T.Band(0, "LL", 0, 0, 5, 3)]
    # periodization: every band ceil(n/2) per axis
    pl = T.band_layout(5, 3, 2, "db4")
    assert pl[0] == T.Band(2, "LL", 0, 0, 2, 1)
    assert pl[-1] == T.Band(1, "HH", 4, 4, 3, 2)
    # a dimension of size 1 is not split
    l1 = T.band_layout(1, 7, 2, "legall53")
    assert l1[0] == T.Band(2, "LL", 0, 0, 1, 2)
    assert l1[1] == T.Band(2, "HL", 0, 2, 1, 2)
    assert l1[2].nrows == 0 and l1[3].nrows == 0


def test_tree_layout_parent_children_alignment():
    # the band at level k+1 position (i, j) has its children at (2i.., 2j..) at level k
    layout = T.band_layout(127, 200, 4, "cdf97")
    by_key = {(b.level, b.orientation): b for b in layout}
    for k in range(1, 4):
        for o in ("HL", "LH", "HH"):
            parent, child = by_key[(k + 1, o)], by_key[(k, o)]
            assert (child.row0, child.col0) == (2 * parent.row0, 2 * parent.col0)
            assert child.nrows <= 2 * parent.nrows + 1 and child.ncols <= 2 * parent.ncols + 1


def test_mallat_layout_fast_path_equals_scatter():
    # when no padding is needed the tree layout equals the compact layout
    x = np.random.default_rng(9).standard_normal((64, 32))
    assert T.padded_shape(64, 32, 3) == (64, 32)
    np.testing.assert_array_equal(T.forward(x, levels=3), T.forward_compact(x, levels=3))


# ---------------------------------------------------------------------------------
# Transform properties
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 7), (7, 1), (3, 5), (17, 31), (127, 200)])
@pytest.mark.parametrize("wavelet", ["cdf97", "legall53", "bior4.4"])
def test_constant_image_has_zero_details(shape, wavelet):
    levels = T.max_levels(*shape)
    c = T.forward(np.full(shape, 37), wavelet=wavelet, levels=levels)
    layout = T.band_layout(*shape, levels, wavelet)
    atol = 1e-9 if wavelet in T.LIFTING_WAVELETS else 1e-6  # pywt's filter taps are rounded
    for b in layout[1:]:
        np.testing.assert_allclose(c[b.slices], 0, atol=atol)
    ll = c[layout[0].slices]
    if wavelet == "legall53":
        assert (ll == 37).all()
    elif wavelet == "cdf97":
        # DC gain sqrt(2) per split 1-D step
        nsplit = sum(1 for n in shape for lo, hi in T.band_sizes(n, levels, wavelet) if hi > 0)
        np.testing.assert_allclose(ll, 37 * math.sqrt(2) ** nsplit, rtol=1e-12)


def test_cdf97_gains():
    n = 64
    x = np.ones(n)
    K.cdf97_forward_1d(x)
    np.testing.assert_allclose(x[: n // 2], math.sqrt(2), rtol=1e-12)
    np.testing.assert_allclose(x[n // 2 :], 0, atol=1e-12)
    x = np.array([(-1.0) ** i for i in range(n)])
    K.cdf97_forward_1d(x)
    np.testing.assert_allclose(x[: n // 2], 0, atol=1e-12)
    np.testing.assert_allclose(np.abs(x[n // 2 :]), math.sqrt(2), rtol=1e-12)


@pytest.mark.parametrize("shape", [(128, 128), (127, 200), (768, 512)])
def test_cdf97_energy_preservation(shape):
    """Sum of squared coefficients / sum of squared pixels is close to 1.

    Within 1-4 % for white noise.  The 9/7 is only near-orthogonal, so for images
    whose energy sits at low but non-zero frequencies the coarse levels lose a few
    percent each (PyWavelets' bior4.4 behaves the same): only a loose bound there.
    """
    rng = np.random.default_rng(11)
    levels = T.default_levels(*shape)
    noise = rng.standard_normal(shape)
    c = T.forward(noise, levels=levels)
    assert 0.99 < (c**2).sum() / (noise**2).sum() < 1.05
    # 1/f ("natural image") random field
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    radius = np.hypot(fx, fy)
    radius[0, 0] = 1.0
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal(shape)) / radius))
    c = T.forward(field, levels=levels)
    assert 0.8 < (c**2).sum() / (field**2).sum() < 1.05
    # a constant (pure DC) image is exactly energy preserving when 2**levels divides its sizes
    if shape[0] % 2**levels == 0 and shape[1] % 2**levels == 0:
        const = np.full(shape, 3.0)
        c = T.forward(const, levels=levels)
        np.testing.assert_allclose((c**2).sum() / (const**2).sum(), 1.0, rtol=1e-9)


def test_cdf97_synthesis_basis_norms():
    """Each band's synthesis basis function has (nearly) unit L2 norm.

    The CDF 9/7 is only near-orthogonal: with DC/Nyquist gains sqrt(2) the norms are
    1.04 (HH1), 1.01 (HL1), 0.97-1.00 (level 2) and up to 1.086 (HH at deep
    levels) -- the same numbers as PyWavelets' bior4.4 gives, so they are a property
    of the filter bank, not of the implementation.
    """
    h = w = 256
    levels = 5
    hp, wp = T.padded_shape(h, w, levels)
    norms = {}
    for wavelet in ("cdf97", "bior4.4"):
        for b in T.band_layout(h, w, levels, wavelet):
            c = np.zeros((hp, wp))
            c[b.row0 + b.nrows // 2, b.col0 + b.ncols // 2] = 1.0
            r = T.inverse(c, shape=(h, w), wavelet=wavelet, levels=levels)
            norms[wavelet, b.level, b.orientation] = float(np.sqrt((r**2).sum()))
    for (wavelet, level, o), v in norms.items():
        assert 0.95 < v < 1.10, (wavelet, level, o, v)
        if wavelet == "cdf97":
            assert abs(v - norms["bior4.4", level, o]) < 2e-3
    assert abs(norms["cdf97", 1, "HL"] - 1.0) < 0.02
    assert abs(norms["cdf97", 1, "HH"] - 1.0) < 0.05


# ---------------------------------------------------------------------------------
# Levels, shapes, argument errors
# ---------------------------------------------------------------------------------


def test_default_and_max_levels():
    assert T.default_levels(768, 512) == 6
    assert T.default_levels(1, 1) == 0
    assert T.default_levels(64, 64) == 3
    assert T.default_levels(8, 1000) == 0
    assert T.default_levels(4096, 4096) == 6
    assert T.default_levels(4096, 4096, max_levels=8) == 8
    assert T.max_levels(1, 1) == 1
    assert T.max_levels(768, 512) == 10
    assert T.max_levels(100000, 2) == 12
    for shape in SIZES:
        assert T.default_levels(*shape) <= T.max_levels(*shape)
    assert T.padded_shape(768, 512, 6) == (768, 512)
    assert T.padded_shape(1, 1, 0) == (2, 2)
    assert T.padded_shape(127, 200, 4) == (128, 224)


def test_levels_none_uses_default():
    x = np.random.default_rng(2).standard_normal((64, 64))
    c = T.forward(x)
    assert np.array_equal(c, T.forward(x, levels=3))
    np.testing.assert_allclose(T.inverse(c, shape=(64, 64)), x, atol=1e-10)


@pytest.mark.parametrize(
    "call",
    [
        lambda: T.forward(np.zeros((8, 8)), wavelet="nope", levels=1),
        lambda: T.forward(np.zeros((8, 8)), wavelet=97, levels=1),
        lambda: T.band_layout(8, 8, 1, "cdf9/7"),
        lambda: T.forward(np.zeros((8, 8)), levels=-1),
        lambda: T.forward(np.zeros((8, 8)), levels=5),
        lambda: T.forward(np.zeros((8, 8)), levels=2.0),
        lambda: T.forward(np.zeros((8, 8)), levels=True),
        lambda: T.padded_shape(8, 8, 13),
        lambda: T.padded_shape(0, 8, 1),
        lambda: T.padded_shape(8.0, 8, 1),
        lambda: T.default_levels(8, 8, max_levels=-1),
        lambda: T.forward(np.zeros(8), levels=1),
        lambda: T.forward(np.zeros((0, 8)), levels=0),
        lambda: T.forward(np.zeros((2, 8, 8)), levels=1),
        lambda: T.forward(np.array([["a"]]), levels=0),
        lambda: T.forward(np.full((8, 8), np.nan), levels=1),
        lambda: T.forward(np.full((8, 8), 0.5), wavelet="legall53", levels=1),
        lambda: T.forward(np.full((8, 8), 2**40), wavelet="legall53", levels=1),
        lambda: T.inverse(np.zeros((8, 8)), shape=(8, 8), levels=3),  # wrong padded shape
        lambda: T.inverse(np.zeros((16, 16)), shape=(8,), levels=1),
        lambda: T.inverse(np.full((16, 16), 0.5), shape=(8, 8), wavelet="legall53", levels=3),
        lambda: T.forward_compact(np.zeros((8, 8)), wavelet="db4", levels=1),
        lambda: T.ict_forward(np.zeros((4, 4))),
        lambda: T.ict_inverse(np.zeros((4, 4, 3))),
        lambda: T.rct_forward(np.zeros((4, 4, 4), dtype=np.uint8)),
        lambda: T.rct_forward(np.full((4, 4, 3), 0.5)),
        lambda: T.rct_inverse(np.zeros((4, 4, 3), dtype=np.int32)),
    ],
)
def test_argument_errors(call):
    with pytest.raises(InvalidArgumentError) as info:
        call()
    assert isinstance(info.value, (WavecodecError, ValueError))


def test_unknown_wavelet_message():
    with pytest.raises(InvalidArgumentError, match="cdf97.*legall53.*wavelist"):
        T.check_wavelet("foo")
    with pytest.raises(InvalidArgumentError, match="levels"):
        T.band_layout(8, 8, 9, "cdf97")
    assert T.is_reversible("legall53") and not T.is_reversible("cdf97")
    assert {"cdf97", "legall53", "bior4.4", "haar"} <= set(T.wavelet_names())


# ---------------------------------------------------------------------------------
# Colour transforms
# ---------------------------------------------------------------------------------


def test_ict_roundtrip_and_values():
    rng = np.random.default_rng(12)
    rgb = rng.uniform(0, 255, (13, 17, 3))
    ycc = T.ict_forward(rgb)
    assert ycc.shape == (3, 13, 17) and ycc.dtype == np.float64
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    np.testing.assert_allclose(ycc[0], 0.299 * r + 0.587 * g + 0.114 * b, atol=1e-12)
    np.testing.assert_allclose(ycc[1], -0.168736 * r - 0.331264 * g + 0.5 * b, atol=1e-12)
    np.testing.assert_allclose(ycc[2], 0.5 * r - 0.418688 * g - 0.081312 * b, atol=1e-12)
    back = T.ict_inverse(ycc)
    assert back.shape == rgb.shape
    np.testing.assert_allclose(back, rgb, atol=1e-3)  # the JPEG 2000 constants are rounded
    # uint8 input and grey in -> chroma ~0
    grey = np.repeat(rng.integers(0, 256, (5, 5, 1), dtype=np.uint8), 3, axis=2)
    np.testing.assert_allclose(T.ict_forward(grey)[1:], 0, atol=1e-9)


def test_ict_synthesis_gains():
    gains = T.ict_synthesis_gains()
    assert gains.shape == (3,)
    for comp in range(3):
        unit = np.zeros((3, 1, 1))
        unit[comp] = 1.0
        col = T.ict_inverse(unit)[0, 0]
        np.testing.assert_allclose(gains[comp], (col**2).sum() / 3, rtol=1e-12)
    np.testing.assert_allclose(gains, [1.0, (0.344136**2 + 1.772**2) / 3, (1.402**2 + 0.714136**2) / 3])


@pytest.mark.parametrize("dtype,hi", [(np.uint8, 256), (np.uint16, 65536), (np.int32, 2**20)])
def test_rct_exact(dtype, hi):
    rng = np.random.default_rng(13)
    lo = -hi if dtype == np.int32 else 0
    rgb = rng.integers(lo, hi, (31, 29, 3)).astype(dtype)
    ycc = T.rct_forward(rgb)
    assert ycc.shape == (3, 31, 29) and ycc.dtype == np.int32
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    assert np.array_equal(ycc[0], (r + 2 * g + b) // 4)
    assert np.array_equal(ycc[1], b - g)
    assert np.array_equal(ycc[2], r - g)
    back = T.rct_inverse(ycc)
    assert back.dtype == np.int32 and back.shape == rgb.shape
    assert np.array_equal(back, rgb)


def test_colour_edge_shapes():
    for shape in [(1, 1, 3), (1, 9, 3), (9, 1, 3)]:
        x = np.arange(np.prod(shape)).reshape(shape) % 256
        assert np.array_equal(T.rct_inverse(T.rct_forward(x.astype(np.uint8))), x)
        np.testing.assert_allclose(T.ict_inverse(T.ict_forward(x)), x, atol=1e-3)
