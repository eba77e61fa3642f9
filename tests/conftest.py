"""Shared fixtures and helpers of the codec tests.

Images (session-scoped, never modified by tests: every fixture returns a read-only array):

* ``camera`` (512x512 uint8) and ``astronaut`` (512x512x3 uint8) from scikit-image,
  plus small and odd-sized crops of both for the fast tests;
* seeded synthetic images (smooth gradients + texture + noise) of any size, grey or
  colour, uint8 or uint16 (``make_image``);
* 12-bit and full-range 16-bit uint16 images.

Helpers: ``psnr`` (with an explicit peak, so 12-bit data is measured against 4095),
and ``raw_header`` / ``restream`` to build container headers byte by byte (to
craft streams that :func:`wavecodec._container.pack` would refuse to write).
"""

from __future__ import annotations

import dataclasses
import math
import struct
import zlib

import numpy as np
import pytest

import wavecodec
from wavecodec import _container


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


# --------------------------------------------------------------------------- helpers


def psnr(ref: np.ndarray, test: np.ndarray, peak: float | None = None) -> float:
    """PSNR in dB over all samples; ``peak`` defaults from the dtype (255 / 65535)."""
    ref = np.asarray(ref, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    assert ref.shape == test.shape, (ref.shape, test.shape)
    if peak is None:
        peak = 255.0
    mse = float(np.mean((ref - test) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


def make_image(h: int, w: int, channels: int | None = None, *, dtype=np.uint8, bit_depth: int | None = None,
               seed: int = 0, noise: float = 6.0) -> np.ndarray:
    """A seeded natural-ish image: smooth gradients, a sinusoidal texture, an edge and noise.

    ``channels`` None gives (h, w); otherwise (h, w, channels).  Values span the
    range of ``bit_depth`` bits (default: 8 for uint8, 16 for uint16).
    """
    rng = np.random.default_rng(seed)
    if bit_depth is None:
        bit_depth = 8 if np.dtype(dtype) == np.uint8 else 16
    top = (1 << bit_depth) - 1
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 0.5 + 0.25 * np.sin(xx / 9.0 + yy / 13.0) * np.cos(yy / 7.0) + 0.2 * (xx / max(w, 1) - 0.5)
    base = base + 0.15 * (xx + 0.5 * yy > 0.6 * (w + 0.5 * h))  # a diagonal edge
    shape = (h, w) if channels is None else (h, w, channels)
    if channels is not None:
        base = base[:, :, None] * (1.0 - 0.15 * np.arange(channels)) + 0.05 * np.arange(channels)
    img = base * top + rng.normal(0.0, noise / 255.0 * top, size=shape)
    return np.clip(np.round(img), 0, top).astype(dtype)


def raw_header(*, magic: bytes = b"WVC", version: int = 1, codec: bytes = b"spiht", name_length: int | None = None,
               flags: int = 2, height: int | bytes = 8, width: int | bytes = 8, channels: int = 1,
               dtype_code: int = 1, bit_depth: int = 8, params: bytes = b"", params_length: int | None = None,
               payload_length: int | None = None, payload: bytes = b"", crc: int | None = None) -> bytes:
    """Container bytes written field by field, with a correct CRC unless ``crc`` is given.

    ``height``/``width`` may be raw varint bytes (to write over-long or huge varints).
    """
    def var(v):
        return v if isinstance(v, (bytes, bytearray)) else _container._varint(v)

    head = bytearray(magic)
    head.append(version)
    head.append(len(codec) if name_length is None else name_length)
    head += codec
    head.append(flags)
    head += var(height)
    head += var(width)
    head.append(channels)
    head.append(dtype_code)
    head.append(bit_depth)
    head += var(len(params) if params_length is None else params_length)
    head += params
    head += var(len(payload) if payload_length is None else payload_length)
    if crc is None:
        crc = zlib.crc32(bytes(head)) & 0xFFFFFFFF
    head += struct.pack("<I", crc)
    return bytes(head) + bytes(payload)


def restream(data: bytes, *, payload: bytes | None = None, **changes) -> bytes:
    """Re-pack a valid stream with some header fields replaced (a new, correct CRC).

    ``changes`` are :class:`wavecodec._container.Header` fields (``params=...``,
    ``height=...``, ...); ``payload`` replaces the payload present.
    """
    header, present = _container.parse(data, max_samples=1 << 62)
    header = dataclasses.replace(header, **changes)
    return _container.pack(header, present if payload is None else payload)


def spiht_plan(data: bytes):
    """The SPIHT parameter block of a stream, decoded (a ``wavecodec.coders._bitplane.BitplanePlan``)."""
    header, _ = _container.parse(data, max_samples=1 << 62)
    return wavecodec.get_codec("spiht").read_plan(header)


#: decoder limit for forged or random headers in the robustness checks: keeps every case small
CHECK_MAX_SAMPLES = 1 << 18
#: memory a decode may trace: this much per declared sample, plus a fixed allowance (the padded tree
#: layout may add up to 1 Mi coefficients, see coders/_bitplane.check_padding); measured at most
#: 41 bytes per sample on large cases, 10 MiB on thin ones.  A deterministic bound, not a time limit.
CHECK_BYTES_PER_SAMPLE = 64
CHECK_FIXED_BYTES = 16 << 20


def _traced_decode(data: bytes, max_samples: int):
    """``(image or WavecodecError, peak traced bytes)`` of one decode; other exceptions propagate."""
    import tracemalloc

    import wavecodec

    tracemalloc.start()
    try:
        try:
            result = wavecodec.decode(data, max_samples=max_samples)
        except wavecodec.WavecodecError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def check_decode(data: bytes, *, max_samples: int = CHECK_MAX_SAMPLES) -> str:
    """Decode ``data``: 'ok' (an image of the header's shape and dtype, samples within its bit
    depth) or 'error' (a WavecodecError with a message); any other exception fails, and so
    does a decode whose peak traced memory is out of proportion to the declared image.
    ``info`` must be as safe, agree with the decoded image and not refuse a stream that decodes."""
    import wavecodec

    try:
        out, traced = _traced_decode(data, max_samples)
    except BaseException as exc:  # noqa: BLE001 - the point of the check
        pytest.fail(f"decode raised {type(exc).__name__}: {exc} for {bytes(data[:48])!r}... ({len(data)} bytes)")
    if isinstance(out, wavecodec.WavecodecError):
        assert str(out), "errors carry a message"
        result = "error"
    else:
        header, _ = _container.parse(data, max_samples=max_samples)
        assert isinstance(out, np.ndarray)
        assert out.shape == header.shape and out.dtype == header.dtype, (out.shape, out.dtype, header)
        assert int(out.max(initial=0)) < (1 << header.bit_depth), "decoded samples exceed the bit depth"
        result = "ok"
    try:
        h, _ = _container.parse(data, max_samples=max_samples)
        samples = h.height * h.width * h.channels
    except wavecodec.WavecodecError:
        samples = 0
    limit = CHECK_BYTES_PER_SAMPLE * samples + CHECK_FIXED_BYTES
    if traced > limit:  # again, in case that was a first (JIT) compile
        traced = _traced_decode(data, max_samples)[1]
    assert traced <= limit, f"decoding {samples} samples took {traced / 2**20:.1f} MiB (limit {limit / 2**20:.1f} MiB)"
    try:
        info = wavecodec.info(data, max_samples=max_samples)
    except wavecodec.WavecodecError:
        assert result == "error", "info refuses a stream that decodes"
    except BaseException as exc:  # noqa: BLE001
        pytest.fail(f"info raised {type(exc).__name__}: {exc}")
    else:
        if result == "ok":
            assert info.shape == out.shape and info.dtype == out.dtype.name
    return result


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    from skimage import data

    return _readonly(data.camera())


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return _readonly(data.astronaut())


@pytest.fixture(scope="session")
def camera_crop(camera) -> np.ndarray:
    """128x128 crop of camera (the man and the tripod: edges and texture)."""
    return _readonly(camera[96:224, 192:320])


@pytest.fixture(scope="session")
def camera_odd(camera) -> np.ndarray:
    """97x131 crop of camera: odd, non-power-of-two sides."""
    return _readonly(camera[101:198, 177:308])


@pytest.fixture(scope="session")
def astronaut_crop(astronaut) -> np.ndarray:
    """96x128x3 crop of astronaut (face and suit)."""
    return _readonly(astronaut[40:136, 160:288])


@pytest.fixture(scope="session")
def astronaut_odd(astronaut) -> np.ndarray:
    """45x67x3 crop of astronaut."""
    return _readonly(astronaut[81:126, 203:270])


@pytest.fixture(scope="session")
def synthetic_gray() -> np.ndarray:
    return _readonly(make_image(61, 83, seed=1))


@pytest.fixture(scope="session")
def synthetic_rgb() -> np.ndarray:
    return _readonly(make_image(50, 37, 3, seed=2))


@pytest.fixture(scope="session")
def gray12() -> np.ndarray:
    """12-bit data in a uint16 array (values 0..4095), 70x90."""
    return _readonly(make_image(70, 90, dtype=np.uint16, bit_depth=12, seed=3))


@pytest.fixture(scope="session")
def gray16() -> np.ndarray:
    """Full-range 16-bit grey image, 45x58."""
    return _readonly(make_image(45, 58, dtype=np.uint16, bit_depth=16, seed=4))


@pytest.fixture(scope="session")
def rgb16() -> np.ndarray:
    """Full-range 16-bit colour image, 33x29x3."""
    return _readonly(make_image(33, 29, 3, dtype=np.uint16, bit_depth=16, seed=5))
