"""The edge layer's kernels against plain-Python references, bit for bit: the Canny kernel's
branchless non-maximum suppression (it must keep the pixels of the branchy form) and the
inpainting sweeps started from a coarse level (the prolongation inside the row permutation)."""

from __future__ import annotations

import numpy as np
import pytest

from wavecodec._kernels import edges as K


def _reference_canny(lum: np.ndarray, sigma: float, low: float, high: float) -> np.ndarray:
    """The steps of :func:`wavecodec._kernels.edges.canny_kernel` in NumPy float32 and Python
    loops, with the non-maximum suppression in its branchy form (one interpolation or the other)."""
    f32 = np.float32
    low, high = f32(low), f32(high)  # as the kernel compares them
    h, w = lum.shape
    r = int(4.0 * sigma + 0.5)
    taps = np.arange(-r, r + 1, dtype=np.float64)
    weights = np.exp(-0.5 * taps * taps / sigma ** 2)
    weights /= weights.sum()

    def mass(n):
        inside = (np.arange(n)[:, None] + taps[None, :] >= 0) & (np.arange(n)[:, None] + taps[None, :] < n)
        return (inside * weights[None, :]).sum(axis=1).astype(f32)

    wk = weights.astype(f32)
    across = np.zeros((h, w), f32)
    for k in range(2 * r + 1):
        d = k - r
        x0, x1 = max(0, -d), min(w, w - d)
        across[:, x0:x1] += wk[k] * lum[:, x0 + d:x1 + d]
    smooth = np.zeros((h, w), f32)
    for k in range(2 * r + 1):
        d = k - r
        y0, y1 = max(0, -d), min(h, h - d)
        smooth[y0:y1] += wk[k] * across[y0 + d:y1 + d]
    smooth /= mass(h)[:, None] * mass(w)[None, :]
    pad = np.pad(smooth, 1, mode="edge")  # the kernel's clamped neighbours at the border
    up, mid, down = pad[:-2], pad[1:-1], pad[2:]
    gj = (up[:, 2:] - up[:, :-2]) + f32(2) * (mid[:, 2:] - mid[:, :-2]) + (down[:, 2:] - down[:, :-2])
    gi = (down[:, :-2] - up[:, :-2]) + f32(2) * (down[:, 1:-1] - up[:, 1:-1]) + (down[:, 2:] - up[:, 2:])
    mag = np.sqrt(gi * gi + gj * gj)
    flags = np.zeros((h, w), np.uint8)
    one = f32(1)
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            mv = mag[y, x]
            if mv <= 0 or mv < low:
                continue
            ai, aj = abs(gi[y, x]), abs(gj[y, x])
            same = (gi[y, x] >= 0 and gj[y, x] >= 0) or (gi[y, x] <= 0 and gj[y, x] <= 0)
            sx = 1 if same else -1
            if ai >= aj:
                t = aj / ai
                n1 = mag[y + 1, x] * (one - t) + mag[y + 1, x + sx] * t
                n2 = mag[y - 1, x] * (one - t) + mag[y - 1, x - sx] * t
            else:
                t = ai / aj
                n1 = mag[y, x + sx] * (one - t) + mag[y + 1, x + sx] * t
                n2 = mag[y, x - sx] * (one - t) + mag[y - 1, x - sx] * t
            if n1 <= mv and n2 <= mv:
                flags[y, x] = 2 if mv >= high else 1
    stack = [(y, x) for y, x in zip(*np.nonzero(flags == 2))]
    flags[flags == 2] = 3
    while stack:
        y, x = stack.pop()
        for yy in range(max(0, y - 1), min(h, y + 2)):
            for xx in range(max(0, x - 1), min(w, x + 2)):
                if flags[yy, xx] in (1, 2):
                    flags[yy, xx] = 3
                    stack.append((yy, xx))
    return (flags == 3).astype(np.uint8)


@pytest.mark.parametrize("shape, sigma", [((37, 53), 1.0), ((64, 41), 2.0)])
def test_canny_kernel_is_the_branchy_reference_bit_for_bit(shape, sigma):
    rng = np.random.default_rng(shape[0])
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    lum = 0.3 + 0.002 * xx + 0.05 * rng.standard_normal((h, w))
    for _ in range(5):  # discs: edges in every direction, ties of |gi| and |gj| on the diagonals
        cy, cx, rad = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(5, 20)
        lum[(yy - cy) ** 2 + (xx - cx) ** 2 < rad * rad] = rng.uniform(0, 1)
    lum[:, w // 2:] = np.round(lum[:, w // 2:] * 4) / 4  # flat areas: zero gradients
    lum = lum.astype(np.float32)
    want = _reference_canny(lum, sigma, 0.05, 0.15)
    assert want.sum() > 20
    assert np.array_equal(K.canny(lum, sigma, 0.05, 0.15), want)


def _reference_sweeps(u, known, iterations, omega):
    """Red-black SOR sweeps row by row over the full image (the order documented in _relax)."""
    nc, h, w = u.shape
    for c in range(nc):
        p = u[c]
        for _ in range(iterations):
            for colour in range(2):
                for y in range(h):
                    yn = y - 1 if y > 0 else y + 1
                    ys = y + 1 if y < h - 1 else y - 1
                    for x in range((y + colour) & 1, w, 2):
                        if known[y, x]:
                            continue
                        xw = x - 1 if x > 0 else x + 1
                        xe = x + 1 if x < w - 1 else x - 1
                        avg = 0.25 * (p[yn, x] + p[ys, x] + p[y, xw] + p[y, xe])
                        p[y, x] += omega * (avg - p[y, x])


@pytest.mark.parametrize("shape", [(1, 6, 8), (2, 7, 9), (1, 9, 4), (3, 5, 11), (1, 12, 13)])
def test_sweeps_from_a_coarse_level_match_the_reference_bit_for_bit(shape):
    # _relax prolongs the coarse level into the unknown pixels while it permutes the rows
    rng = np.random.default_rng(sum(shape))
    nc, h, w = shape
    u = rng.normal(100.0, 30.0, shape)
    known = (rng.random((h, w)) < 0.3).astype(np.uint8)
    coarse = rng.normal(100.0, 30.0, (nc, (h + 1) // 2, (w + 1) // 2))
    want = u.copy()
    for y in range(h):
        for x in range(w):
            if not known[y, x]:
                want[:, y, x] = coarse[:, y >> 1, x >> 1]
    _reference_sweeps(want, known, 3, 1.8)
    got = u.copy()
    K._relax(got, known, 3, 1.8, coarse, np.empty(w), np.empty((h, w), np.uint8))
    assert got.tobytes() == want.tobytes()


def test_contour_geometry_is_the_numpy_knots_and_side_pixels():
    # one pass of the kernel: the same knots, weights and side pixels as _knots and side_constraints
    from wavecodec.coders import _edge_layer as E

    rng = np.random.default_rng(5)
    h, w = 40, 50
    lengths, ys, xs = [], [], []
    for n in (1, 2, 3, 17, 33, 60, 1, 5):  # random 8-connected walks, some leaving the image's side pixels
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        for _ in range(n):
            ys.append(y)
            xs.append(x)
            y = int(np.clip(y + rng.integers(-1, 2), 0, h - 1))
            x = int(np.clip(x + rng.integers(-1, 2), 0, w - 1))
        lengths.append(n)
    contours = E.Contours(np.array(lengths, np.int64), np.array(ys, np.int32), np.array(xs, np.int32))
    for spacing, offset in ((1, 1), (4, 2), (16, 1)):
        got = E._geometry(contours, spacing, offset, h, w)
        want = E._knots(contours, spacing) + E.side_constraints(contours.lengths, contours.ys, contours.xs,
                                                                offset, h, w)
        for g, x in zip(got, want):
            assert g.dtype == x.dtype and g.tobytes() == x.tobytes()
    # a jump (not 8-connected): the general formula
    jump = E.Contours(np.array([3], np.int64), np.array([5, 5, 9], np.int32), np.array([5, 6, 9], np.int32))
    got = E._geometry(jump, 2, 1, h, w)
    want = E._knots(jump, 2) + E.side_constraints(jump.lengths, jump.ys, jump.xs, 1, h, w)
    assert all(g.tobytes() == x.tobytes() for g, x in zip(got, want))
