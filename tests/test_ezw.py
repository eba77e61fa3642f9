"""Tests of the EZW codec: Shapiro's worked example, round trips, embeddedness, robustness.

Test vectors: Shapiro (IEEE TSP 41(12), 1993) 8x8 example as a 3-level pyramid
(LL = 63 with the three children -34, -31, 23); passes 2 and 3 from
/work/shared/reference/algorithms.md section 1.3.
"""

from __future__ import annotations

import numpy as np
import pytest

import wavecodec
from wavecodec._kernels import ezw as K
from wavecodec.coders import ezw as E

from conftest import make_image, psnr

# Shapiro's 8x8 example (IEEE TSP 1993, Fig. 6), as shipped for teaching; the paper's symbols and bits
# checked below would catch a wrong entry
from wavecodec.reference import SHAPIRO_8X8 as SHAPIRO  # noqa: E402

_NAMES = {K.S_ZTR: "ZTR", K.S_IZ: "IZ", K.S_POS: "P", K.S_NEG: "N", K.S_Z: "Z"}

STRICT = {
    5: ("P N IZ ZTR P ZTR ZTR ZTR ZTR IZ ZTR ZTR Z Z Z Z Z P Z Z", "1010"),
    4: ("N P" + " ZTR" * 11 + " Z Z Z Z", "100110"),
    3: ("P P N P P N ZTR ZTR N N P Z P N Z Z Z Z Z Z Z Z P Z Z Z Z Z P Z Z Z Z Z Z Z Z P"
        + " Z" * 12, "10101101111011011000"),
}
RESCAN_PASS2 = "IZ ZTR N P ZTR ZTR ZTR ZTR ZTR ZTR ZTR ZTR"

AFTER_PASS3 = np.array(
    [
        [62, -34, 50, 10, 0, 14, -14, 0],
        [-30, 22, 14, -14, 0, 0, 0, 0],
        [14, 14, 0, -14, 0, 0, 0, 10],
        [-10, 0, -14, 10, 0, 0, 0, 0],
        [0, 10, 0, 46, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 10, 0, 0, 0, 0, 0, 0],
    ]
)


def _passes(trace: np.ndarray, n: int) -> tuple[str, str]:
    rows = trace[trace[:, 0] == n]
    dom = " ".join(_NAMES[int(r[1])] for r in rows if r[1] != K.T_SUB)
    sub = "".join(str(int(r[5])) for r in rows if r[1] == K.T_SUB)
    return dom, sub


def _encode(scan="strict", variant="plain", budget=None):
    return E.encode_coefficients(SHAPIRO[None], variant=variant, scan=scan, levels=3, n_max=5, budget=budget,
                                 trace_capacity=10000)


def _decode(payload, scan="strict", variant="plain", integer=False):
    return E.decode_coefficients(payload, variant=variant, scan=scan, shape=(1, 8, 8), levels=3, n_max=5,
                                 frac_bits=0, integer=integer)[0]


def _prefix_bits(res, n_symbols_rows):
    """Bytes holding exactly the plain-coded bits of the first trace rows (2 per symbol, 1 per sub bit)."""
    rows = res.trace[:n_symbols_rows]
    nbits = int(sum(1 if r[1] == K.T_SUB else 2 for r in rows))
    bits = np.unpackbits(np.frombuffer(res.payload, np.uint8))[:nbits]
    return bits, nbits


# =============================================================================== test vectors


@pytest.mark.parametrize("variant", ["plain", "ac"])
def test_shapiro_strict_passes(variant):
    trace = _encode(variant=variant).trace
    for n, (dom, sub) in STRICT.items():
        assert _passes(trace, n) == (dom, sub), f"threshold 2**{n}"
    assert len(STRICT[3][0].split()) == 50 and len(STRICT[4][0].split()) == 17
    assert np.all(np.diff(trace[:, 0]) <= 0)


def test_shapiro_first_pass_positions():
    rows = _encode().trace
    first = rows[rows[:, 0] == 5]
    # LL, HL3, LH3, HH3, then HL2 raster, LH2 raster, then the visited HL1 and LH1 entries
    coords = [tuple(r[[3, 4]]) for r in first if r[1] != K.T_SUB]
    assert coords[:12] == [(0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 0), (2, 1),
                           (3, 0), (3, 1)]
    assert coords[12:16] == [(0, 4), (0, 5), (1, 4), (1, 5)]  # children of 49
    assert coords[16:] == [(4, 2), (4, 3), (5, 2), (5, 3)]  # children of LH2 "14"; 47 is POS
    # the subordinate pass: 63, -34, 49, 47 in discovery order
    assert [tuple(r[[3, 4]]) for r in first if r[1] == K.T_SUB] == [(0, 0), (0, 1), (0, 2), (4, 3)]


def test_shapiro_rescan_variant():
    trace = _encode(scan="rescan").trace
    assert _passes(trace, 5) == STRICT[5]
    assert _passes(trace, 4) == (RESCAN_PASS2, "100110")


def test_plain_bits_are_the_fixed_codes():
    res = _encode()
    code = {K.S_ZTR: "00", K.S_IZ: "01", K.S_POS: "10", K.S_NEG: "11", K.S_Z: "00"}
    want = "".join(str(int(r[5])) if r[1] == K.T_SUB else code[int(r[1])] for r in res.trace)
    got = "".join(map(str, np.unpackbits(np.frombuffer(res.payload, np.uint8))))
    assert got[: len(want)] == want and not any(int(b) for b in got[len(want):])
    assert len(res.payload) == (len(want) + 7) // 8


def test_shapiro_reconstructions():
    res = _encode()
    # first dominant pass only (20 symbols, 2 bits each = 40 bits = 5 bytes): +-1.5 T
    out = _decode(res.payload[:5])
    assert (out[0, 0], out[0, 1], out[0, 2], out[4, 3]) == (48, -48, 48, 48)
    assert np.count_nonzero(out) == 4
    # + first subordinate pass (4 bits): 56, -40, 56, 40
    bits, nbits = _prefix_bits(res, 24)
    assert nbits == 44
    out = _decode(np.packbits(bits).tobytes())
    assert (out[0, 0], out[0, 1], out[0, 2], out[4, 3]) == (56, -40, 56, 40)
    # + second dominant (17 symbols) and subordinate (6 bits) passes
    bits, nbits = _prefix_bits(res, 24 + 17 + 6)
    out = _decode(np.packbits(bits).tobytes())
    assert (out[0, 0], out[0, 2], out[0, 1], out[4, 3], out[1, 0], out[1, 1]) == (60, 52, -36, 44, -28, 20)
    # + third pass
    bits, nbits = _prefix_bits(res, 24 + 23 + 50 + 20)
    out = _decode(np.packbits(bits).tobytes())
    np.testing.assert_array_equal(out, AFTER_PASS3)


@pytest.mark.parametrize("variant", ["plain", "ac"])
@pytest.mark.parametrize("scan", ["strict", "rescan"])
def test_shapiro_matrix_exact(variant, scan):
    res = _encode(scan, variant)
    np.testing.assert_array_equal(_decode(res.payload, scan, variant, integer=True), SHAPIRO)


def test_colour_forest_exact():
    q = np.stack([SHAPIRO, -SHAPIRO, SHAPIRO.T])
    for variant in ("plain", "ac"):
        for scan in ("strict", "rescan"):
            res = E.encode_coefficients(q, variant=variant, scan=scan, levels=3, n_max=5, budget=None,
                                        trace_capacity=1000)
            out = E.decode_coefficients(res.payload, variant=variant, scan=scan, shape=q.shape, levels=3, n_max=5,
                                        frac_bits=0, integer=True)
            np.testing.assert_array_equal(out, q)
            # each dominant pass visits Y, Cb, Cr in turn
            first = res.trace[(res.trace[:, 0] == 5) & (res.trace[:, 1] != K.T_SUB)]
            assert np.all(np.diff(first[:, 2]) >= 0) and set(first[:, 2]) == {0, 1, 2}


# =============================================================================== round trips


@pytest.mark.parametrize("variant", ["ac", "plain"])
def test_lossless_camera_crops(camera_crop, camera_odd, astronaut_odd, variant):
    for img in (camera_crop, camera_odd, astronaut_odd):
        data = wavecodec.encode(img, "ezw", lossless=True, variant=variant)
        np.testing.assert_array_equal(wavecodec.decode(data), img)
        assert len(data) < 0.9 * img.size


@pytest.mark.parametrize("levels", [0, 1, 3])
def test_levels(camera_odd, levels):
    out = wavecodec.decode(wavecodec.encode(camera_odd, "ezw", lossless=True, levels=levels))
    np.testing.assert_array_equal(out, camera_odd)
    assert psnr(camera_odd, wavecodec.decode(wavecodec.encode(camera_odd, "ezw", bpp=1.0, levels=levels))) > 22


@pytest.mark.parametrize("variant", ["ac", "plain"])
def test_budgets_and_rate(camera, variant):
    last = 0.0
    for bpp in (0.05, 0.1, 0.25, 0.5, 1.0):
        limit = int(bpp * camera.size / 8)
        data = wavecodec.encode(camera, "ezw", max_bytes=limit, variant=variant)
        assert len(data) <= limit
        q = psnr(camera, wavecodec.decode(data))
        assert q > last
        last = q
    assert last > (37 if variant == "ac" else 33)


def test_ac_beats_plain(camera_crop):
    a = wavecodec.encode(camera_crop, "ezw", lossless=True, variant="ac")
    p = wavecodec.encode(camera_crop, "ezw", lossless=True, variant="plain")
    assert len(a) < len(p)


def test_plain_budgeted_stream_is_a_prefix(camera_crop):
    full = wavecodec.encode(camera_crop, "ezw", variant="plain")
    header = wavecodec.info(full).header_size
    # (same coding parameters: no per-rate quantiser search)
    cut = wavecodec.encode(camera_crop, "ezw", variant="plain", max_bytes=header + 500, step_search="never")
    hcut = wavecodec.info(cut).header_size
    assert cut[hcut:] == full[header:][: len(cut) - hcut]


def test_colour(astronaut_crop):
    data = wavecodec.encode(astronaut_crop, "ezw", bpp=1.0)
    out = wavecodec.decode(data)
    assert out.shape == astronaut_crop.shape and psnr(astronaut_crop, out) > 25
    info = wavecodec.info(data)
    assert info.codec == "ezw"


def test_registry_and_options():
    c = wavecodec.get_codec("ezw")
    assert c.capabilities.embedded and c.capabilities.lossless and c.capabilities.colour
    opts = {o.name: o for o in c.options}
    assert set(opts) == {"variant", "scan", "pass_order", "wavelet", "levels", "step_search", "reconstruction"}
    assert opts["variant"].default == "ac" and set(opts["variant"].choices) == {"ac", "plain"}
    assert opts["scan"].default == "strict" and set(opts["scan"].choices) == {"strict", "rescan"}
    with pytest.raises(wavecodec.InvalidArgumentError):
        wavecodec.encode(make_image(8, 8), "ezw", variant="binary")
    with pytest.raises(wavecodec.InvalidArgumentError):
        wavecodec.encode(make_image(8, 8), "ezw", lossless=True, wavelet="cdf97")


def test_all_zero_image():
    img = np.full((9, 14), 77, dtype=np.uint8)
    for lossless in (False, True):
        np.testing.assert_array_equal(wavecodec.decode(wavecodec.encode(img, "ezw", lossless=lossless)), img)


# ======================================================= options shared with IMP1EZW (coders/_zerotree.py)


def test_significance_first_order_on_shapiro_example():
    # significance first: nothing to refine after the first dominant pass; the first
    # subordinate pass's bits (1 0 1 0, bit 4 of 63, 34, 49, 47) follow the second
    # dominant pass, whose symbols are unchanged
    res = E.encode_coefficients(SHAPIRO[None], variant="plain", order="significance-first", levels=3, n_max=5,
                                budget=None, trace_capacity=10000)
    assert _passes(res.trace, 5) == (STRICT[5][0], "")
    assert _passes(res.trace, 4) == (STRICT[4][0], "1010")
    out = E.decode_coefficients(res.payload, variant="plain", order="significance-first", shape=(1, 8, 8), levels=3,
                                n_max=5, frac_bits=0, integer=True)[0]
    np.testing.assert_array_equal(out, SHAPIRO)


@pytest.mark.parametrize("codec", ["ezw", "imp1ezw"])
def test_pass_orders_and_options(codec, camera):
    crop = np.ascontiguousarray(camera[128:384, 128:384])
    for lossless in (False, True):
        kw = {"lossless": True} if lossless else {"bpp": 2.0}
        a = wavecodec.encode(crop, codec, pass_order="shapiro", **kw)
        b = wavecodec.encode(crop, codec, **kw)
        assert wavecodec.info(a).params["pass_order"] == "shapiro"
        assert wavecodec.info(b).params["pass_order"] == "significance-first"
        if lossless:
            np.testing.assert_array_equal(wavecodec.decode(a), crop)
            np.testing.assert_array_equal(wavecodec.decode(b), crop)
    # cut inside a pass, significance first is better on average (new coefficients before refinements)
    gains = []
    for bpp in (0.3, 0.45, 0.6, 0.8, 1.0, 1.2):
        p = [psnr(crop, wavecodec.decode(wavecodec.encode(crop, codec, bpp=bpp, pass_order=o)))
             for o in ("shapiro", "significance-first")]
        gains.append(p[1] - p[0])
    assert np.mean(gains) > 0.05, gains


@pytest.mark.parametrize("codec", ["ezw", "imp1ezw"])
def test_reconstruction_points_and_step_search(codec, camera):
    mid = wavecodec.encode(camera, codec, bpp=1.0, reconstruction="midpoint")
    opt = wavecodec.encode(camera, codec, bpp=1.0)
    assert wavecodec.info(mid).params["reconstruction_points"] == (0.5, 0.5)
    fresh, refined = wavecodec.info(opt).params["reconstruction_points"]
    assert 0 < fresh < 0.5 and 0 < refined < 1  # Laplacian-like magnitudes: below the midpoint
    ha, hb = wavecodec.info(opt).header_size, wavecodec.info(mid).header_size
    assert opt[ha:] == mid[hb:]  # the points change the decoder, not the bits
    assert psnr(camera, wavecodec.decode(opt)) > psnr(camera, wavecodec.decode(mid)) + 0.02
    for bpp in (0.03, 0.1):
        plain = wavecodec.encode(camera, codec, bpp=bpp, step_search="never")
        searched = wavecodec.encode(camera, codec, bpp=bpp)  # 'auto' searches at low rates
        assert len(searched) <= int(bpp * camera.size / 8)
        assert psnr(camera, wavecodec.decode(searched)) >= psnr(camera, wavecodec.decode(plain)) - 0.02
        step = wavecodec.info(searched).params["quantiser_step"]
        assert min(abs(step - 2.0 ** (k / 4)) for k in range(4)) < 1e-9, step
    assert wavecodec.encode(camera, codec, bpp=1.0) == wavecodec.encode(camera, codec, bpp=1.0, step_search="never")
    lossless = wavecodec.encode(camera[:64, :64], codec, lossless=True, step_search="always")
    assert wavecodec.info(lossless).params["quantiser_step"] == 1.0
    np.testing.assert_array_equal(wavecodec.decode(lossless), camera[:64, :64])
