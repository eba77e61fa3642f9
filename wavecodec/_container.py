"""The wavecodec container: a small self-describing header in front of a codec payload.

Layout (all integers little-endian; ``varint`` = unsigned LEB128, at most 5 bytes);
``docs/format.md`` is the normative description::

    offset  size  field
    0       3     magic b"WVC"
    3       1     format version (1)
    4       1     codec name length L (1..32)
    5       L     codec name, ASCII [a-z0-9._-]
    .       1     flags: bit 0 lossless (reversible path), bit 1 embedded,
                  bit 2 explicit channel axis of size 1 (shape (H, W, 1)); others 0
    .       v     height (1..MAX_SIDE)
    .       v     width  (1..MAX_SIDE)
    .       1     channels (1 or 3)
    .       1     sample type: 1 = uint8, 2 = uint16
    .       1     bit depth (1..8 for uint8, 1..16 for uint16)
    .       v     length P of the codec parameter block (0..MAX_PARAMS)
    .       P     codec parameter block (codec specific)
    .       v     payload length N
    .       4     CRC-32 (zlib polynomial) of every header byte above
    .       N     payload

Every field is checked against its bounds before anything is allocated from it.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from .errors import CorruptStreamError, ImageTooLargeError, InvalidArgumentError

MAGIC = b"WVC"
FORMAT_VERSION = 1
MAX_SIDE = 1 << 20
# Default limit on height * width * channels for decode() and info(): a decompression-bomb
# guard like Pillow's Image.MAX_IMAGE_PIXELS.  3 * 2**24 = 50331648 samples is a 4096x4096
# RGB or a 7094x7094 grey image; a lossy bit-plane decode of one keeps about 0.5 GB resident
# (the output plus about 8 bytes per declared sample; docs/memory.md), while a forged
# 8192x8192 header is refused.  decode(data, max_samples=N) raises it.
MAX_SAMPLES = 3 << 24
MAX_PARAMS = 4096
_NAME_RE = re.compile(r"^[a-z0-9._-]{1,32}$")

FLAG_LOSSLESS = 1
FLAG_EMBEDDED = 2
FLAG_CHANNEL_AXIS = 4

DTYPE_CODES = {np.dtype(np.uint8): 1, np.dtype(np.uint16): 2}
CODE_DTYPES = {v: k for k, v in DTYPE_CODES.items()}


@dataclass(frozen=True)
class Header:
    """Decoded container header."""

    codec: str
    height: int
    width: int
    channels: int
    dtype: np.dtype
    bit_depth: int
    lossless: bool
    embedded: bool
    channel_axis: bool
    params: bytes
    payload_length: int
    header_length: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        if self.channels == 1 and not self.channel_axis:
            return (self.height, self.width)
        return (self.height, self.width, self.channels)


def check_codec_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidArgumentError(f"codec name {name!r} must be 1-32 characters of [a-z0-9._-]")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def header_length(codec: str, height: int, width: int, params_length: int, payload_length: int) -> int:
    """Size in bytes of the header for these fields (used for rate control)."""
    return (
        3 + 1 + 1 + len(codec) + 1 + len(_varint(height)) + len(_varint(width)) + 3
        + len(_varint(params_length)) + params_length + len(_varint(payload_length)) + 4
    )


def pack(header: Header, payload: bytes) -> bytes:
    """Serialise ``header`` (its payload_length is taken from ``payload``) and the payload."""
    check_codec_name(header.codec)
    if len(header.params) > MAX_PARAMS:
        raise InvalidArgumentError(f"codec parameter block too long ({len(header.params)} > {MAX_PARAMS} bytes)")
    flags = (
        (FLAG_LOSSLESS if header.lossless else 0)
        | (FLAG_EMBEDDED if header.embedded else 0)
        | (FLAG_CHANNEL_AXIS if header.channel_axis else 0)
    )
    name = header.codec.encode("ascii")
    head = bytearray()
    head += MAGIC
    head.append(FORMAT_VERSION)
    head.append(len(name))
    head += name
    head.append(flags)
    head += _varint(header.height)
    head += _varint(header.width)
    head.append(header.channels)
    head.append(DTYPE_CODES[np.dtype(header.dtype)])
    head.append(header.bit_depth)
    head += _varint(len(header.params))
    head += header.params
    head += _varint(len(payload))
    head += struct.pack("<I", zlib.crc32(bytes(head)) & 0xFFFFFFFF)
    return bytes(head) + bytes(payload)


class _Cursor:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def need(self, n: int, what: str) -> None:
        if self.pos + n > len(self.data):
            raise CorruptStreamError(f"stream ends inside the header while reading {what}", self.pos)

    def u8(self, what: str) -> int:
        self.need(1, what)
        v = self.data[self.pos]
        self.pos += 1
        return v

    def take(self, n: int, what: str) -> bytes:
        self.need(n, what)
        v = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return v

    def varint(self, what: str, maximum: int) -> int:
        start = self.pos
        value = 0
        for k in range(5):
            b = self.u8(what)
            value |= (b & 0x7F) << (7 * k)
            if not b & 0x80:
                break
        else:
            raise CorruptStreamError(f"{what}: varint longer than 5 bytes", start)
        if value > maximum:
            raise CorruptStreamError(f"{what} = {value} exceeds the limit {maximum}", start)
        return value


def is_wavecodec(data: bytes) -> bool:
    """True if ``data`` starts with the wavecodec magic bytes."""
    return bytes(data[:3]) == MAGIC


def parse(data: bytes, *, max_samples: int = MAX_SAMPLES) -> tuple[Header, memoryview]:
    """Parse and check the header; return it and the payload bytes present (possibly fewer than declared).

    A header declaring more than ``max_samples`` samples (H * W * C) raises
    :class:`ImageTooLargeError`; nothing is allocated from the header.  The payload
    is a read-only view of the stream's bytes (a copy of a big payload would stay
    in memory for the whole decode).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidArgumentError(f"data must be bytes, not {type(data).__name__}")
    data = bytes(data)
    cur = _Cursor(data)
    magic = cur.take(3, "magic")
    if magic != MAGIC:
        raise CorruptStreamError("not a wavecodec stream (bad magic bytes)", 0)
    version = cur.u8("format version")
    if version != FORMAT_VERSION:
        raise CorruptStreamError(f"unsupported format version {version} (this library reads {FORMAT_VERSION})", 3)
    nlen = cur.u8("codec name length")
    if not 1 <= nlen <= 32:
        raise CorruptStreamError(f"codec name length {nlen} out of range 1..32", 4)
    raw_name = cur.take(nlen, "codec name")
    try:
        codec = raw_name.decode("ascii")
    except UnicodeDecodeError:
        raise CorruptStreamError("codec name is not ASCII", 5) from None
    if not _NAME_RE.match(codec):
        raise CorruptStreamError(f"invalid codec name {codec!r}", 5)
    flags = cur.u8("flags")
    if flags & ~(FLAG_LOSSLESS | FLAG_EMBEDDED | FLAG_CHANNEL_AXIS):
        raise CorruptStreamError(f"unknown flag bits 0x{flags:02x}", cur.pos - 1)
    size_pos = cur.pos
    height = cur.varint("height", MAX_SIDE)
    width = cur.varint("width", MAX_SIDE)
    channels_pos = cur.pos  # channels, sample type and bit depth follow at +0, +1, +2
    channels = cur.u8("channels")
    dcode = cur.u8("sample type")
    bit_depth = cur.u8("bit depth")
    params_len = cur.varint("parameter block length", MAX_PARAMS)
    params = cur.take(params_len, "codec parameters")
    payload_len = cur.varint("payload length", (1 << 35) - 1)
    crc_pos = cur.pos
    (crc,) = struct.unpack("<I", cur.take(4, "header CRC"))
    if zlib.crc32(data[:crc_pos]) & 0xFFFFFFFF != crc:
        raise CorruptStreamError("header CRC mismatch: the header is corrupt", crc_pos)
    # semantic checks (after the CRC so that messages about random bytes stay simple)
    if height < 1 or width < 1:
        raise CorruptStreamError(f"image size {height}x{width} is empty", size_pos)
    if channels not in (1, 3):
        raise CorruptStreamError(f"channel count {channels} is not 1 or 3", channels_pos)
    if (flags & FLAG_CHANNEL_AXIS) and channels != 1:
        raise CorruptStreamError("channel-axis flag set on a colour image", 5 + nlen)
    if dcode not in CODE_DTYPES:
        raise CorruptStreamError(f"unknown sample type code {dcode}", channels_pos + 1)
    dtype = CODE_DTYPES[dcode]
    if not 1 <= bit_depth <= dtype.itemsize * 8:
        raise CorruptStreamError(f"bit depth {bit_depth} impossible for {dtype.name}", channels_pos + 2)
    if height * width * channels > max_samples:
        raise ImageTooLargeError((height, width, channels), max_samples, size_pos)
    header = Header(
        codec=codec,
        height=height,
        width=width,
        channels=channels,
        dtype=dtype,
        bit_depth=bit_depth,
        lossless=bool(flags & FLAG_LOSSLESS),
        embedded=bool(flags & FLAG_EMBEDDED),
        channel_axis=bool(flags & FLAG_CHANNEL_AXIS),
        params=params,
        payload_length=payload_len,
        header_length=cur.pos,
    )
    payload = memoryview(data)[cur.pos : cur.pos + payload_len]
    return header, payload


class ParamWriter:
    """Builds a codec parameter block."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def u8(self, v: int) -> "ParamWriter":
        self._buf.append(int(v) & 0xFF)
        return self

    def i8(self, v: int) -> "ParamWriter":
        self._buf += struct.pack("<b", int(v))
        return self

    def i16(self, v: int) -> "ParamWriter":
        self._buf += struct.pack("<h", int(v))
        return self

    def i32(self, v: int) -> "ParamWriter":
        self._buf += struct.pack("<i", int(v))
        return self

    def f32(self, v: float) -> "ParamWriter":
        self._buf += struct.pack("<f", float(v))
        return self

    def text(self, s: str) -> "ParamWriter":
        raw = s.encode("ascii")
        if len(raw) > 255:
            raise InvalidArgumentError(f"parameter string too long: {s!r}")
        self._buf.append(len(raw))
        self._buf += raw
        return self

    def bytes(self) -> bytes:
        return bytes(self._buf)


class ParamReader:
    """Reads a codec parameter block; every read is bounds-checked."""

    def __init__(self, block: bytes, codec: str):
        self._data = block
        self._pos = 0
        self._codec = codec

    def _take(self, n: int, what: str) -> bytes:
        if self._pos + n > len(self._data):
            raise CorruptStreamError(f"{self._codec} parameter block too short while reading {what}")
        v = self._data[self._pos : self._pos + n]
        self._pos += n
        return v

    def u8(self, what: str, lo: int = 0, hi: int = 255) -> int:
        v = self._take(1, what)[0]
        if not lo <= v <= hi:
            raise CorruptStreamError(f"{self._codec} parameter {what} = {v} outside {lo}..{hi}")
        return v

    def i8(self, what: str) -> int:
        return struct.unpack("<b", self._take(1, what))[0]

    def i16(self, what: str) -> int:
        return struct.unpack("<h", self._take(2, what))[0]

    def i32(self, what: str) -> int:
        return struct.unpack("<i", self._take(4, what))[0]

    def f32(self, what: str) -> float:
        v = struct.unpack("<f", self._take(4, what))[0]
        if not np.isfinite(v):
            raise CorruptStreamError(f"{self._codec} parameter {what} is not finite")
        return v

    def text(self, what: str) -> str:
        n = self._take(1, what)[0]
        raw = self._take(n, what)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise CorruptStreamError(f"{self._codec} parameter {what} is not ASCII") from None

    def end(self) -> None:
        if self._pos != len(self._data):
            raise CorruptStreamError(f"{self._codec} parameter block has {len(self._data) - self._pos} unexpected trailing bytes")
