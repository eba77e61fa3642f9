"""Tests of the container: header layout, pack/parse round trip, CRC, bounds, offsets."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

import wavecodec
from wavecodec import _container as C
from wavecodec.errors import CorruptStreamError, InvalidArgumentError, TruncatedStreamError, WavecodecError

from conftest import make_image, raw_header


def _header(**kw) -> C.Header:
    base = dict(codec="spiht", height=17, width=31, channels=1, dtype=np.dtype(np.uint8), bit_depth=8,
                lossless=False, embedded=True, channel_axis=False, params=b"\x01\x02\x03", payload_length=0)
    base.update(kw)
    return C.Header(**base)


# =============================================================================== round trip


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"height": 1, "width": 1, "params": b""},
        {"height": C.MAX_SIDE, "width": 1},
        {"height": 1, "width": C.MAX_SIDE},
        {"height": 127, "width": 128, "channels": 3},
        {"dtype": np.dtype(np.uint16), "bit_depth": 12, "lossless": True},
        {"dtype": np.dtype(np.uint16), "bit_depth": 16, "channels": 3, "embedded": False},
        {"dtype": np.dtype(np.uint8), "bit_depth": 1, "channel_axis": True},
        {"codec": "a", "params": bytes(range(256)) * 16},  # MAX_PARAMS bytes
        {"codec": "x" * 32, "params": b"\xff" * 200},
        {"codec": "my-codec.v2_0"},
    ],
)
@pytest.mark.parametrize("payload", [b"", b"\x00", bytes(range(200)), bytes(70000)])
def test_pack_parse_round_trip(kw, payload):
    h = _header(**kw)
    data = C.pack(h, payload)
    assert C.is_wavecodec(data)
    parsed, got = C.parse(data, max_samples=1 << 62)
    assert got == payload
    assert parsed.header_length == len(data) - len(payload)
    assert parsed.header_length == C.header_length(h.codec, h.height, h.width, len(h.params), len(payload))
    for field in ("codec", "height", "width", "channels", "bit_depth", "lossless", "embedded", "channel_axis", "params"):
        assert getattr(parsed, field) == getattr(h, field), field
    assert parsed.dtype == h.dtype
    assert parsed.payload_length == len(payload)
    expected_shape = (h.height, h.width) if h.channels == 1 and not h.channel_axis else (h.height, h.width, h.channels)
    assert parsed.shape == expected_shape
    # the payload can be cut anywhere: parse reports the bytes that are there
    for cut in (0, len(payload) // 2):
        hh, pp = C.parse(data[: parsed.header_length + cut], max_samples=1 << 62)
        assert pp == payload[:cut] and hh.payload_length == len(payload)
    # trailing bytes after the payload are not part of it
    hh, pp = C.parse(data + b"junk", max_samples=1 << 62)
    assert pp == payload


def test_layout_is_as_documented():
    h = _header(height=300, width=5, channels=3, dtype=np.dtype(np.uint16), bit_depth=10, lossless=True,
                params=b"PQ")
    data = C.pack(h, b"payload")
    expected = bytearray(b"WVC\x01\x05spiht")
    expected.append(C.FLAG_LOSSLESS | C.FLAG_EMBEDDED)
    expected += bytes([0xAC, 0x02])  # 300 as LEB128
    expected += bytes([5, 3, 2, 10, 2]) + b"PQ" + bytes([7])
    expected += struct.pack("<I", zlib.crc32(bytes(expected)))
    assert data == bytes(expected) + b"payload"


def test_real_stream_header(synthetic_rgb):
    data = wavecodec.encode(synthetic_rgb, bpp=2.0)
    h, payload = C.parse(data)
    assert data[:3] == b"WVC" and data[3] == C.FORMAT_VERSION
    assert (h.height, h.width, h.channels) == synthetic_rgb.shape
    assert h.embedded and not h.lossless
    assert h.header_length + len(payload) == len(data)
    assert wavecodec.info(data).header_size == h.header_length


# =============================================================================== CRC


def test_crc_detects_every_single_bit_flip_in_the_header(synthetic_gray):
    for data in (wavecodec.encode(synthetic_gray, bpp=1.0), wavecodec.encode(make_image(5, 6, 3), lossless=True)):
        hlen = wavecodec.info(data).header_size
        for pos in range(hlen):
            for bit in range(8):
                bad = bytearray(data)
                bad[pos] ^= 1 << bit
                with pytest.raises(CorruptStreamError) as exc:
                    C.parse(bytes(bad))
                assert exc.value.offset is not None and 0 <= exc.value.offset <= len(bad), (pos, bit)
                with pytest.raises(CorruptStreamError):
                    wavecodec.decode(bytes(bad))
                with pytest.raises(CorruptStreamError):
                    wavecodec.info(bytes(bad))


def test_crc_mismatch_message_and_offset():
    data = raw_header(crc=0x12345678)
    with pytest.raises(CorruptStreamError, match="CRC") as exc:
        C.parse(data)
    assert exc.value.offset == len(data) - 4
    assert f"at byte {len(data) - 4}" in str(exc.value)


# =============================================================================== bounds


@pytest.mark.parametrize(
    "kw, match, offset",
    [
        ({"magic": b"WVX"}, "magic", 0),
        ({"magic": b"\x89PN"}, "magic", 0),
        ({"version": 0}, "version", 3),
        ({"version": 2}, "version", 3),
        ({"version": 255}, "version", 3),
        ({"name_length": 0, "codec": b""}, "name length", 4),
        ({"name_length": 33, "codec": b"a" * 33}, "name length", 4),
        ({"codec": b"SPIHT"}, "codec name", 5),
        ({"codec": b"sp ht"}, "codec name", 5),
        ({"codec": b"sp\xffht"}, "ASCII", 5),
        ({"flags": 8}, "flag", 10),
        ({"flags": 0x80 | 2}, "flag", 10),
        ({"height": 0}, "empty", 11),
        ({"width": 0}, "empty", 11),
        ({"height": C.MAX_SIDE + 1}, "height", 11),
        ({"width": C.MAX_SIDE + 1}, "width", 12),
        ({"height": 2**34}, "height", 11),
        ({"height": b"\xff\xff\xff\xff\xff\x01"}, "varint", 11),
        ({"channels": 0}, "channel", 13),
        ({"channels": 2}, "channel", 13),
        ({"channels": 4}, "channel", 13),
        ({"channels": 3, "flags": 2 | 4}, "channel-axis", 10),
        ({"dtype_code": 0}, "sample type", 14),
        ({"dtype_code": 3}, "sample type", 14),
        ({"bit_depth": 0}, "bit depth", 15),
        ({"bit_depth": 9}, "bit depth", 15),
        ({"dtype_code": 2, "bit_depth": 17}, "bit depth", 15),
        ({"params_length": C.MAX_PARAMS + 1}, "parameter block length", 16),
        ({"params_length": 2**20}, "parameter block length", 16),
        ({"params_length": 10, "params": b"abc"}, "CRC|ends inside", None),
        ({"payload_length": b"\x80\x80\x80\x80\x80\x01"}, "varint", 17),
        ({"payload_length": 2**40}, "payload length", 17),
    ],
)
def test_bad_header_fields(kw, match, offset):
    data = raw_header(**kw)
    with pytest.raises(CorruptStreamError, match=match) as exc:
        C.parse(data)
    if offset is not None:
        assert exc.value.offset == offset, (exc.value.offset, str(exc.value))
        assert f"(at byte {offset})" in str(exc.value)
    assert isinstance(exc.value, WavecodecError)
    with pytest.raises(CorruptStreamError):
        wavecodec.decode(data)


def test_every_parse_error_has_an_offset(synthetic_gray):
    data = wavecodec.encode(synthetic_gray, bpp=0.5)
    hlen = wavecodec.info(data).header_size
    rng = np.random.default_rng(0)
    bad_streams = [data[:cut] for cut in range(hlen)]
    for _ in range(300):
        b = bytearray(data[:hlen])
        for _ in range(rng.integers(1, 4)):
            b[rng.integers(hlen)] = rng.integers(256)
        bad_streams.append(bytes(b))
    for bad in bad_streams:
        try:
            C.parse(bad)
        except CorruptStreamError as exc:
            assert isinstance(exc.offset, int) and 0 <= exc.offset <= len(bad), str(exc)
            assert f"(at byte {exc.offset})" in str(exc)


def test_truncated_header_reports_the_field(synthetic_gray):
    data = wavecodec.encode(synthetic_gray, bpp=0.5)
    hlen = wavecodec.info(data).header_size
    for cut in range(hlen):
        with pytest.raises(CorruptStreamError, match="ends inside the header|bad magic") as exc:
            C.parse(data[:cut])
        assert exc.value.offset <= cut


def test_semantic_checks_come_after_the_crc():
    # channels = 2 with a wrong CRC: the CRC is what is reported
    data = raw_header(channels=2, crc=0)
    with pytest.raises(CorruptStreamError, match="CRC"):
        C.parse(data)


def test_max_samples(synthetic_gray, synthetic_rgb):
    for img in (synthetic_gray, synthetic_rgb):
        data = wavecodec.encode(img, bpp=1.0)
        n = img.size
        wavecodec.decode(data, max_samples=n)  # exactly at the limit: fine
        with pytest.raises(CorruptStreamError, match="max_samples") as exc:
            wavecodec.decode(data, max_samples=n - 1)
        assert exc.value.offset is not None
        with pytest.raises(CorruptStreamError):
            C.parse(data, max_samples=n - 1)


def test_huge_declared_images_are_refused_before_allocation():
    # a 1M x 1M header (the largest sides allowed) with a 3-byte payload
    data = raw_header(height=C.MAX_SIDE, width=C.MAX_SIDE, channels=3, payload=b"abc")
    with pytest.raises(CorruptStreamError, match="limit"):
        wavecodec.decode(data)
    data = raw_header(height=C.MAX_SIDE, width=C.MAX_SIDE, dtype_code=2, bit_depth=16, payload=b"")
    with pytest.raises(CorruptStreamError):
        wavecodec.decode(data)
    # info() does not decode, so it accepts large images, but not unbounded ones
    with pytest.raises(CorruptStreamError):
        wavecodec.info(data)


# =============================================================================== pack errors


def test_pack_rejects_bad_headers():
    with pytest.raises(InvalidArgumentError):
        C.pack(_header(codec="Bad Name"), b"")
    with pytest.raises(InvalidArgumentError):
        C.pack(_header(codec="x" * 33), b"")
    with pytest.raises(InvalidArgumentError):
        C.pack(_header(params=bytes(C.MAX_PARAMS + 1)), b"")


def test_parse_rejects_non_bytes():
    for bad in ("WVC", 3, None, [87, 86, 67]):
        with pytest.raises(InvalidArgumentError, match="bytes"):
            C.parse(bad)


# =============================================================================== codec-level checks


def test_unregistered_codec_name():
    data = raw_header(codec=b"nope", payload=b"\x00" * 4)
    with pytest.raises(CorruptStreamError, match="nope"):
        wavecodec.decode(data)
    with pytest.raises(CorruptStreamError, match="not registered"):
        wavecodec.info(data)


def test_non_embedded_stream_must_be_complete(synthetic_gray):
    from conftest import restream

    # The embedded flag must agree with the codec's capability: a stream that claims
    # otherwise is corrupt, complete or not (the decoder trusts the codec, not the flag).
    data = wavecodec.encode(synthetic_gray, bpp=1.0)
    flat = restream(data, embedded=False)
    assert not wavecodec.info(flat).embedded
    hlen = wavecodec.info(flat).header_size
    for forged in (flat, flat[: hlen + 10]):
        with pytest.raises(CorruptStreamError, match="embedded"):
            wavecodec.decode(forged)
    # while the embedded original decodes the same prefix
    assert wavecodec.decode(data[: hlen + 10]).shape == synthetic_gray.shape


def test_param_reader_bounds():
    w = C.ParamWriter().u8(7).i8(-3).i32(-123456).f32(1.5).text("cdf97")
    block = w.bytes()
    r = C.ParamReader(block, "t")
    assert r.u8("a") == 7 and r.i8("b") == -3 and r.i32("c") == -123456 and r.f32("d") == 1.5
    assert r.text("e") == "cdf97"
    r.end()
    with pytest.raises(CorruptStreamError, match="too short"):
        r.u8("past the end")
    with pytest.raises(CorruptStreamError, match="outside"):
        C.ParamReader(b"\x09", "t").u8("level", 0, 8)
    with pytest.raises(CorruptStreamError, match="trailing"):
        C.ParamReader(b"\x01\x02", "t").end()
    with pytest.raises(CorruptStreamError, match="finite"):
        C.ParamReader(struct.pack("<f", float("nan")), "t").f32("mean")
    with pytest.raises(CorruptStreamError, match="finite"):
        C.ParamReader(struct.pack("<f", float("inf")), "t").f32("mean")
    with pytest.raises(CorruptStreamError, match="too short"):
        C.ParamReader(b"\x10abc", "t").text("name")  # declared 16 characters, 3 present
    with pytest.raises(CorruptStreamError, match="ASCII"):
        C.ParamReader(b"\x02\xff\xfe", "t").text("name")
    with pytest.raises(InvalidArgumentError):
        C.ParamWriter().text("x" * 256)


def test_varint_encoding():
    for v in (0, 1, 127, 128, 255, 300, 16383, 16384, C.MAX_SIDE, 2**35 - 1):
        enc = C._varint(v)
        cur = C._Cursor(enc)
        assert cur.varint("v", 2**35) == v and cur.pos == len(enc)
        assert len(enc) == max(1, -(-v.bit_length() // 7))
