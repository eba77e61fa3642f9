"""canny-spiht: round trips, rate control, the SPIHT fallback, the edge layer paying on
cartoon-like images, prefix decoding and corrupt / truncated / forged streams."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import wavecodec
from wavecodec import _container as C
from wavecodec.coders import canny_spiht as CS
from wavecodec.errors import CorruptStreamError, InvalidArgumentError, WavecodecError

from conftest import make_image, psnr, restream

CODEC = "canny-spiht"


def cartoon(h: int = 96, w: int = 96, channels: int | None = None, *, seed: int = 0, dtype=np.uint8,
            bit_depth: int = 8) -> np.ndarray:
    """Piecewise-smooth synthetic image: overlapping discs on a gentle ramp (sharp edges)."""
    rng = np.random.default_rng(seed)
    top = (1 << bit_depth) - 1
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w), 0.3) + 0.002 * xx
    for _ in range(6):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(8, 30)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 1)
    if channels == 3:
        img = np.stack([img, 0.8 * img + 0.1, 1 - img], axis=-1)
    return np.clip(np.round(img * top), 0, top).astype(dtype)


def mode_of(data: bytes) -> str:
    return wavecodec.info(data).params["mode"]


# =============================================================================== basics


def test_registered_with_options():
    codec = wavecodec.get_codec(CODEC)
    assert codec.capabilities.embedded and codec.capabilities.lossless and codec.capabilities.colour
    names = {o.name for o in codec.options}
    assert {"sigma", "low_threshold", "high_threshold", "min_length", "spacing", "quant_step", "entropy",
            "edge_share", "use_edges", "psnr_tolerance", "wavelet", "levels"} <= names


@pytest.mark.parametrize("options", [
    {"sigma": 0.0}, {"sigma": "2"}, {"edge_share": 0.95}, {"edge_share": "half"}, {"spacing": 0},
    {"quant_step": 300}, {"offset": 9}, {"entropy": "zip"}, {"use_edges": True}, {"min_length": 1.5},
    {"psnr_tolerance": -1}, {"wavelet": "nope"},
])
def test_bad_options_are_rejected(options):
    with pytest.raises(InvalidArgumentError):
        wavecodec.encode(cartoon(32, 32), CODEC, bpp=0.5, **options)


def test_reversible_wavelet_needs_lossless():
    with pytest.raises(InvalidArgumentError):
        wavecodec.encode(cartoon(32, 32), CODEC, bpp=0.5, wavelet="legall53")


@pytest.mark.parametrize("image", ["gray", "rgb", "gray16"])
def test_lossless_roundtrip(image):
    img = {"gray": make_image(37, 45, seed=1), "rgb": make_image(30, 26, 3, seed=2),
           "gray16": make_image(21, 19, dtype=np.uint16, bit_depth=12, seed=3)}[image]
    data = wavecodec.encode(img, CODEC, lossless=True)
    assert mode_of(data) == "spiht"
    assert np.array_equal(wavecodec.decode(data), img)


def test_no_budget_is_plain_spiht(camera_crop):
    data = wavecodec.encode(camera_crop, CODEC)
    assert mode_of(data) == "spiht"
    assert psnr(camera_crop, wavecodec.decode(data)) > 45


# =============================================================================== the edge layer


@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("entropy", ["huffman", "arith"])
def test_edge_layer_stream_roundtrip_and_budget(channels, entropy):
    img = cartoon(96, 96, channels, seed=1)
    budget = 96 * 96 * 0.4 / 8
    data = wavecodec.encode(img, CODEC, max_bytes=int(budget), use_edges="always", entropy=entropy)
    assert len(data) <= budget
    info = wavecodec.info(data)
    assert info.params["mode"] == "edges+spiht" and info.params["edge_entropy"] == entropy
    assert 0 < info.params["edge_layer_bytes"] < info.payload_size
    out = wavecodec.decode(data)
    assert out.shape == img.shape and out.dtype == img.dtype
    assert psnr(img, out) > 25
    # deterministic
    assert wavecodec.encode(img, CODEC, max_bytes=int(budget), use_edges="always", entropy=entropy) == data


@pytest.mark.parametrize("channels", [None, 3])
def test_edges_pay_on_cartoon_images(channels):
    # sharp-edged piecewise-smooth content at a moderate rate: auto mode picks the edge layer
    # and beats plain SPIHT (measured: about +0.75 to +0.8 dB on these images at 0.3 bpp)
    img = cartoon(128, 128, channels, seed=0)
    budget = 128 * 128 * 0.3 / 8
    edge = wavecodec.encode(img, CODEC, max_bytes=int(budget))
    plain = wavecodec.encode(img, "spiht", max_bytes=int(budget))
    assert mode_of(edge) == "edges+spiht"
    assert psnr(img, wavecodec.decode(edge)) > psnr(img, wavecodec.decode(plain)) + 0.2
    # above EDGE_MAX_BPP auto codes plain SPIHT, unless a share is asked for
    above = int(128 * 128 * 0.4 / 8)
    assert mode_of(wavecodec.encode(img, CODEC, max_bytes=above)) == "spiht"
    assert mode_of(wavecodec.encode(img, CODEC, max_bytes=above, edge_share=0.12)) == "edges+spiht"


@pytest.mark.parametrize("bpp", [0.1, 0.25, 0.5])
def test_auto_is_never_much_worse_than_spiht(camera_crop, astronaut_crop, bpp):
    # the fallback: at worst plain SPIHT with a longer header (7 bytes: codec name and mode byte)
    for img in (camera_crop, astronaut_crop):
        a = wavecodec.encode(img, CODEC, bpp=bpp)
        b = wavecodec.encode(img, "spiht", bpp=bpp)
        pa, pb = psnr(img, wavecodec.decode(a)), psnr(img, wavecodec.decode(b))
        if mode_of(a) == "spiht":
            # same SPIHT stream coded with 7 bytes less
            plain_short = wavecodec.encode(img, "spiht", max_bytes=len(b) - 7)
            assert np.array_equal(wavecodec.decode(a), wavecodec.decode(plain_short))
        else:
            assert pa >= pb - 0.05


def test_use_edges_never_and_fixed_share(camera_crop):
    never = wavecodec.encode(camera_crop, CODEC, bpp=0.3, use_edges="never")
    assert mode_of(never) == "spiht"
    fixed = wavecodec.encode(camera_crop, CODEC, bpp=0.3, use_edges="always", edge_share=0.2)
    info = wavecodec.info(fixed)
    assert info.params["mode"] == "edges+spiht"
    assert info.params["edge_layer_bytes"] <= 0.2 * info.payload_size + 8


def test_sixteen_bit_edges():
    img = cartoon(64, 80, seed=3, dtype=np.uint16, bit_depth=12)
    data = wavecodec.encode(img, CODEC, bpp=0.5, use_edges="always", bit_depth=12)
    assert mode_of(data) == "edges+spiht"
    out = wavecodec.decode(data)
    assert out.dtype == np.uint16 and int(out.max()) < 4096
    assert psnr(img, out, peak=4095) > 25


# =============================================================================== prefixes


def test_prefixes_decode_and_the_edge_layer_alone_gives_the_base():
    img = cartoon(96, 96, 3, seed=2)
    data = wavecodec.encode(img, CODEC, bpp=0.8, use_edges="always")
    info = wavecodec.info(data)
    hlen, elen = info.header_size, info.params["edge_layer_bytes"]
    quality = {}
    for cut in sorted({hlen, hlen + elen // 2, hlen + elen, hlen + elen + 20, (hlen + elen + len(data)) // 2,
                       len(data)}):
        out = wavecodec.decode(data[:cut])
        assert out.shape == img.shape and out.dtype == img.dtype
        quality[cut] = psnr(img, out)
    # the edge layer alone (plus the residual's plane means) is already an image of the edges
    assert quality[hlen + elen] > quality[hlen] + 2
    assert quality[len(data)] > quality[hlen + elen]


# =============================================================================== robustness
# (tests/test_contract.py corrupts streams of every codec; these streams carry edge layers of both
# entropy coders and 10-bit samples, which the contract's small generic images do not bring about)


def _streams() -> list[bytes]:
    imgs = [cartoon(40, 48, seed=4), cartoon(40, 44, 3, seed=6), cartoon(40, 48, seed=5, dtype=np.uint16, bit_depth=10)]
    out = []
    for img in imgs:
        bd = 10 if img.dtype == np.uint16 else None
        for kw in ({"use_edges": "always", "entropy": "huffman"}, {"use_edges": "always", "entropy": "arith"},
                   {"use_edges": "never"}):
            data = wavecodec.encode(img, CODEC, bpp=0.8, bit_depth=bd, **kw)
            out.append(data)
        out.append(wavecodec.encode(img, CODEC, lossless=True, bit_depth=bd))
    assert sum(mode_of(s) == "edges+spiht" for s in out) == 6
    return out


@pytest.fixture(scope="module")
def streams() -> list[bytes]:
    return _streams()


def check(data: bytes) -> str:
    try:
        out = wavecodec.decode(data, max_samples=1 << 18)
    except WavecodecError as exc:
        assert str(exc)
        return "error"
    header, _ = C.parse(data, max_samples=1 << 18)
    assert out.shape == header.shape and out.dtype == header.dtype
    assert int(out.max(initial=0)) < (1 << header.bit_depth)
    return "ok"


def test_random_truncations(streams):
    rng = np.random.default_rng(2001)
    for _ in range(40):
        data = streams[rng.integers(len(streams))]
        hlen = wavecodec.info(data).header_size
        cut = int(rng.integers(len(data) + 1))
        assert check(data[:cut]) == ("ok" if cut >= hlen else "error")


def test_payload_corruption_still_decodes(streams):
    rng = np.random.default_rng(2002)
    for _ in range(40):
        data = bytearray(streams[rng.integers(len(streams))])
        hlen = wavecodec.info(bytes(data)).header_size
        if len(data) == hlen:
            continue
        for _ in range(int(rng.integers(1, 8))):
            data[int(rng.integers(hlen, len(data)))] = int(rng.integers(256))
        assert check(bytes(data)) == "ok"


def test_random_byte_flips(streams):
    rng = np.random.default_rng(2003)
    results = []
    for _ in range(60):
        data = bytearray(streams[rng.integers(len(streams))])
        for _ in range(int(rng.integers(1, 4))):
            data[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
        results.append(check(bytes(data)))
    assert "ok" in results and "error" in results


def test_random_payloads_under_valid_headers(streams):
    rng = np.random.default_rng(2004)
    for _ in range(40):
        data = streams[rng.integers(len(streams))]
        payload = rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
        assert check(restream(data, payload=payload, payload_length=len(payload))) in ("ok", "error")


def test_forged_parameter_blocks(streams):
    edge = next(s for s in streams if mode_of(s) == "edges+spiht")
    header, payload = C.parse(edge)
    p = header.params
    bad = [
        b"",  # no mode byte
        bytes([7]) + p[1:],  # unknown mode
        p[:1] + bytes([5]) + p[2:],  # unknown entropy coder
        p[:2] + bytes([0]) + p[3:],  # knot spacing 0
        p[:3] + bytes([9]) + p[4:],  # side offset 9
        p[:4] + bytes([0]) + p[5:],  # quantiser step 0
        p[:5] + (len(payload) + 1).to_bytes(4, "little") + p[9:],  # edge layer longer than the payload
        p[:5] + (-1).to_bytes(4, "little", signed=True) + p[9:],
        p[:8],  # cut inside the edge fields
        p + b"\x00",  # trailing byte in the SPIHT block
    ]
    for params in bad:
        with pytest.raises(CorruptStreamError):
            wavecodec.decode(restream(edge, params=params))
    # an edge layer in a stream flagged lossless is refused too
    with pytest.raises(CorruptStreamError):
        wavecodec.decode(restream(edge, lossless=True))
    # the edge-layer length may be anything up to the payload: still decodes
    for n in (0, 1, len(payload)):
        forged = restream(edge, params=p[:5] + n.to_bytes(4, "little") + p[9:])
        assert check(forged) == "ok"


def test_info_describes_both_modes(streams):
    for s in streams:
        params = wavecodec.info(s).params
        assert params["mode"] in ("spiht", "edges+spiht")
        assert params["transform"] in ("cdf97", "legall53")
        if params["mode"] == "edges+spiht":
            assert params["edge_entropy"] in ("huffman", "arith") and params["knot_spacing"] >= 1


def test_auto_entropy_keeps_the_smaller_layer(camera_crop):
    sizes = {}
    for entropy in ("huffman", "arith", "auto"):
        data = wavecodec.encode(camera_crop, CODEC, bpp=0.4, use_edges="always", edge_share=0.3, entropy=entropy)
        info = wavecodec.info(data)
        assert info.params["mode"] == "edges+spiht"
        sizes[entropy] = (info.params["edge_layer_bytes"], info.params["edge_entropy"])
    assert sizes["auto"][0] == min(sizes["huffman"][0], sizes["arith"][0])


@pytest.mark.parametrize("bpp", [None, 0.1])
def test_threshold_order_is_an_argument_error(bpp):
    # scikit-image's ValueError must not escape: the options are checked before any work
    img = make_image(64, 64)
    with pytest.raises(wavecodec.InvalidArgumentError, match="low_threshold"):
        wavecodec.encode(img, "canny-spiht", bpp=bpp, low_threshold=0.9, high_threshold=0.1, use_edges="always")


@pytest.mark.parametrize("options,lossless,named", [
    ({"use_edges": "never", "edge_share": 0.2}, False, "edge_share"),
    ({"use_edges": "always", "edge_share": 0.0}, False, "edge_share"),
    ({"use_edges": "always", "psnr_tolerance": 0.5}, False, "psnr_tolerance"),
    ({"use_edges": "never", "psnr_tolerance": 0.5}, False, "psnr_tolerance"),
    ({"wavelet": "legall53"}, False, "legall53"),
    ({"wavelet": "cdf97"}, True, "wavelet"),
    ({"levels": 12}, False, "levels"),
])
def test_contradicting_options_are_argument_errors_naming_them(options, lossless, named):
    # issue 15: every bad combination is a WavecodecError whose message names the option
    img = make_image(64, 64)
    rate = {"lossless": True} if lossless else {"bpp": 0.3}
    with pytest.raises(wavecodec.InvalidArgumentError, match=named) as info:
        wavecodec.encode(img, "canny-spiht", **rate, **options)
    assert "canny-spiht" in str(info.value) or named == "levels"


# =============================================================================== big-image decoding


def _edge_parts(data: bytes):
    """What :meth:`CannySpihtCodec.decode_image` hands :func:`CS._decode_narrowed` for ``data``."""
    codec = wavecodec.get_codec(CODEC)
    header, payload = C.parse(data)
    mode, eplan, sheader = codec._split(header)
    assert mode == CS.MODE_EDGES
    h, w, c = header.height, header.width, header.channels
    step, n_levels = CS.E.quant_params(eplan.step8, header.bit_depth)
    payload = bytes(payload)
    layer = CS.E.decode(payload[: eplan.edge_bytes], h=h, w=w, n_planes=c, entropy=eplan.entropy,
                        spacing=eplan.spacing, offset=eplan.offset, step=step, n_levels=n_levels)
    rheader = C.Header(codec="spiht", height=h, width=w, channels=c, dtype=header.dtype, bit_depth=header.bit_depth,
                       lossless=False, embedded=True, channel_axis=False, params=b"",
                       payload_length=len(payload) - eplan.edge_bytes)
    return payload[eplan.edge_bytes:], CS._SPIHT.read_plan(sheader), rheader, layer, header


@pytest.fixture(scope="module")
def edge_streams():
    """Edge-layer streams (gray, colour, 12-bit) and a prefix of each, decoded in float64 throughout."""
    out = []
    # (a PyWavelets wavelet too: its inverse returns a new array rather than working in place)
    for img, opts in [(cartoon(160, 208, seed=4), {}), (cartoon(144, 112, 3, seed=5), {}),
                      (cartoon(128, 96, seed=6, dtype=np.uint16, bit_depth=12), {"bit_depth": 12}),
                      (cartoon(120, 136, 3, seed=7), {"wavelet": "db2"})]:
        data = wavecodec.encode(img, CODEC, bpp=0.4, use_edges="always", **opts)
        assert mode_of(data) == "edges+spiht"
        head = wavecodec.info(data).header_size
        for stream in (data, data[: head + (len(data) - head) * 2 // 3]):
            out.append((stream, wavecodec.decode(stream)))  # below NARROW_MIN_SAMPLES: the float64 path
    return out


@pytest.mark.parametrize("slack", [1.0, 1e5, 1e9])
def test_narrowed_decoding_is_bit_exact(edge_streams, slack):
    # The float32 residual with the second decoding for the samples near a rounding boundary
    # gives the float64 path's image; a larger slack sends more samples (with 1e9 nearly all)
    # through the second decoding, which must give their float64 values too.
    for stream, expected in edge_streams:
        out, n_near = CS._decode_narrowed(*_edge_parts(stream), slack=slack)
        np.testing.assert_array_equal(out.reshape(expected.shape), expected)
        if slack == 1e9:
            assert n_near > out.size // 2


def test_big_images_take_the_narrowed_path(edge_streams, monkeypatch):
    calls = []
    original = CS._decode_narrowed
    monkeypatch.setattr(CS, "_decode_narrowed", lambda *a, **k: calls.append(1) or original(*a, **k))
    monkeypatch.setattr(CS, "NARROW_MIN_SAMPLES", 1)
    for stream, expected in edge_streams:
        np.testing.assert_array_equal(wavecodec.decode(stream), expected)
    assert len(calls) == len(edge_streams)


@pytest.mark.parametrize("rows", [2, 8, 24])
def test_reduced_base_image_is_the_block_mean_of_the_base_image(edge_streams, rows):
    from wavecodec import transform as T

    for stream, _ in edge_streams[::2]:
        *_, layer, header = _edge_parts(stream)
        h, w, c = header.height, header.width, header.channels
        whole = CS.E.base_image(layer, h, w, c)
        for reduce in (1, 2, 3, 9):
            np.testing.assert_array_equal(CS.E.base_image_reduced(layer, h, w, c, reduce, rows=rows),
                                          T.block_mean(whole, reduce))
