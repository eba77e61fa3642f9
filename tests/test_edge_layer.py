"""The canny-spiht edge layer: contour tracing, exact round trips of the chain-code /
sample coder (Huffman and arithmetic), truncated and corrupt layers, inpainting."""

from __future__ import annotations

import numpy as np
import pytest

from wavecodec._kernels import edges as K
from wavecodec.coders import _edge_layer as E

ENTROPY = ("huffman", "arith")


def _contours_of(edge: np.ndarray) -> E.Contours:
    lengths, ys, xs = K.trace_chains(np.ascontiguousarray(edge, dtype=np.uint8))
    return E.Contours(lengths, ys, xs)


def _random_layer(rng, h, w, n_planes, density, spacing=5, step8=12, bit_depth=8) -> E.EdgeLayer:
    edge = rng.random((h, w)) < density
    c = _contours_of(edge)
    step, n_levels = E.quant_params(step8, bit_depth)
    n_points = int(sum(K.n_samples(int(L), spacing) for L in c.lengths))
    levels = rng.integers(0, n_levels, size=(n_points, 2, n_planes)).astype(np.int32)
    sides = rng.integers(0, 3, size=c.count).astype(np.int64)
    return E.EdgeLayer(c, levels, spacing, 1, step, n_levels, sides)


def _roundtrip(layer: E.EdgeLayer, h: int, w: int, n_planes: int, entropy: str) -> tuple[bytes, E.EdgeLayer]:
    data = E.encode(layer, n_planes, h, w, entropy)
    back = E.decode(data, h=h, w=w, n_planes=n_planes, entropy=entropy, spacing=layer.spacing, offset=layer.offset,
                    step=layer.step, n_levels=layer.n_levels)
    return data, back


def _assert_same(a: E.EdgeLayer, b: E.EdgeLayer) -> None:
    assert np.array_equal(a.contours.lengths, b.contours.lengths)
    assert np.array_equal(a.contours.ys, b.contours.ys)
    assert np.array_equal(a.contours.xs, b.contours.xs)
    assert np.array_equal(a.levels, b.levels)
    assert np.array_equal(a.pixel_side, b.pixel_side)


# =============================================================================== tracing


@pytest.mark.parametrize("density", [0.02, 0.2, 0.6, 1.0])
def test_trace_covers_every_edge_pixel_once_with_8_connected_steps(density):
    rng = np.random.default_rng(int(density * 100))
    edge = rng.random((23, 37)) < density
    c = _contours_of(edge)
    assert int(c.lengths.sum()) == int(edge.sum())
    assert len({(int(y), int(x)) for y, x in zip(c.ys, c.xs)}) == int(edge.sum())
    assert edge[c.ys, c.xs].all()
    starts = c.starts()
    for s, L in zip(starts, c.lengths):
        dy = np.abs(np.diff(c.ys[s : s + L].astype(int)))
        dx = np.abs(np.diff(c.xs[s : s + L].astype(int)))
        assert np.all(np.maximum(dy, dx) == 1)


def test_trace_of_a_line_is_one_chain():
    edge = np.zeros((10, 20), dtype=np.uint8)
    edge[4, 3:17] = 1
    c = _contours_of(edge)
    assert c.lengths.tolist() == [14]
    assert sorted(c.xs.tolist()) == list(range(3, 17))


# =============================================================================== coder round trips


@pytest.mark.parametrize("entropy", ENTROPY)
@pytest.mark.parametrize("n_planes", [1, 3])
@pytest.mark.parametrize("seed", range(4))
def test_random_edge_maps_roundtrip_exactly(entropy, n_planes, seed):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(2, 50)), int(rng.integers(2, 50))
    layer = _random_layer(rng, h, w, n_planes, density=float(rng.uniform(0.01, 0.7)), spacing=int(rng.integers(1, 9)))
    _, back = _roundtrip(layer, h, w, n_planes, entropy)
    _assert_same(layer, back)


@pytest.mark.parametrize("entropy", ENTROPY)
def test_empty_map_roundtrip(entropy):
    layer = _random_layer(np.random.default_rng(0), 16, 16, 1, density=0.0)
    assert layer.contours.count == 0
    data, back = _roundtrip(layer, 16, 16, 1, entropy)
    assert back.contours.count == 0 and back.levels.shape == (0, 2, 1)
    assert len(data) <= 16


@pytest.mark.parametrize("entropy", ENTROPY)
@pytest.mark.parametrize("n_planes", [1, 3])
def test_full_map_roundtrip(entropy, n_planes):
    rng = np.random.default_rng(5)
    layer = _random_layer(rng, 19, 33, n_planes, density=1.0)
    assert int(layer.contours.lengths.sum()) == 19 * 33
    _, back = _roundtrip(layer, 19, 33, n_planes, entropy)
    _assert_same(layer, back)


@pytest.mark.parametrize("entropy", ENTROPY)
@pytest.mark.parametrize("on", [False, True])
def test_one_pixel_images(entropy, on):
    edge = np.array([[on]])
    c = _contours_of(edge)
    assert c.count == int(on)
    levels = np.full((c.count, 2, 3), 7, dtype=np.int32)
    layer = E.EdgeLayer(c, levels, 4, 1, 12, 22)
    _, back = _roundtrip(layer, 1, 1, 3, entropy)
    _assert_same(layer, back)
    base = E.base_image(back, 1, 1, 3)
    assert base.shape == (1, 1, 3) and np.all(np.isfinite(base))


@pytest.mark.parametrize("entropy", ENTROPY)
def test_large_level_jumps_use_the_escape_code(entropy):
    # 16-bit samples, step 1 (for 8 bits) scaled to 256: 256 levels, random differences
    # mostly far beyond the escape symbol
    rng = np.random.default_rng(9)
    layer = _random_layer(rng, 30, 30, 3, density=0.3, step8=1, bit_depth=16)
    assert (layer.step, layer.n_levels) == (256, 256)
    _, back = _roundtrip(layer, 30, 30, 3, entropy)
    _assert_same(layer, back)


def test_arith_is_smaller_than_huffman_on_natural_edges(camera):
    img = camera[::2, ::2, None]
    c = E.detect_contours(img, 8, sigma=2.0, low=0.05, high=0.15, min_length=10)
    layer = E.sample_contours(img, 8, c, spacing=12, offset=1, step8=12)
    sizes = {e: len(E.encode(layer, 1, *img.shape[:2], e)) for e in ENTROPY}
    assert c.count > 5
    assert sizes["arith"] < sizes["huffman"] < 2 * int(c.lengths.sum())  # under 2 bytes per contour pixel


# =============================================================================== Huffman tables


def test_huffman_lengths_kraft_and_limit():
    assert E.huffman_lengths(np.zeros(5, np.int64)).tolist() == [0] * 5
    assert E.huffman_lengths(np.array([0, 9, 0])).tolist() == [0, 1, 0]
    fib = [1, 1]
    while len(fib) < 30:
        fib.append(fib[-1] + fib[-2])
    lengths = E.huffman_lengths(np.array(fib))
    assert lengths.max() <= K.MAX_CODE_LENGTH
    assert sum(2.0 ** -L for L in lengths if L) <= 1.0
    codes = K.canonical_codes(lengths)
    words = {format(int(c), f"0{int(L)}b") for c, L in zip(codes, lengths)}
    assert len(words) == len(fib)
    assert not any(a != b and b.startswith(a) for a in words for b in words)  # prefix-free


# =============================================================================== truncation and corruption


@pytest.mark.parametrize("entropy", ENTROPY)
def test_every_prefix_decodes_to_complete_leading_contours(entropy):
    rng = np.random.default_rng(11)
    layer = _random_layer(rng, 24, 24, 3, density=0.15)
    data = E.encode(layer, 3, 24, 24, entropy)
    previous = -1
    for cut in range(len(data) + 1):
        back = E.decode(data[:cut], h=24, w=24, n_planes=3, entropy=entropy, spacing=layer.spacing, offset=1,
                        step=layer.step, n_levels=layer.n_levels)
        n = back.contours.count
        assert n >= previous  # more bytes never lose a contour
        previous = n
        assert np.array_equal(back.contours.lengths, layer.contours.lengths[:n])
        m = int(back.contours.lengths.sum())
        assert np.array_equal(back.contours.ys, layer.contours.ys[:m])
        assert np.array_equal(back.levels, layer.levels[: back.levels.shape[0]])
        assert np.array_equal(back.pixel_side, layer.pixel_side[:n])
    assert previous == layer.contours.count


@pytest.mark.parametrize("entropy", ENTROPY)
def test_corrupt_layers_decode_within_bounds(entropy):
    rng = np.random.default_rng(12)
    layer = _random_layer(rng, 20, 28, 1, density=0.2)
    data = bytearray(E.encode(layer, 1, 20, 28, entropy))
    for trial in range(60):
        bad = bytearray(data) if trial % 3 else bytearray(rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8))
        for _ in range(int(rng.integers(1, 6))):
            if bad:
                bad[int(rng.integers(len(bad)))] = int(rng.integers(256))
        back = E.decode(bytes(bad), h=20, w=28, n_planes=1, entropy=entropy, spacing=layer.spacing, offset=1,
                        step=layer.step, n_levels=layer.n_levels)
        c = back.contours
        assert int(c.lengths.sum()) == c.ys.shape[0] <= 20 * 28
        assert np.all((c.ys >= 0) & (c.ys < 20) & (c.xs >= 0) & (c.xs < 28))
        assert np.all((back.levels >= 0) & (back.levels < layer.n_levels))
        base = E.base_image(back, 20, 28, 1)
        assert np.all(np.isfinite(base))


# =============================================================================== inpainting


def test_inpaint_keeps_known_pixels_and_fills_smoothly():
    h, w = 33, 47
    known = np.zeros((h, w), dtype=np.uint8)
    known[:, 0] = known[:, -1] = 1
    values = np.zeros((2, h, w))
    values[0, :, -1] = 100.0
    values[1] = 42.0
    u = K.inpaint(values * known, known, 200)
    assert np.array_equal(u[:, known == 1], (values * known)[:, known == 1])
    # between two constant columns the harmonic solution is the linear ramp
    ramp = np.linspace(0.0, 100.0, w)
    assert np.max(np.abs(u[0] - ramp[None, :])) < 1.0
    assert np.max(np.abs(u[1] - 42.0)) < 1e-6


def _reference_sweeps(u, known, iterations, omega):
    """The red-black SOR sweeps in plain Python, row by row over the full image (the documented order)."""
    nc, h, w = u.shape
    for c in range(nc):
        p = u[c]
        for _ in range(iterations):
            for colour in range(2):
                for y in range(h):
                    yn = y - 1 if y > 0 else (y + 1 if h > 1 else y)
                    ys = y + 1 if y < h - 1 else (y - 1 if h > 1 else y)
                    for x in range((y + colour) & 1, w, 2):
                        if known[y, x]:
                            continue
                        xw = x - 1 if x > 0 else (x + 1 if w > 1 else x)
                        xe = x + 1 if x < w - 1 else (x - 1 if w > 1 else x)
                        avg = 0.25 * (p[yn, x] + p[ys, x] + p[y, xw] + p[y, xe])
                        p[y, x] += omega * (avg - p[y, x])


@pytest.mark.parametrize("shape", [(1, 1, 7), (1, 2, 2), (2, 3, 3), (1, 4, 9), (3, 7, 4), (1, 8, 11), (1, 9, 10)])
def test_checkerboard_sweeps_match_the_row_wise_sweeps_bit_for_bit(shape):
    # _relax stores the two colours apart (vectorised rows); the result must be the row-wise one exactly
    rng = np.random.default_rng(sum(shape))
    nc, h, w = shape
    u = rng.normal(100.0, 30.0, shape)
    known = (rng.random((h, w)) < 0.25).astype(np.uint8)
    want = u.copy()
    _reference_sweeps(want, known, 3, 1.8)
    got = u.copy()
    K._relax(got, known, 3, 1.8, np.zeros((nc, 0, 0)), np.empty(w), np.empty((h, w), np.uint8))
    assert got.tobytes() == want.tobytes()


def test_inpaint_without_data_is_zero():
    u = K.inpaint(np.ones((1, 5, 6)), np.zeros((5, 6), dtype=np.uint8), 10)
    assert np.array_equal(u, np.zeros((1, 5, 6)))


@pytest.mark.parametrize("nc", [1, 3])
def test_base_bands_are_the_whole_image_inpainting_bit_for_bit(nc):
    # the full-size sweeps run band by band with a 48-row overlap, the half-size level straight
    # from the known pixels: the rows must be those of the whole-image inpainting exactly
    rng = np.random.default_rng(nc)
    h, w = 211, 150
    img = np.clip(rng.normal(0, 6, (h, w, nc)).cumsum(axis=1) + 128, 0, 255).astype(np.uint8)
    img[60:150, 40:110] //= 3
    c = E.detect_contours(img, 8, sigma=1.5, low=0.05, high=0.15, min_length=10)
    layer = E.sample_contours(img, 8, c, spacing=8, offset=1, step8=8)
    whole = E.base_image(layer, h, w, nc)  # one band at this size
    known = np.zeros((h, w), dtype=np.uint8)
    flat, values = E._known_values(layer, h, w, nc)
    known.reshape(-1)[flat] = 1
    dense = np.zeros((nc, h * w))
    dense[:, flat] = values
    assert K.inpaint(dense.reshape(nc, h, w), known, 24).transpose(1, 2, 0).tobytes() == whole.tobytes()
    # the half-size level from the known pixels: the 2x2 means of the full-size level's kernel
    u2, k2 = np.zeros((nc, (h + 1) // 2, (w + 1) // 2)), np.zeros(((h + 1) // 2, (w + 1) // 2), np.uint8)
    K._restrict(dense.reshape(nc, h, w), known, u2, k2, np.zeros(k2.shape))
    got_u2, got_k2 = K._level_one(flat, values, h, w)
    assert got_u2.tobytes() == u2.tobytes() and np.array_equal(got_k2, k2)
    for rows in (2, 7, 50, 96, 120):
        got = np.full((h, w, nc), np.nan)
        for r0, r1, block in E.base_bands(layer, h, w, nc, rows=rows):
            got[r0:r1] = block
        assert got.tobytes() == whole.tobytes(), rows


def test_base_image_separates_the_two_sides_of_an_edge():
    h, w = 40, 40
    img = np.full((h, w, 1), 40, dtype=np.uint8)
    img[:, 20:] = 200
    c = E.detect_contours(img, 8, sigma=1.0, low=0.05, high=0.15, min_length=5)
    assert c.count >= 1
    layer = E.sample_contours(img, 8, c, spacing=8, offset=1, step8=8)
    base = E.base_image(layer, h, w, 1)
    assert abs(base[20, 5, 0] - 40) < 12 and abs(base[20, 35, 0] - 200) < 12
    # the contour pixels take the value of the side they lie on: the step stays sharp
    assert set(layer.pixel_side.tolist()) <= {1, 2}
    assert np.max(np.abs(base[10:30, 15:25, 0] - img[10:30, 15:25, 0])) < 8


@pytest.mark.parametrize("entropy", ENTROPY)
def test_layers_beyond_the_decoders_initial_buffers_roundtrip(entropy):
    # the decoder starts with room for 1024 pixels and 1024 contours and grows by doubling
    rng = np.random.default_rng(21)
    for h, w, density in ((260, 250, 0.04), (90, 110, 0.5)):  # thousands of short contours; long ones
        layer = _random_layer(rng, h, w, 2, density=density, spacing=3)
        assert min(layer.contours.count, int(layer.contours.lengths.sum())) > 2048 or density > 0.1
        assert int(layer.contours.lengths.sum()) > 2048
        data, back = _roundtrip(layer, h, w, 2, entropy)
        _assert_same(layer, back)
