"""Tests of wavecodec.metrics (MSE, PSNR, SSIM, MS-SSIM, bpp)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavecodec.errors import InvalidArgumentError, WavecodecError
from wavecodec.metrics import MS_SSIM_WEIGHTS, bpp, ms_ssim, mse, psnr, ssim


def _smooth_image(h: int, w: int, channels: int | None = None, seed: int = 0) -> np.ndarray:
    """A natural-ish uint8 test image: smooth gradients plus texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 128 + 60 * np.sin(xx / 17.0) * np.cos(yy / 23.0) + 40 * (xx / max(w, 1) - 0.5)
    shape = (h, w) if channels is None else (h, w, channels)
    if channels is not None:
        base = base[:, :, None] + np.arange(channels) * 10.0
    img = base + rng.normal(0, 12, size=shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _noisy(img: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(img + rng.normal(0, sigma, img.shape)), 0, 255).astype(img.dtype)


# --------------------------------------------------------------------------- #
# MSE / PSNR
# --------------------------------------------------------------------------- #
def test_mse_and_psnr_known_values():
    ref = np.zeros((2, 2), np.uint8)
    test = np.array([[0, 0], [0, 10]], np.uint8)
    assert mse(ref, test) == pytest.approx(25.0)
    # 10 log10(255^2 / 25) = 20 log10(51)
    assert psnr(ref, test) == pytest.approx(20 * math.log10(51.0))
    assert psnr(ref, test) == pytest.approx(34.1514, abs=1e-4)


def test_mse_no_uint8_wraparound():
    ref = np.array([[0, 255]], np.uint8)
    test = np.array([[255, 0]], np.uint8)
    assert mse(ref, test) == pytest.approx(255.0**2)
    assert psnr(ref, test) == pytest.approx(0.0)


def test_psnr_identical_is_inf():
    img = _smooth_image(16, 16)
    assert psnr(img, img.copy()) == math.inf
    assert psnr(img.astype(np.float32), img.astype(np.float32), data_range=255) == math.inf


def test_psnr_uint16_default_range():
    ref = np.zeros((4, 4), np.uint16)
    test = ref.copy()
    test[0, 0] = 400  # MSE = 400^2 / 16 = 10000
    assert psnr(ref, test) == pytest.approx(10 * math.log10(65535.0**2 / 10000.0))


def test_psnr_rgb_is_over_all_channels():
    ref = np.zeros((2, 2, 3), np.uint8)
    test = ref.copy()
    test[0, 0, 0] = 12  # one error in 12 samples -> MSE = 12
    assert mse(ref, test) == pytest.approx(12.0)
    assert psnr(ref, test) == pytest.approx(10 * math.log10(255.0**2 / 12.0))


def test_psnr_float_requires_data_range():
    ref = np.zeros((4, 4), np.float64)
    test = ref + 0.1
    with pytest.raises(InvalidArgumentError, match="data_range"):
        psnr(ref, test)
    assert psnr(ref, test, data_range=1.0) == pytest.approx(20.0)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "x"])
def test_data_range_validation(bad):
    img = _smooth_image(32, 32)
    for fn in (psnr, ssim, ms_ssim):
        with pytest.raises(InvalidArgumentError, match="data_range"):
            fn(img, img, data_range=bad)


def test_errors_are_value_errors_and_wavecodec_errors():
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(WavecodecError):
        psnr(np.zeros((4, 4)), np.zeros((4, 4)))


def test_shape_mismatch_and_bad_ndim():
    a = np.zeros((8, 8), np.uint8)
    with pytest.raises(InvalidArgumentError, match="test"):
        mse(a, np.zeros((8, 9), np.uint8))
    with pytest.raises(InvalidArgumentError, match="reference"):
        psnr(np.zeros(8, np.uint8), np.zeros(8, np.uint8))
    with pytest.raises(InvalidArgumentError, match="reference"):
        ms_ssim(np.zeros((2, 2, 2, 2), np.uint8), np.zeros((2, 2, 2, 2), np.uint8))


# --------------------------------------------------------------------------- #
# SSIM
# --------------------------------------------------------------------------- #
def test_ssim_identity_range_and_colour():
    img = _smooth_image(64, 48)
    assert ssim(img, img) == pytest.approx(1.0)
    v = ssim(img, _noisy(img, 20))
    assert 0.0 < v < 1.0
    col = _smooth_image(40, 50, channels=3)
    assert ssim(col, col) == pytest.approx(1.0)
    assert 0.0 < ssim(col, _noisy(col, 20)) < 1.0


def test_ssim_small_image():
    img = _smooth_image(6, 9)
    assert ssim(img, img) == pytest.approx(1.0)
    assert ssim(img, _noisy(img, 30)) < 1.0


# --------------------------------------------------------------------------- #
# MS-SSIM
# --------------------------------------------------------------------------- #
def test_ms_ssim_identical_is_one():
    img = _smooth_image(192, 200)
    assert ms_ssim(img, img) == 1.0
    col = _smooth_image(170, 180, channels=3)
    assert ms_ssim(col, col) == 1.0


def test_ms_ssim_monotone_in_noise_and_in_range():
    img = _smooth_image(200, 176)
    values = [ms_ssim(img, _noisy(img, s)) for s in (1, 3, 8, 20, 50, 100)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert all(a > b for a, b in zip(values, values[1:])), values


def test_ms_ssim_range_for_anticorrelated_images():
    img = _smooth_image(180, 180)
    inv = (255 - img).astype(np.uint8)
    v = ms_ssim(img, inv)
    assert 0.0 <= v <= 1.0
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 256, img.shape, dtype=np.uint8)
    assert 0.0 <= ms_ssim(img, noise) < 0.5


def test_ms_ssim_colour_is_mean_of_channels():
    col = _smooth_image(176, 192, channels=3)
    noisy = _noisy(col, 15)
    per_channel = [ms_ssim(col[:, :, c], noisy[:, :, c]) for c in range(3)]
    assert ms_ssim(col, noisy) == pytest.approx(np.mean(per_channel), rel=1e-12)


def test_ms_ssim_float_input():
    img = _smooth_image(170, 170)
    noisy = _noisy(img, 10)
    v8 = ms_ssim(img, noisy)
    vf = ms_ssim(img / 255.0, noisy / 255.0, data_range=1.0)
    assert vf == pytest.approx(v8, rel=1e-9)
    with pytest.raises(InvalidArgumentError, match="data_range"):
        ms_ssim(img / 255.0, noisy / 255.0)


@pytest.mark.parametrize("shape", [(120, 130), (40, 41), (11, 11), (23, 300)])
def test_ms_ssim_fewer_scales(shape):
    img = _smooth_image(*shape)
    assert ms_ssim(img, img) == 1.0
    v1 = ms_ssim(img, _noisy(img, 5))
    v2 = ms_ssim(img, _noisy(img, 40))
    assert 0.0 <= v2 < v1 < 1.0


@pytest.mark.parametrize("shape", [(10, 10), (5, 7), (1, 7), (3, 3, 3)])
def test_ms_ssim_tiny_images_fall_back(shape):
    img = _smooth_image(*shape[:2], channels=shape[2] if len(shape) == 3 else None)
    assert ms_ssim(img, img) == pytest.approx(1.0)
    v = ms_ssim(img, _noisy(img, 40))
    assert 0.0 <= v <= 1.0


# ---- independent, deliberately naive reference implementation ------------- #
def _naive_ms_ssim(x: np.ndarray, y: np.ndarray, data_range: float = 255.0) -> float:
    """Loop-based MS-SSIM of two 2-D images following Wang et al. 2003 literally."""
    size, sigma = 11, 1.5
    win = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            win[i, j] = math.exp(-((i - 5) ** 2 + (j - 5) ** 2) / (2 * sigma**2))
    win /= win.sum()
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2

    x = x.astype(np.float64)
    y = y.astype(np.float64)
    weights = []
    factors = []
    all_w = list(MS_SSIM_WEIGHTS)
    level = 0
    while level < 5 and min(x.shape) >= size:
        h, w = x.shape
        lum_sum = cs_sum = 0.0
        n = 0
        for i in range(h - size + 1):
            for j in range(w - size + 1):
                px = x[i : i + size, j : j + size]
                py = y[i : i + size, j : j + size]
                mx = float(np.sum(win * px))
                my = float(np.sum(win * py))
                vx = float(np.sum(win * (px - mx) ** 2))
                vy = float(np.sum(win * (py - my) ** 2))
                cxy = float(np.sum(win * (px - mx) * (py - my)))
                lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
                cs = (2 * cxy + c2) / (vx + vy + c2)
                lum_sum += lum * cs
                cs_sum += cs
                n += 1
        weights.append(all_w[level])
        factors.append((cs_sum / n, lum_sum / n))
        # 2x2 mean pooling, repeating the last row/column for odd sides
        nh, nw = (h + 1) // 2, (w + 1) // 2
        nx = np.zeros((nh, nw))
        ny = np.zeros((nh, nw))
        for i in range(nh):
            for j in range(nw):
                rows = [min(2 * i, h - 1), min(2 * i + 1, h - 1)]
                cols = [min(2 * j, w - 1), min(2 * j + 1, w - 1)]
                nx[i, j] = sum(x[r, c] for r in rows for c in cols) / 4.0
                ny[i, j] = sum(y[r, c] for r in rows for c in cols) / 4.0
        x, y = nx, ny
        level += 1
    total = sum(weights)
    result = 1.0
    for k, (wk, (cs, ss)) in enumerate(zip(weights, factors)):
        val = ss if k == len(weights) - 1 else cs
        result *= max(val, 0.0) ** (wk / total)
    return result


def test_ms_ssim_matches_naive_implementation_192():
    img = _smooth_image(192, 192, seed=3)
    for sigma in (4, 25):
        noisy = _noisy(img, sigma, seed=7)
        assert ms_ssim(img, noisy) == pytest.approx(_naive_ms_ssim(img, noisy), rel=1e-9, abs=1e-12)


def test_ms_ssim_matches_naive_implementation_odd_sizes():
    # 61 -> 31 -> 16 (-> 8): three scales, weights renormalised, odd-side pooling
    img = _smooth_image(75, 61, seed=4)
    noisy = _noisy(img, 12, seed=8)
    assert ms_ssim(img, noisy) == pytest.approx(_naive_ms_ssim(img, noisy), rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- #
# bpp
# --------------------------------------------------------------------------- #
def test_bpp():
    assert bpp(b"\x00" * 100, (20, 40)) == pytest.approx(1.0)
    assert bpp(100, (20, 40, 3)) == pytest.approx(1.0)  # per pixel, not per channel
    assert bpp(bytearray(50), np.zeros((10, 10), np.uint8)) == pytest.approx(4.0)
    assert bpp(memoryview(b"abcd"), (4, 8)) == pytest.approx(1.0)
    assert bpp(0, (5, 5)) == 0.0


@pytest.mark.parametrize(
    "args, param",
    [
        ((-1, (4, 4)), "data_or_nbytes"),
        (("abc", (4, 4)), "data_or_nbytes"),
        ((True, (4, 4)), "data_or_nbytes"),
        ((10, (0, 4)), "shape"),
        ((10, (4,)), "shape"),
        ((10, 5), "shape"),
    ],
)
def test_bpp_validation(args, param):
    with pytest.raises(InvalidArgumentError, match=param):
        bpp(*args)


@pytest.mark.parametrize("shape", ["x", ("a", 2), (2.5, 3), None, (True, 4)])
def test_bpp_shape_must_be_ints(shape):
    with pytest.raises(InvalidArgumentError, match="shape"):
        bpp(b"..", shape)
