"""The public encode / decode / info functions shared by every codec."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _container, _progress
from ._registry import Codec, EncodeTarget, ImageSpec, get_codec
from .errors import (
    CorruptStreamError, ImageTooLargeError, InvalidArgumentError, TruncatedStreamError, UnsupportedImageError, WavecodecError,
)

__all__ = ["encode", "decode", "info", "StreamInfo"]


def _validate_image(image: Any, *, bit_depth: int | None, colour_ok: bool, dtypes: tuple[str, ...], codec: str) -> ImageSpec:
    if not isinstance(image, np.ndarray):
        if hasattr(image, "__array__"):
            image = np.asarray(image)
        else:
            raise UnsupportedImageError(f"image must be a numpy array, not {type(image).__name__}")
    if image.dtype.name not in dtypes:
        raise UnsupportedImageError(
            f"image dtype {image.dtype} is not supported by codec {codec!r}; use one of: {', '.join(dtypes)}"
        )
    channel_axis = False
    if image.ndim == 2:
        pixels = image[:, :, None]
    elif image.ndim == 3 and image.shape[2] in (1, 3):
        pixels = image
        channel_axis = image.shape[2] == 1
    else:
        raise UnsupportedImageError(
            f"image shape {image.shape} is not supported: use (H, W) grayscale or (H, W, 3) colour"
        )
    h, w, c = pixels.shape
    if h < 1 or w < 1:
        raise UnsupportedImageError(f"image shape {image.shape} is empty")
    if h > _container.MAX_SIDE or w > _container.MAX_SIDE:
        raise UnsupportedImageError(f"image sides must be at most {_container.MAX_SIDE} pixels, got {h}x{w}")
    if c == 3 and not colour_ok:
        raise UnsupportedImageError(f"codec {codec!r} codes grayscale images only")
    container_bits = image.dtype.itemsize * 8
    used = max(1, int(pixels.max()).bit_length())
    if bit_depth is None:
        bit_depth = container_bits if image.dtype == np.uint8 else used
    else:
        if isinstance(bit_depth, bool) or not isinstance(bit_depth, (int, np.integer)) or not 1 <= bit_depth <= container_bits:
            raise InvalidArgumentError(f"bit_depth must be an int in 1..{container_bits} for {image.dtype} images, got {bit_depth!r}")
        if used > bit_depth:
            raise InvalidArgumentError(f"bit_depth={bit_depth} is too small: the image has values up to {int(pixels.max())}")
        bit_depth = int(bit_depth)
    # native byte order: a big-endian '>u2' array is still dtype.name 'uint16'
    return ImageSpec(np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("=")), bit_depth, channel_axis)


def _resolve_budget(bpp: Any, max_bytes: Any, h: int, w: int) -> int | None:
    if bpp is not None and max_bytes is not None:
        raise InvalidArgumentError("give the rate as bpp or as max_bytes, not both")
    if bpp is not None:
        if isinstance(bpp, bool) or not isinstance(bpp, (int, float, np.integer, np.floating)) or not math.isfinite(bpp) or bpp <= 0:
            raise InvalidArgumentError(f"bpp must be a positive finite number of bits per pixel, got {bpp!r}")
        return int(math.floor(float(bpp) * h * w / 8.0))
    if max_bytes is not None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes <= 0:
            raise InvalidArgumentError(f"max_bytes must be a positive int, got {max_bytes!r}")
        return int(max_bytes)
    return None


def encode(
    image: np.ndarray,
    codec: "str | Codec" = "spiht",
    *,
    bpp: float | None = None,
    max_bytes: int | None = None,
    lossless: bool = False,
    bit_depth: int | None = None,
    **options: Any,
) -> bytes:
    """Compress ``image`` into a self-describing wavecodec stream.

    Parameters
    ----------
    image : ndarray
        ``(H, W)`` grayscale or ``(H, W, 3)`` RGB, ``uint8`` or ``uint16``, any size from 1x1.
    codec : str or Codec
        A registered codec name (see :func:`wavecodec.codecs`), or a codec object
        (:func:`wavecodec.get_codec`, possibly bound to state such as a shared codebook).
    bpp, max_bytes : float or int, optional
        Rate target as bits per pixel (``bpp * H * W / 8`` bytes, rounded down) or as a
        byte budget; never both.  The whole returned stream, header included, never
        exceeds it.  Neither means the codec's full-quality default.
    lossless : bool
        Use the codec's reversible path (bit-exact when the stream is complete).
    bit_depth : int, optional
        Significant bits per sample; defaults to 8 for uint8 and to the bits the
        largest sample needs for uint16.  Decoded values are clipped to it.
    **options
        Codec options; :func:`wavecodec.get_codec` lists them with their defaults.
    """
    c = codec if isinstance(codec, Codec) else get_codec(codec)
    if not isinstance(lossless, (bool, np.bool_)):
        raise InvalidArgumentError(f"lossless must be True or False, got {lossless!r}")
    if lossless and not c.capabilities.lossless:
        raise InvalidArgumentError(f"codec {c.name!r} has no lossless mode")
    opts = c.resolve_options(options)
    spec = _validate_image(image, bit_depth=bit_depth, colour_ok=c.capabilities.colour, dtypes=c.capabilities.dtypes, codec=c.name)
    if spec.bit_depth > c.capabilities.max_bit_depth:
        raise UnsupportedImageError(
            f"codec {c.name!r} codes at most {c.capabilities.max_bit_depth}-bit samples, the image needs {spec.bit_depth}"
        )
    budget = _resolve_budget(bpp, max_bytes, spec.height, spec.width)
    target = EncodeTarget(c.name, spec.height, spec.width, budget)
    with _progress.operation("encode"):  # 0 and 1 to a wavecodec.progress callback, the codec's reports between
        params, payload = c.encode_image(spec, target, lossless=bool(lossless), options=opts)
    header = _container.Header(
        codec=c.name, height=spec.height, width=spec.width, channels=spec.channels, dtype=spec.pixels.dtype,
        bit_depth=spec.bit_depth, lossless=bool(lossless), embedded=c.capabilities.embedded,
        channel_axis=spec.channel_axis, params=params, payload_length=len(payload),
    )
    out = _container.pack(header, payload)
    if budget is not None and len(out) > budget:  # a codec bug, never a user error
        raise AssertionError(f"codec {c.name!r} overran its budget: {len(out)} > {budget} bytes")
    return out


def _check_max_samples(max_samples: Any) -> int:
    if isinstance(max_samples, bool) or not isinstance(max_samples, (int, np.integer)) or max_samples < 1:
        raise InvalidArgumentError(
            f"max_samples must be a positive int, a limit on height * width * channels (default"
            f" {_container.MAX_SAMPLES}; there is no unlimited setting: pass the largest size you trust), got {max_samples!r}"
        )
    return int(max_samples)


def _parse(data: Any, max_samples: Any, function: str = "decode",
           codec: Codec | None = None) -> tuple[_container.Header, bytes, Any]:
    max_samples = _check_max_samples(max_samples)
    try:
        header, payload = _container.parse(data, max_samples=max_samples)
    except ImageTooLargeError as exc:
        if function == "decode":
            raise
        raise exc.with_hint(f"wavecodec.{function}(data, max_samples={exc.samples})") from None
    if codec is not None:
        if not isinstance(codec, Codec):
            raise InvalidArgumentError(f"codec= must be a codec object (wavecodec.get_codec(...)), got {codec!r}")
        if codec.name != header.codec:
            raise InvalidArgumentError(f"codec=: the stream was written by codec {header.codec!r}, not {codec.name!r}")
        return header, payload, codec
    try:
        codec = get_codec(header.codec)
    except InvalidArgumentError:
        raise CorruptStreamError(f"stream was written by codec {header.codec!r}, which is not registered here") from None
    return header, payload, codec


def _check_reduce(reduce: Any) -> int:
    if isinstance(reduce, (bool, np.bool_)) or not isinstance(reduce, (int, np.integer)) or reduce < 0:
        raise InvalidArgumentError(
            f"reduce= must be a non-negative int (0: full size, k: 1/2**k of each side), got {reduce!r}"
        )
    return int(reduce)


def decode(data: bytes, *, max_samples: int = _container.MAX_SAMPLES, reduce: int = 0,
           codec: Codec | None = None) -> np.ndarray:
    """Decode a wavecodec stream to an image of the original shape and dtype.

    For an embedded codec any prefix of a stream that still holds the whole header
    decodes, to the best image its bytes allow.  Corrupt input raises
    :class:`wavecodec.WavecodecError` (never another exception).

    ``max_samples`` (a positive int, default ``MAX_SAMPLES`` = 3 * 2**24 = 50331648,
    a 4096x4096 RGB image) bounds ``height * width * channels``: a header that asks
    for more raises :class:`wavecodec.errors.ImageTooLargeError` (a
    :class:`CorruptStreamError`) before anything is allocated.  Pass a larger value
    to decode a bigger trusted image; see docs/api.md for the memory per sample.
    The guard applies to the declared size even with ``reduce``: the decoder
    still parses (and allocates for) every coefficient of the stream.

    ``reduce=k`` (an int >= 0) returns the image at ``1/2**k`` of each side,
    ``(ceil(H/2**k), ceil(W/2**k))`` (OpenJPEG's and glymur's ``reduce``).  The
    wavelet codecs (``get_codec(name).native_reduce``) do it natively: only the
    coarsest ``levels - k`` inverse levels run, on the bands they need, and the
    colour transform runs at the reduced size (``k`` beyond the stream's levels:
    the coarsest image is then averaged over ``2**(k - levels)`` blocks).  Other
    codecs decode in full and average ``2**k x 2**k`` blocks.  Prefixes of
    embedded streams reduce too.

    ``codec`` (optional) is the codec object to decode with, for streams whose decoder
    needs state bound outside the stream (``wavecodec.get_codec("vq-dct", codebook=cb)``);
    it must be the codec that wrote the stream.  ``codec.decode(data)`` is the same.
    """
    reduce = _check_reduce(reduce)
    header, payload, codec = _parse(data, max_samples, codec=codec)
    if header.embedded != codec.capabilities.embedded:
        raise CorruptStreamError(
            f"stream flags it as {'embedded' if header.embedded else 'not embedded'}, but codec {codec.name!r} is"
            f" {'embedded' if codec.capabilities.embedded else 'not embedded'}"
        )
    if len(payload) < header.payload_length and not codec.capabilities.embedded:
        raise TruncatedStreamError(
            f"stream truncated: {len(payload)} of {header.payload_length} payload bytes present, and codec"
            f" {header.codec!r} is not embedded"
        )
    try:
        with _progress.operation("decode"):
            img = codec.decode_reduced(header, payload, reduce)
    except WavecodecError:
        raise
    except (ValueError, IndexError, OverflowError, MemoryError, ZeroDivisionError, KeyError) as exc:
        if _progress.raised_by_callback(exc):  # a wavecodec.progress callback's own error, not the stream's
            raise
        raise CorruptStreamError(f"corrupt {header.codec} payload: {exc}") from exc
    if reduce:
        return img.reshape(img.shape[:2] + header.shape[2:])
    return img.reshape(header.shape)


@dataclass(frozen=True)
class StreamInfo:
    """What :func:`info` reports about a stream."""

    codec: str
    shape: tuple[int, ...]
    dtype: str
    bit_depth: int
    lossless: bool
    embedded: bool
    header_size: int
    payload_size: int
    payload_present: int
    params: dict = field(default_factory=dict)

    @property
    def transform(self) -> str | None:
        return self.params.get("transform")

    @property
    def levels(self) -> int | None:
        return self.params.get("levels")

    @property
    def truncated(self) -> bool:
        return self.payload_present < self.payload_size

    def bpp(self) -> float:
        return 8.0 * (self.header_size + self.payload_present) / (self.shape[0] * self.shape[1])

    def __str__(self) -> str:
        rows = [
            ("codec", self.codec),
            ("shape", self.shape),
            ("dtype", f"{self.dtype} ({self.bit_depth}-bit)"),
            ("lossless", self.lossless),
            ("embedded", self.embedded),
            ("header", f"{self.header_size} bytes"),
            ("payload", f"{self.payload_present} of {self.payload_size} bytes" + (" (truncated)" if self.truncated else "")),
            ("rate", f"{self.bpp():.4f} bpp"),
        ] + list(self.params.items())
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        return "\n".join(lines)


def info(data: bytes, *, max_samples: int = _container.MAX_SAMPLES) -> StreamInfo:
    """Describe a stream without decoding its payload (header only: nothing is allocated from it).

    ``max_samples`` is :func:`decode`'s limit, with the same default and the same
    :class:`wavecodec.errors.ImageTooLargeError`, so a stream that ``info`` describes
    is never refused for its size by ``decode`` with the same ``max_samples``.
    """
    header, payload, codec = _parse(data, max_samples, "info")
    return StreamInfo(
        codec=header.codec, shape=header.shape, dtype=header.dtype.name, bit_depth=header.bit_depth,
        lossless=header.lossless, embedded=header.embedded, header_size=header.header_length,
        payload_size=header.payload_length, payload_present=len(payload), params=codec.describe(header),
    )
