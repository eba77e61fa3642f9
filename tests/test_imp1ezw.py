"""Tests of the IMP1EZW codec (improved EZW with PT/NT symbols; Brahimi et al., AEU 73, 2017).

Test vector: Shapiro's 8x8 example (see tests/test_ezw.py) as a 3-level pyramid;
the first dominant pass of IMP1EZW codes 49 (whose subtree is insignificant at
T = 32) as PT, so its four children are not scanned.
"""

from __future__ import annotations

import numpy as np
import pytest

import wavecodec
from wavecodec._kernels import imp1ezw as K
from wavecodec.coders import imp1ezw as I

from conftest import make_image, psnr
from test_ezw import SHAPIRO

_NAMES = {K.S_ZTR: "ZTR", K.S_IZ: "IZ", K.S_POS: "P", K.S_NEG: "N", K.S_Z: "Z", K.S_PT: "PT", K.S_NT: "NT"}
FIRST_PASS = "P N IZ ZTR PT ZTR ZTR ZTR ZTR IZ ZTR ZTR Z P Z Z"


def _encode(variant="plain", budget=None, q=SHAPIRO[None]):
    return I.encode_coefficients(q, variant=variant, levels=3, n_max=5, budget=budget, trace_capacity=10000)


def _decode(payload, variant="plain", integer=True, shape=(1, 8, 8)):
    return I.decode_coefficients(payload, variant=variant, shape=shape, levels=3, n_max=5, frac_bits=0,
                                 integer=integer)


def _dominant(trace, n):
    return " ".join(_NAMES[int(r[1])] for r in trace if r[0] == n and r[1] != K.T_SUB)


# =============================================================================== test vectors


@pytest.mark.parametrize("variant", ["plain", "ac"])
def test_shapiro_first_pass(variant):
    trace = _encode(variant).trace
    assert _dominant(trace, 5) == FIRST_PASS
    assert len(FIRST_PASS.split()) == 16
    first = trace[trace[:, 0] == 5]
    coords = [tuple(r[[3, 4]]) for r in first if r[1] != K.T_SUB]
    assert coords[4] == (0, 2)  # 49: PT, its children (0, 4), (0, 5), (1, 4), (1, 5) are skipped
    assert (0, 4) not in coords and coords[12:] == [(4, 2), (4, 3), (5, 2), (5, 3)]
    # the subordinate pass is EZW's: 63, -34, 49, 47 in discovery order, bits 1010
    subs = [(tuple(r[[3, 4]]), int(r[5])) for r in first if r[1] == K.T_SUB]
    assert subs == [((0, 0), 1), ((0, 1), 0), ((0, 2), 1), ((4, 3), 0)]


def test_plain_bits():
    res = _encode("plain")
    trace = res.trace
    code = {K.S_ZTR: "00", K.S_IZ: "01", K.S_Z: "00"}
    want = []
    for r in trace:
        kind, i, j = int(r[1]), int(r[3]), int(r[4])
        leaf = i >= 4 or j >= 4
        if kind == K.T_SUB:
            want.append(str(int(r[5])))
        elif kind in code:
            want.append(code[kind])
        else:
            bits = {K.S_POS: "10", K.S_NEG: "11", K.S_PT: "10", K.S_NT: "11"}[kind]
            if not leaf:
                bits += "1" if kind in (K.S_PT, K.S_NT) else "0"
            want.append(bits)
    want = "".join(want)
    got = "".join(map(str, np.unpackbits(np.frombuffer(res.payload, np.uint8))))
    assert got[: len(want)] == want and len(res.payload) == (len(want) + 7) // 8


@pytest.mark.parametrize("variant", ["plain", "ac"])
def test_shapiro_matrix_exact(variant):
    res = _encode(variant)
    np.testing.assert_array_equal(_decode(res.payload, variant)[0], SHAPIRO)
    # the first dominant pass (16 symbols: 35 bits) and the first subordinate pass (1010): 56, -40, 56, 40
    if variant == "plain":
        bits = np.unpackbits(np.frombuffer(res.payload, np.uint8))
        out = _decode(np.packbits(bits[:39]).tobytes(), variant, integer=False)[0]
        assert (out[0, 0], out[0, 1], out[0, 2], out[4, 3]) == (56, -40, 56, 40)
        assert np.count_nonzero(out) == 4


def test_colour_forest_exact():
    q = np.stack([SHAPIRO, -SHAPIRO, SHAPIRO.T])
    for variant in ("plain", "ac"):
        res = _encode(variant, q=q)
        np.testing.assert_array_equal(_decode(res.payload, variant, shape=q.shape), q)
        first = res.trace[(res.trace[:, 0] == 5) & (res.trace[:, 1] != K.T_SUB)]
        assert np.all(np.diff(first[:, 2]) >= 0) and set(first[:, 2]) == {0, 1, 2}
        assert K.S_NT in set(first[first[:, 2] == 1, 1])  # -49 in Cb


def test_contexts_stay_inside_the_declared_count():
    """Every context the arithmetic-coded kernel uses lies below the declared count (the kernel does not
    bounds-check: a context past the end would silently corrupt memory), and the coder uses many of them."""
    rng = np.random.default_rng(7)
    q = np.round(rng.laplace(0.0, 6.0, size=(3, 32, 32)) * rng.integers(0, 2, size=(3, 32, 32))).astype(np.int64)
    q[:, :4, :4] = rng.integers(-200, 200, size=(3, 4, 4))
    n_max = int(np.abs(q).max()).bit_length() - 1
    guard = 16
    stats = np.zeros((K.imp1ezw_context_count() + guard, 2), dtype=np.int64)
    I.encode_coefficients(q, variant="ac", levels=3, n_max=n_max, budget=None, stats=stats)
    assert stats[-guard:].sum() == 0
    assert (stats[:-guard].sum(axis=1) > 0).sum() > 100


# =============================================================================== round trips


@pytest.mark.parametrize("variant", ["ac", "plain"])
def test_lossless_camera_crops(camera_crop, camera_odd, astronaut_odd, variant):
    for img in (camera_crop, camera_odd, astronaut_odd):
        data = wavecodec.encode(img, "imp1ezw", lossless=True, variant=variant)
        np.testing.assert_array_equal(wavecodec.decode(data), img)
        assert len(data) < 0.9 * img.size


@pytest.mark.parametrize("levels", [0, 1, 3])
def test_levels(camera_odd, levels):
    out = wavecodec.decode(wavecodec.encode(camera_odd, "imp1ezw", lossless=True, levels=levels))
    np.testing.assert_array_equal(out, camera_odd)
    assert psnr(camera_odd, wavecodec.decode(wavecodec.encode(camera_odd, "imp1ezw", bpp=1.0, levels=levels))) > 22


@pytest.mark.parametrize("variant", ["ac", "plain"])
def test_budgets_and_rate(camera, variant):
    last = 0.0
    for bpp in (0.05, 0.1, 0.25, 0.5, 1.0):
        limit = int(bpp * camera.size / 8)
        data = wavecodec.encode(camera, "imp1ezw", max_bytes=limit, variant=variant)
        assert len(data) <= limit
        q = psnr(camera, wavecodec.decode(data))
        assert q > last
        last = q
    assert last > (37 if variant == "ac" else 34)


def test_plain_budgeted_stream_is_a_prefix(camera_crop):
    full = wavecodec.encode(camera_crop, "imp1ezw", variant="plain")
    header = wavecodec.info(full).header_size
    # (same coding parameters: no per-rate quantiser search)
    cut = wavecodec.encode(camera_crop, "imp1ezw", variant="plain", max_bytes=header + 500, step_search="never")
    hcut = wavecodec.info(cut).header_size
    assert cut[hcut:] == full[header:][: len(cut) - hcut]


def test_colour(astronaut_crop):
    data = wavecodec.encode(astronaut_crop, "imp1ezw", bpp=1.0)
    out = wavecodec.decode(data)
    assert out.shape == astronaut_crop.shape and psnr(astronaut_crop, out) > 25
    assert wavecodec.info(data).codec == "imp1ezw"
    lossless = wavecodec.encode(astronaut_crop, "imp1ezw", lossless=True)
    np.testing.assert_array_equal(wavecodec.decode(lossless), astronaut_crop)


def test_registry_and_options():
    c = wavecodec.get_codec("imp1ezw")
    assert c.capabilities.embedded and c.capabilities.lossless and c.capabilities.colour
    opts = {o.name: o for o in c.options}
    assert set(opts) == {"variant", "pass_order", "wavelet", "levels", "step_search", "reconstruction"}
    assert opts["variant"].default == "ac" and set(opts["variant"].choices) == {"ac", "plain"}
    with pytest.raises(wavecodec.InvalidArgumentError):
        wavecodec.encode(make_image(8, 8), "imp1ezw", variant="binary")
    with pytest.raises(wavecodec.InvalidArgumentError):
        wavecodec.encode(make_image(8, 8), "imp1ezw", scan="rescan")
    with pytest.raises(wavecodec.InvalidArgumentError):
        wavecodec.encode(make_image(8, 8), "imp1ezw", lossless=True, wavelet="cdf97")


def test_all_zero_image():
    img = np.full((9, 14), 77, dtype=np.uint8)
    for lossless in (False, True):
        np.testing.assert_array_equal(wavecodec.decode(wavecodec.encode(img, "imp1ezw", lossless=lossless)), img)


# =============================================================================== IMP1EZW vs EZW


@pytest.mark.parametrize("bpp", [0.1, 0.25, 0.5, 1.0])
def test_beats_ezw_lossy(camera, bpp):
    ours = psnr(camera, wavecodec.decode(wavecodec.encode(camera, "imp1ezw", bpp=bpp)))
    ezw = psnr(camera, wavecodec.decode(wavecodec.encode(camera, "ezw", bpp=bpp)))
    assert ours > ezw, (bpp, ours, ezw)


def test_beats_ezw_lossless(camera):
    ours = wavecodec.encode(camera, "imp1ezw", lossless=True)
    np.testing.assert_array_equal(wavecodec.decode(ours), camera)
    assert len(ours) < len(wavecodec.encode(camera, "ezw", lossless=True))
