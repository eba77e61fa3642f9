"""Tests of the SPIHT codec: the paper's test vector, lossless coding, embeddedness.

Test vector: Said & Pearlman (IEEE TCSVT 6(3), 1996), Sec. III example, on
Shapiro's 8x8 matrix (IEEE TSP 41(12), 1993) taken as a 2-level pyramid whose top
2x2 group is (63, -34, -31, 23).
"""

from __future__ import annotations

import numpy as np
import pytest

import wavecodec
from wavecodec.coders import spiht as S
from wavecodec.reference import spiht as reference_spiht

from conftest import psnr, spiht_plan

# Shapiro's 8x8 example (IEEE TSP 1993, Fig. 6), as shipped for teaching; the paper's symbols and bits
# checked below would catch a wrong entry
from wavecodec.reference import SHAPIRO_8X8 as SHAPIRO  # noqa: E402

# The paper's output, per bit-plane: sorting pass (significance bits, '+'/'-' for
# sign bits), then refinement pass.
PAPER = {
    5: ("1+1-0011+000100000010101+0000", ""),
    4: ("1-1+000000000000000", "1010"),
    3: ("1+1+1-1+1+1-0000101-1-1+1101+0010001+00101+0011-0000101+00", "100110"),
}


def _pass_strings(p) -> tuple[str, str]:
    sorting = "".join(d.symbol for d in p.decisions if d.kind != "refine")
    refinement = "".join(d.symbol for d in p.decisions if d.kind == "refine")
    return sorting, refinement


@pytest.fixture(scope="module")
def shapiro_binary():
    return S.encode_coefficients(SHAPIRO[None], variant="binary", levels=2, n_max=5, budget=None)


@pytest.fixture(scope="module")
def shapiro_passes():
    """The reference coder's passes over the paper's matrix (wavecodec.reference.spiht)."""
    return list(reference_spiht.passes(2, 5, coefficients=SHAPIRO[None]))


def test_paper_test_vector(shapiro_passes):
    by_plane = {p.n: p for p in shapiro_passes}
    assert [p.n for p in shapiro_passes] == [5, 4, 3, 2, 1, 0]  # the passes come in order
    for n, (sorting, refinement) in PAPER.items():
        got = _pass_strings(by_plane[n])
        assert got[0] == sorting, f"plane {n} sorting pass"
        assert got[1] == refinement, f"plane {n} refinement pass"


def test_paper_test_vector_first_plane_details(shapiro_passes):
    first = shapiro_passes[0].decisions
    # LIP in order (0,0), (0,1), (1,0), (1,1): 63 significant, +; -34 significant, -; -31, 23 not
    assert [(d.kind, d.node[1:], d.symbol) for d in first[:6]] == [
        ("LIP", (0, 0), "1"), ("sign", (0, 0), "+"), ("LIP", (0, 1), "1"), ("sign", (0, 1), "-"),
        ("LIP", (1, 0), "0"), ("LIP", (1, 1), "0"),
    ]
    # then D(0,1) is significant and its offspring 49, 10, 14, -13 are tested
    assert (first[6].kind, first[6].node[1:], first[6].symbol) == ("D-set", (0, 1), "1")
    assert [d.node[1:] for d in first if d.kind == "offspring"][:4] == [(0, 2), (0, 3), (1, 2), (1, 3)]


def test_kernel_payload_is_the_reference_bits(shapiro_binary, shapiro_passes):
    # the binary variant's payload is exactly the paper's bits, MSB first, zero-padded
    bits = "".join(d.bits for p in shapiro_passes for d in p.decisions)
    payload = np.unpackbits(np.frombuffer(shapiro_binary.payload, np.uint8))
    assert len(shapiro_binary.payload) == (len(bits) + 7) // 8
    assert "".join(map(str, payload[: len(bits)])) == bits
    assert not payload[len(bits):].any()  # zero padding


@pytest.mark.parametrize("variant", ["binary", "ac"])
def test_paper_matrix_round_trips(variant, shapiro_binary):
    res = shapiro_binary if variant == "binary" else S.encode_coefficients(
        SHAPIRO[None], variant="ac", levels=2, n_max=5, budget=None)
    out = S.decode_coefficients(res.payload, variant=variant, shape=(1, 8, 8), levels=2, n_max=5, frac_bits=0,
                                integer=True)
    np.testing.assert_array_equal(out[0], SHAPIRO)
    # a prefix decodes to the right thing as far as it goes: the first plane alone
    # (29 bits -> 4 bytes) gives the paper's reconstruction of 63 and -34 at +-48
    if variant == "binary":
        part = S.decode_coefficients(res.payload[:3], variant="binary", shape=(1, 8, 8), levels=2, n_max=5,
                                     frac_bits=0, integer=True)
        assert part[0, 0, 0] > 0 and part[0, 0, 1] < 0
        assert abs(part[0, 0, 0]) >= 32 and abs(part[0, 0, 1]) >= 32


def test_paper_matrix_through_the_codec_is_exact_as_a_colour_forest():
    # three planes, three copies of the matrix with different signs: one forest
    q = np.stack([SHAPIRO, -SHAPIRO, SHAPIRO.T])
    for variant in ("binary", "ac"):
        res = S.encode_coefficients(q, variant=variant, levels=2, n_max=5, budget=None)
        out = S.decode_coefficients(res.payload, variant=variant, shape=q.shape, levels=2, n_max=5, frac_bits=0,
                                    integer=True)
        np.testing.assert_array_equal(out, q)


# =============================================================================== lossless


@pytest.mark.parametrize("variant", ["ac", "binary"])
def test_lossless_camera_astronaut(camera, astronaut, variant):
    for img in (camera, astronaut):
        data = wavecodec.encode(img, lossless=True, variant=variant)
        np.testing.assert_array_equal(wavecodec.decode(data), img)
        assert len(data) < 0.8 * img.size  # natural images do compress


@pytest.mark.parametrize("levels", [0, 1, 3, "max"])
def test_lossless_levels(camera_odd, astronaut_odd, gray16, levels):
    from wavecodec import transform as T

    for img in (camera_odd, astronaut_odd, gray16):
        lev = T.max_levels(*img.shape[:2]) if levels == "max" else levels
        out = wavecodec.decode(wavecodec.encode(img, lossless=True, levels=lev))
        np.testing.assert_array_equal(out, img)


def test_lossless_bit_depth_declared(gray12):
    data = wavecodec.encode(gray12, lossless=True, bit_depth=12)
    np.testing.assert_array_equal(wavecodec.decode(data), gray12)


def test_lossless_truncated_is_close(camera_crop):
    data = wavecodec.encode(camera_crop, lossless=True)
    header = wavecodec.info(data).header_size
    payload = len(data) - header
    quality = [psnr(camera_crop, wavecodec.decode(data[: header + int(f * payload)])) for f in (0.1, 0.3, 0.6, 0.9)]
    assert quality == sorted(quality), quality
    assert quality[-1] > 40, quality


# =============================================================================== embeddedness


def _finite(q: float) -> float:
    return min(q, 99.0)


@pytest.mark.parametrize("variant", ["ac", "binary"])
def test_prefixes_of_camera(camera, variant):
    data = wavecodec.encode(camera, bpp=0.5, variant=variant)
    header = wavecodec.info(data).header_size
    cuts = np.unique(np.round(np.geomspace(header + 1, len(data), 50)).astype(int))
    assert len(cuts) >= 45
    q = []
    for cut in cuts:
        out = wavecodec.decode(data[:cut])
        assert out.shape == camera.shape and out.dtype == np.uint8
        q.append(psnr(camera, out))
    q = np.array(q)
    assert q[-1] == pytest.approx(psnr(camera, wavecodec.decode(data)))
    assert q[-1] >= q.max() - 1e-9  # the full stream is the best
    assert q[-1] > q[0] + 10
    # non-decreasing up to small wiggles (the reconstruction points are tuned for the full stream)
    assert np.all(np.diff(q) > -0.25), np.diff(q).min()
    # and clearly increasing on average: every decade of bytes gains
    thirds = np.array_split(q, 3)
    assert thirds[0].mean() < thirds[1].mean() < thirds[2].mean()


def test_prefixes_of_colour_stream(astronaut_crop):
    for variant in ("ac", "binary"):
        data = wavecodec.encode(astronaut_crop, bpp=1.5, variant=variant)
        header = wavecodec.info(data).header_size
        q = []
        for cut in np.linspace(header, len(data), 25).astype(int):
            out = wavecodec.decode(data[:cut])
            assert out.shape == astronaut_crop.shape and out.dtype == np.uint8
            q.append(psnr(astronaut_crop, out))
        assert q[-1] >= max(q) - 1e-9
        assert np.mean(q[13:]) > np.mean(q[:12])
        # all three planes are refined together: the colour error at a mid prefix is not
        # concentrated in one channel
        mid = wavecodec.decode(data[: header + (len(data) - header) // 2]).astype(float)
        per_channel = [np.mean((mid[..., c] - astronaut_crop[..., c]) ** 2) for c in range(3)]
        assert max(per_channel) < 6 * min(per_channel), per_channel


@pytest.mark.parametrize("variant", ["ac", "binary"])
@pytest.mark.parametrize("reconstruction", ["optimized", "midpoint"])
def test_truncation_matches_lower_rate_encoding(camera, variant, reconstruction):
    # Embeddedness: with the same coding parameters (no per-rate quantiser search), a
    # stream encoded at a lower rate and a higher-rate stream cut to that size decode alike.
    high = wavecodec.encode(camera, bpp=2.0, variant=variant, reconstruction=reconstruction, step_search="never")
    for bpp in (0.1, 0.25, 0.5, 1.0):
        low = wavecodec.encode(camera, bpp=bpp, variant=variant, reconstruction=reconstruction, step_search="never")
        cut = high[: len(low)]
        p_low, p_cut = psnr(camera, wavecodec.decode(low)), psnr(camera, wavecodec.decode(cut))
        tol = 0.3 if reconstruction == "optimized" else 0.05
        assert abs(p_low - p_cut) < tol, (bpp, p_low, p_cut)
        # the default encoder may pick another quantiser step for the lower rate: never worse
        searched = wavecodec.encode(camera, bpp=bpp, variant=variant, reconstruction=reconstruction)
        assert psnr(camera, wavecodec.decode(searched)) > p_cut - tol, bpp


def test_binary_budgeted_stream_is_a_prefix(camera_crop, astronaut_odd):
    for img in (camera_crop, astronaut_odd):
        for reconstruction in ("optimized", "midpoint"):
            full = wavecodec.encode(img, variant="binary", reconstruction=reconstruction)
            finfo = wavecodec.info(full)
            full_payload = full[finfo.header_size:]
            for k in (0, 1, 2, 3, 7, 50, 127, 128, 129, 1000, len(full_payload) - 1):
                # (same coding parameters: no per-rate quantiser search)
                data = wavecodec.encode(img, variant="binary", reconstruction=reconstruction,
                                        max_bytes=finfo.header_size + k, step_search="never")
                info = wavecodec.info(data)
                payload = data[info.header_size:]
                # the raw bits are the same bits: a budgeted stream's payload is a prefix of the full payload
                assert payload == full_payload[: len(payload)], k
                assert len(payload) >= k  # (the header may shrink: its payload-length varint is shorter)
                if reconstruction == "midpoint":
                    # and decodes exactly like the full stream cut at the same payload length
                    cut = full[: finfo.header_size + len(payload)]
                    np.testing.assert_array_equal(wavecodec.decode(data), wavecodec.decode(cut))


def test_ac_budgeted_stream_close_to_prefix(camera_crop):
    full = wavecodec.encode(camera_crop, reconstruction="midpoint")
    header = wavecodec.info(full).header_size
    for k, tol in ((20, 0.5), (200, 0.1), (1000, 0.1), (4000, 0.1)):
        data = wavecodec.encode(camera_crop, reconstruction="midpoint", max_bytes=header + k)
        cut = full[: len(data)]
        assert abs(psnr(camera_crop, wavecodec.decode(data)) - psnr(camera_crop, wavecodec.decode(cut))) < tol, k


def test_payload_does_not_depend_on_reconstruction_option(camera_odd, astronaut_odd):
    for img in (camera_odd, astronaut_odd):
        for variant in ("ac", "binary"):
            a = wavecodec.encode(img, bpp=1.0, variant=variant, reconstruction="optimized")
            b = wavecodec.encode(img, bpp=1.0, variant=variant, reconstruction="midpoint")
            assert len(a) == len(b)
            ha, hb = wavecodec.info(a).header_size, wavecodec.info(b).header_size
            assert a[ha:] == b[hb:]


def test_reconstruction_points(camera):
    mid = wavecodec.encode(camera, bpp=1.0, reconstruction="midpoint")
    opt = wavecodec.encode(camera, bpp=1.0)
    assert wavecodec.info(mid).params["reconstruction_points"] == (0.5, 0.5)
    fresh, refined = wavecodec.info(opt).params["reconstruction_points"]
    assert 0 < fresh < 1 and 0 < refined < 1
    assert (fresh, refined) != (0.5, 0.5)
    assert fresh < 0.5  # Laplacian-like magnitudes: the conditional mean is below the midpoint
    assert spiht_plan(mid).recon == (128, 128)
    for variant in ("ac", "binary"):
        for bpp in (0.25, 0.5, 1.0):
            p_opt = psnr(camera, wavecodec.decode(wavecodec.encode(camera, bpp=bpp, variant=variant)))
            p_mid = psnr(camera, wavecodec.decode(wavecodec.encode(camera, bpp=bpp, variant=variant,
                                                                    reconstruction="midpoint")))
            assert p_opt >= p_mid - 0.01, (variant, bpp, p_opt, p_mid)
            if bpp >= 0.5:
                assert p_opt > p_mid + 0.02, (variant, bpp, p_opt, p_mid)


def test_lossless_ignores_reconstruction(camera_odd):
    a = wavecodec.encode(camera_odd, lossless=True)
    b = wavecodec.encode(camera_odd, lossless=True, reconstruction="midpoint")
    np.testing.assert_array_equal(wavecodec.decode(a), camera_odd)
    np.testing.assert_array_equal(wavecodec.decode(b), camera_odd)


def test_colour_is_one_forest(astronaut_crop):
    # chroma is cheap: a colour stream at a given rate is not much worse (in luma terms)
    # than coding the grey version alone at that rate
    rgb = astronaut_crop
    data = wavecodec.encode(rgb, bpp=1.0)
    assert wavecodec.info(data).params["colour_transform"] == "ICT"
    out = wavecodec.decode(data)
    assert psnr(rgb, out) > 26
    # grey input stored as colour (R = G = B) decodes to (nearly) grey
    g = rgb[..., 1]
    grey_rgb = np.repeat(g[:, :, None], 3, axis=2)
    out = wavecodec.decode(wavecodec.encode(grey_rgb, bpp=2.0)).astype(int)
    assert np.abs(out[..., 0] - out[..., 2]).mean() < 1.0


def test_quantiser_step_search(camera):
    # The encoder tries the steps 2**(-k/4) and keeps the least distortion at the budget:
    # never worse than the plain bit-planes, and the chosen step is recorded in the header.
    for bpp in (0.03, 0.1):
        plain = wavecodec.encode(camera, bpp=bpp, step_search="never")
        searched = wavecodec.encode(camera, bpp=bpp, step_search="always")
        assert len(searched) <= int(bpp * camera.size / 8)
        p_plain = psnr(camera, wavecodec.decode(plain))
        p_searched = psnr(camera, wavecodec.decode(searched))
        assert p_searched >= p_plain - 0.02, (bpp, p_plain, p_searched)
        assert wavecodec.info(plain).params["quantiser_step"] == 1.0
        assert wavecodec.info(searched).params["quantiser_step"] in {2.0 ** (k / 4) for k in range(4)}
    # 'auto' searches at low rates only
    assert wavecodec.encode(camera, bpp=0.1) == wavecodec.encode(camera, bpp=0.1, step_search="always")
    assert wavecodec.encode(camera, bpp=1.0) == wavecodec.encode(camera, bpp=1.0, step_search="never")
    with pytest.raises(wavecodec.InvalidArgumentError, match="step_search"):
        wavecodec.encode(camera, bpp=0.1, step_search="sometimes")


@pytest.mark.parametrize("levels,shape", [(1, (1, 8, 12)), (2, (1, 16, 24)), (3, (3, 32, 48)), (4, (2, 64, 32))])
def test_descendant_top_is_the_papers_set_maxima(levels, shape):
    """The encoder's set-significance tables against the reference's ``max |c|`` over D(i, j) and
    L(i, j) (Sec. III-A), walked node by node: top plane ``floor(log2(max))``, -1 for 0."""
    from wavecodec._kernels.spiht import descendant_top
    from wavecodec.reference.spiht import Forest, set_maxima

    rng = np.random.default_rng(levels)
    coef = (rng.standard_normal(shape) * 10.0 ** rng.integers(0, 6, shape)).astype(np.int32)
    coef[rng.random(shape) < 0.4] = 0
    nc, hp, wp = shape
    d_top = np.zeros((nc, hp // 2, wp // 2), np.int8)
    l_top = np.zeros((nc, hp // 4, wp // 4), np.int8)
    descendant_top(coef, d_top, l_top, hp >> levels, wp >> levels, levels, np.empty(wp, np.uint32), np.empty(wp // 2))
    forest = Forest(shape, levels)
    magnitude = {(c, i, j): abs(int(coef[c, i, j])) for c in range(nc) for i in range(hp) for j in range(wp)}
    d_max, l_max = set_maxima(magnitude, forest)
    assert d_max
    for node, m in d_max.items():
        assert d_top[node] == m.bit_length() - 1, node
        if forest.has_grandchildren(node):
            assert l_top[node] == l_max[node].bit_length() - 1, node
