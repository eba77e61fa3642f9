"""Tests of the IMP1EZW codec (improved EZW with PT/NT symbols; Brahimi et al., AEU 73, 2017).

Test vector: Shapiro's 8x8 example (see tests/test_ezw.py) as a 3-level pyramid;
the first dominant pass of IMP1EZW codes 49 (whose subtree is insignificant at
T = 32) as PT, so its four children are not scanned.  The symbols are checked on
the plain-Python reference coder (:mod:`wavecodec.reference.ezw` with its
IMP1EZW symbol map), and the kernel's ``plain`` payload is checked to be exactly
the reference coder's bits.
"""

from __future__ import annotations

import numpy as np
import pytest

import wavecodec
from wavecodec._kernels import imp1ezw as K
from wavecodec.coders import imp1ezw as I
from wavecodec.reference import ezw as reference

from conftest import make_image, psnr
from test_ezw import SHAPIRO

FIRST_PASS = "P N IZ ZTR PT ZTR ZTR ZTR ZTR IZ ZTR ZTR Z P Z Z"
COLOUR = np.stack([SHAPIRO, -SHAPIRO, SHAPIRO.T])


def _encode(variant="plain", budget=None, q=SHAPIRO[None], order="shapiro"):
    return I.encode_coefficients(q, variant=variant, order=order, levels=3, n_max=5, budget=budget)


def _decode(payload, variant="plain", integer=True, shape=(1, 8, 8)):
    return I.decode_coefficients(payload, variant=variant, shape=shape, levels=3, n_max=5, frac_bits=0,
                                 integer=integer)


def _reference(q=SHAPIRO[None], order="shapiro"):
    return list(reference.passes(3, 5, coefficients=q, symbols=reference.IMP1EZW, pass_order=order))


# =============================================================================== test vectors


def test_shapiro_first_pass():
    first = _reference()[0].decisions
    dominant = [d for d in first if d.kind == "dominant"]
    assert " ".join(d.symbol for d in dominant) == FIRST_PASS
    assert len(FIRST_PASS.split()) == 16
    coords = [d.node[1:] for d in dominant]
    assert coords[4] == (0, 2)  # 49: PT, its children (0, 4), (0, 5), (1, 4), (1, 5) are skipped
    assert (0, 4) not in coords and coords[12:] == [(4, 2), (4, 3), (5, 2), (5, 3)]
    # the subordinate pass is EZW's: 63, -34, 49, 47 in discovery order, bits 1010
    subs = [(d.node[1:], d.symbol) for d in first if d.kind == "subordinate"]
    assert subs == [((0, 0), "1"), ((0, 1), "0"), ((0, 2), "1"), ((4, 3), "0")]


def test_plain_bits():
    # P = 100, N = 110, PT = 101, NT = 111, IZ = 01, ZTR = 00; at the finest level P = 10, N = 11, Z = 00
    for q in (SHAPIRO[None], COLOUR):
        for d in (d for p in _reference(q) for d in p.decisions):
            i, j = d.node[1:]
            leaf = i >= 4 or j >= 4
            if d.kind == "subordinate":
                want = d.symbol
            elif d.symbol in ("ZTR", "IZ", "Z"):
                want = {"ZTR": "00", "IZ": "01", "Z": "00"}[d.symbol]
            else:
                want = {"P": "10", "N": "11", "PT": "10", "NT": "11"}[d.symbol]
                if not leaf:
                    want += "1" if d.symbol in ("PT", "NT") else "0"
            assert d.bits == want, d


@pytest.mark.parametrize("order", ["shapiro", "significance-first"])
def test_kernel_payload_is_the_reference_bits(order):
    # the plain variant's payload is exactly the reference coder's bits, MSB first, zero-padded
    for q in (SHAPIRO[None], COLOUR):
        bits = "".join(d.bits for p in _reference(q, order) for d in p.decisions)
        res = _encode(q=q, order=order)
        payload = np.unpackbits(np.frombuffer(res.payload, np.uint8))
        assert len(res.payload) == (len(bits) + 7) // 8
        assert "".join(map(str, payload[: len(bits)])) == bits
        assert not payload[len(bits):].any()  # zero padding


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
    for variant in ("plain", "ac"):
        res = _encode(variant, q=COLOUR)
        np.testing.assert_array_equal(_decode(res.payload, variant, shape=COLOUR.shape), COLOUR)
    first = [d for d in _reference(COLOUR)[0].decisions if d.kind == "dominant"]
    planes = [d.node[0] for d in first]
    assert np.all(np.diff(planes) >= 0) and set(planes) == {0, 1, 2}
    assert "NT" in {d.symbol for d in first if d.node[0] == 1}  # -49 in Cb


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
        wavecodec.encode(make_image(8, 8), "imp1ezw", variant="raw")
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
