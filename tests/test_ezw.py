"""Tests of the EZW codec: Shapiro's worked example, round trips, embeddedness, robustness.

Test vectors: Shapiro (IEEE TSP 41(12), 1993) 8x8 example as a 3-level pyramid
(LL = 63 with the three children -34, -31, 23); passes 2 and 3 from
/work/shared/reference/algorithms.md section 1.3.  The paper's symbols are
checked on the plain-Python reference coder (:mod:`wavecodec.reference.ezw`,
what :func:`wavecodec.trace` shows), and the kernel's ``plain`` payload is
checked to be exactly the reference coder's bits.
"""

from __future__ import annotations

import numpy as np
import pytest

import wavecodec
from wavecodec.coders import ezw as E
from wavecodec.reference import ezw as reference

from conftest import make_image, psnr

# Shapiro's 8x8 example (IEEE TSP 1993, Fig. 6), as shipped for teaching; the paper's symbols and bits
# checked below would catch a wrong entry
from wavecodec.reference import SHAPIRO_8X8 as SHAPIRO  # noqa: E402

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


def _reference(q=SHAPIRO[None], scan="strict", order="shapiro"):
    """The reference coder's passes (one per threshold, dominant then subordinate decisions)."""
    return list(reference.passes(3, 5, coefficients=q, scan=scan, pass_order=order))


def _passes(passes, n: int) -> tuple[str, str]:
    """(dominant symbols, subordinate bits) of the pass at threshold 2**n."""
    [p] = [p for p in passes if p.n == n]
    dom = " ".join(d.symbol for d in p.decisions if d.kind == "dominant")
    sub = "".join(d.symbol for d in p.decisions if d.kind == "subordinate")
    return dom, sub


def _encode(scan="strict", variant="plain", budget=None, order="shapiro", q=SHAPIRO[None]):
    return E.encode_coefficients(q, variant=variant, scan=scan, order=order, levels=3, n_max=5, budget=budget)


def _decode(payload, scan="strict", variant="plain", integer=False):
    return E.decode_coefficients(payload, variant=variant, scan=scan, shape=(1, 8, 8), levels=3, n_max=5,
                                 frac_bits=0, integer=integer)[0]


def _prefix_bits(passes, n_decisions):
    """The plain-coded bits of the first decisions (2 per dominant symbol, 1 per subordinate bit)."""
    decisions = [d for p in passes for d in p.decisions][:n_decisions]
    bits = np.array([int(b) for d in decisions for b in d.bits], dtype=np.uint8)
    return bits, bits.size


# =============================================================================== test vectors


def test_shapiro_strict_passes():
    passes = _reference()
    for n, (dom, sub) in STRICT.items():
        assert _passes(passes, n) == (dom, sub), f"threshold 2**{n}"
    assert len(STRICT[3][0].split()) == 50 and len(STRICT[4][0].split()) == 17
    assert [p.n for p in passes] == [5, 4, 3, 2, 1, 0]  # the passes come in order


@pytest.mark.parametrize("scan", ["strict", "rescan"])
@pytest.mark.parametrize("order", ["shapiro", "significance-first"])
def test_kernel_payload_is_the_reference_bits(scan, order):
    # the plain variant's payload is exactly the reference coder's bits, MSB first, zero-padded
    for q in (SHAPIRO[None], np.stack([SHAPIRO, -SHAPIRO, SHAPIRO.T])):
        bits = "".join(d.bits for p in _reference(q, scan, order) for d in p.decisions)
        res = _encode(scan, order=order, q=q)
        payload = np.unpackbits(np.frombuffer(res.payload, np.uint8))
        assert len(res.payload) == (len(bits) + 7) // 8
        assert "".join(map(str, payload[: len(bits)])) == bits
        assert not payload[len(bits):].any()  # zero padding


def test_shapiro_first_pass_positions():
    first = _reference()[0].decisions
    # LL, HL3, LH3, HH3, then HL2 raster, LH2 raster, then the visited HL1 and LH1 entries
    coords = [d.node[1:] for d in first if d.kind == "dominant"]
    assert coords[:12] == [(0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 0), (2, 1),
                           (3, 0), (3, 1)]
    assert coords[12:16] == [(0, 4), (0, 5), (1, 4), (1, 5)]  # children of 49
    assert coords[16:] == [(4, 2), (4, 3), (5, 2), (5, 3)]  # children of LH2 "14"; 47 is POS
    # the subordinate pass: 63, -34, 49, 47 in discovery order
    assert [d.node[1:] for d in first if d.kind == "subordinate"] == [(0, 0), (0, 1), (0, 2), (4, 3)]


def test_shapiro_rescan_variant():
    passes = _reference(scan="rescan")
    assert _passes(passes, 5) == STRICT[5]
    assert _passes(passes, 4) == (RESCAN_PASS2, "100110")


def test_plain_bits_are_the_fixed_codes():
    code = {"ZTR": "00", "IZ": "01", "P": "10", "N": "11", "Z": "00"}
    for d in (d for p in _reference() for d in p.decisions):
        assert d.bits == (d.symbol if d.kind == "subordinate" else code[d.symbol])


def test_shapiro_reconstructions():
    res = _encode()
    passes = _reference()
    # first dominant pass only (20 symbols, 2 bits each = 40 bits = 5 bytes): +-1.5 T
    out = _decode(res.payload[:5])
    assert (out[0, 0], out[0, 1], out[0, 2], out[4, 3]) == (48, -48, 48, 48)
    assert np.count_nonzero(out) == 4
    # + first subordinate pass (4 bits): 56, -40, 56, 40
    bits, nbits = _prefix_bits(passes, 24)
    assert nbits == 44
    out = _decode(np.packbits(bits).tobytes())
    assert (out[0, 0], out[0, 1], out[0, 2], out[4, 3]) == (56, -40, 56, 40)
    # + second dominant (17 symbols) and subordinate (6 bits) passes
    bits, nbits = _prefix_bits(passes, 24 + 17 + 6)
    out = _decode(np.packbits(bits).tobytes())
    assert (out[0, 0], out[0, 2], out[0, 1], out[4, 3], out[1, 0], out[1, 1]) == (60, 52, -36, 44, -28, 20)
    # + third pass
    bits, nbits = _prefix_bits(passes, 24 + 23 + 50 + 20)
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
            res = E.encode_coefficients(q, variant=variant, scan=scan, levels=3, n_max=5, budget=None)
            out = E.decode_coefficients(res.payload, variant=variant, scan=scan, shape=q.shape, levels=3, n_max=5,
                                        frac_bits=0, integer=True)
            np.testing.assert_array_equal(out, q)
    # each dominant pass visits Y, Cb, Cr in turn
    for scan in ("strict", "rescan"):
        planes = [d.node[0] for d in _reference(q, scan)[0].decisions if d.kind == "dominant"]
        assert np.all(np.diff(planes) >= 0) and set(planes) == {0, 1, 2}


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
        wavecodec.encode(make_image(8, 8), "ezw", variant="raw")
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
    passes = _reference(order="significance-first")
    assert _passes(passes, 5) == (STRICT[5][0], "")
    assert _passes(passes, 4) == (STRICT[4][0], "1010")
    res = E.encode_coefficients(SHAPIRO[None], variant="plain", order="significance-first", levels=3, n_max=5,
                                budget=None)
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


@pytest.mark.parametrize("significance_first", [False, True])
@pytest.mark.parametrize("wide", [False, True])
def test_shapiro_reorder_is_the_stable_sort(significance_first, wide):
    """The one-pass re-ordering equals a stable sort by known magnitude, descending, on lists in the
    state a subordinate pass leaves them: sorted runs of equal magnitudes (multiples of 2 * half),
    some entries refined with the bit ``half`` (marked ``~p``); with significance first, a tail of
    fresh entries (known ``half``) that the pass did not refine.  Both with the runs the pass
    recorded and with the runs found from the entries' coefficients (signed, with bits below
    ``half`` that the re-ordering must ignore: the encoder's); the memory lent for the entries
    kept aside is shorter than most runs.  ``wide``: int64 entries (images above 2**31 samples)."""
    from wavecodec._kernels.ezw import shapiro_reorder
    from wavecodec._kernels.trees import list_shifts, pack_at

    rng = np.random.default_rng(7)
    half = 8
    for n_runs in (1, 3, 40):
        magnitudes = np.sort(rng.choice(np.arange(1, 60), size=n_runs, replace=False))[::-1] * 2 * half
        known = np.repeat(magnitudes, rng.integers(1, 30, size=n_runs)).astype(np.int32)
        known |= (rng.random(known.size) < 0.4).astype(np.int32) * half
        n_sorted = known.size  # the entries the pass refined
        if significance_first:
            known = np.concatenate([known, np.full(11, half, dtype=np.int32)])
        n = known.size
        # entry k of the list is coefficient (0, 0, cols[k]) of a one-row image
        cols = rng.permutation(n)
        coef = np.zeros((1, 1, n), dtype=np.int32)
        coef[0, 0, cols] = (known | rng.integers(0, half, size=n)) * rng.choice([-1, 1], size=n)
        shc, shi, dtype = list_shifts(1, 1, n)
        dtype = np.int64 if wide else dtype
        lst = np.array([pack_at(0, 0, j, shc, shi) for j in cols], dtype=dtype)
        expected = lst[np.argsort(-known.astype(np.int64), kind="stable")]
        marked = np.where(np.arange(n) < n_sorted, np.where(known & half, ~lst, lst), lst).astype(dtype)
        before = known[:n_sorted] >> 4  # the known magnitude before the pass, over 2 * half
        runs = np.flatnonzero(np.r_[True, before[1:] != before[:-1]]).astype(np.int64)
        for recorded in (runs, None):
            got = marked.copy()
            aside = np.empty(3, dtype=dtype)  # too short for most runs: the kernel takes more
            shapiro_reorder(got, n_sorted, np.int32(half), coef, aside, np.zeros(1, dtype=np.int64) if recorded is None
                            else recorded, -1 if recorded is None else recorded.size, shc, shi)
            np.testing.assert_array_equal(got, expected)


def _reference_descendant_planes(coef: np.ndarray, hl: int, wl: int) -> np.ndarray:
    """For every node of the top-left quadrant, the OR over all its descendants of
    ``2**top_plane(|x|)``, by walking the zerotree's parent-child relation node by node."""
    nc, hp, wp = coef.shape
    hp2, wp2 = hp // 2, wp // 2

    def children(i, j):
        if i < hl and j < wl:
            return [(i, j + wl), (i + hl, j), (i + hl, j + wl)]
        return [(2 * i + a, 2 * j + b) for a in range(2) for b in range(2)]

    def top(v):
        v = abs(int(v))
        return 0 if v == 0 else 1 << (v.bit_length() - 1)

    out = np.zeros((nc, hp2, wp2), np.uint32)
    for c in range(nc):
        memo = {}

        def below(i, j):
            if (i, j) not in memo:
                bits = 0
                for ci, cj in children(i, j):
                    bits |= top(coef[c, ci, cj])
                    if ci < hp2 and cj < wp2:
                        bits |= below(ci, cj)
                memo[i, j] = bits
            return memo[i, j]

        for i in range(hp2):
            for j in range(wp2):
                out[c, i, j] = below(i, j)
    return out


@pytest.mark.parametrize("levels,shape", [(1, (1, 8, 12)), (2, (1, 16, 24)), (3, (3, 32, 48)), (4, (2, 64, 32))])
def test_descendant_planes_are_the_sets_of_the_descendants(levels, shape):
    from wavecodec._kernels.ezw import descendant_planes

    rng = np.random.default_rng(levels)
    coef = (rng.standard_normal(shape) * 10.0 ** rng.integers(0, 6, shape)).astype(np.int32)
    coef[rng.random(shape) < 0.4] = 0
    nc, hp, wp = shape
    hl, wl = hp >> levels, wp >> levels
    planes = np.zeros((nc, hp // 2, wp // 2), np.uint32)
    descendant_planes(coef, hl, wl, levels, planes, np.empty(wp, np.uint32))
    np.testing.assert_array_equal(planes, _reference_descendant_planes(coef, hl, wl))
