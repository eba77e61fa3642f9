"""numcodecs codecs that code each chunk as one wavecodec stream."""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import numpy as np
from numcodecs.abc import Codec as _NumcodecsCodec
from numcodecs.compat import ensure_bytes, ensure_ndarray_like

from .. import _api
from .._registry import get_codec
from ..errors import InvalidArgumentError, TruncatedStreamError, UnsupportedImageError

__all__ = ["WavecodecNumcodec", "Spiht", "Ezw", "Imp1ezw", "CannySpiht", "VqDct", "CODECS", "register_codecs"]

# keys of a config that are not codec options
_RATE_KEYS = ("lossless", "bpp", "max_bytes", "bit_depth")


def _json_value(name: str, value: Any) -> Any:
    """``value`` as it will read back from a JSON config (numpy scalars become Python numbers)."""
    if isinstance(value, np.generic):
        value = value.item()
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"option {name}={value!r} cannot be stored in a numcodecs/Zarr config (JSON numbers, strings,"
            " booleans and null only)"
        ) from None


class WavecodecNumcodec(_NumcodecsCodec):
    """A numcodecs codec that codes each chunk (an image) as one wavecodec stream.

    Parameters
    ----------
    lossless : bool
        Use the codec's reversible path: every chunk decodes bit-exactly.
    bpp, max_bytes : float or int, optional
        Rate of every chunk, as bits per pixel of the (full, padded) chunk or as a byte budget
        per chunk; never both.  Each stored chunk (header included) fits it.
    bit_depth : int, optional
        Significant bits per sample, as in :func:`wavecodec.encode`.
    **options
        Options of the wavecodec codec (``variant``, ``levels``, ``wavelet``, ...); see
        ``wavecodec.get_codec(name).options``.

    A chunk is ``(H, W)`` gray or ``(H, W, 3)`` colour (``(H, W, 1)`` also works), uint8 or
    uint16.  The stream stores the chunk's shape and dtype, so :meth:`decode` returns the
    array even from a flat buffer.  Every argument is checked here, at construction: a bad one
    raises :class:`wavecodec.InvalidArgumentError` (a ``ValueError``).
    """

    codec_id: ClassVar[str] = ""
    #: the wavecodec codec name
    codec_name: ClassVar[str] = ""

    def __init__(self, *, lossless: bool = False, bpp: float | None = None, max_bytes: int | None = None,
                 bit_depth: int | None = None, **options: Any):
        codec = get_codec(self.codec_name)
        if not isinstance(lossless, (bool, np.bool_)):
            raise InvalidArgumentError(f"{self.codec_id}: lossless must be True or False, got {lossless!r}")
        if lossless and not codec.capabilities.lossless:
            raise InvalidArgumentError(f"{self.codec_id}: codec {codec.name!r} has no lossless mode")
        if bpp is not None and max_bytes is not None:
            raise InvalidArgumentError(f"{self.codec_id}: give the rate as bpp or as max_bytes, not both")
        if bpp is not None and (isinstance(bpp, (bool, np.bool_)) or not isinstance(bpp, (int, float, np.integer, np.floating))
                                or not math.isfinite(bpp) or bpp <= 0):
            raise InvalidArgumentError(f"{self.codec_id}: bpp must be a positive finite number, got {bpp!r}")
        if max_bytes is not None and (isinstance(max_bytes, (bool, np.bool_)) or not isinstance(max_bytes, (int, np.integer))
                                      or max_bytes <= 0):
            raise InvalidArgumentError(f"{self.codec_id}: max_bytes must be a positive int, got {max_bytes!r}")
        if bit_depth is not None and (isinstance(bit_depth, (bool, np.bool_)) or not isinstance(bit_depth, (int, np.integer))
                                      or not 1 <= bit_depth <= codec.capabilities.max_bit_depth):
            raise InvalidArgumentError(
                f"{self.codec_id}: bit_depth must be an int in 1..{codec.capabilities.max_bit_depth}, got {bit_depth!r}")
        if "codebook" in options and options["codebook"] is not None:
            # a shared vq-dct codebook is state of the process (and not in the stream): a chunk store
            # read elsewhere could not decode, so it is refused here
            raise InvalidArgumentError(f"{self.codec_id}: a shared codebook cannot be used for chunked storage")
        given = {name: _json_value(name, value) for name, value in options.items()}
        codec.resolve_options(given)  # unknown names and bad values raise InvalidArgumentError
        self.lossless = bool(lossless)
        self.bpp = None if bpp is None else float(bpp)
        self.max_bytes = None if max_bytes is None else int(max_bytes)
        self.bit_depth = None if bit_depth is None else int(bit_depth)
        self._options = given

    @property
    def options(self) -> dict[str, Any]:
        """The codec options given (defaults left out)."""
        return dict(self._options)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"id": self.codec_id, "lossless": self.lossless}
        for key in ("bpp", "max_bytes", "bit_depth"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        config.update(self._options)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WavecodecNumcodec:
        config = dict(config)
        codec_id = config.pop("id", cls.codec_id)
        if codec_id != cls.codec_id:
            raise InvalidArgumentError(f"config id {codec_id!r} is not {cls.codec_id!r}")
        return cls(**config)

    def __repr__(self) -> str:
        config = self.get_config()
        del config["id"]
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in config.items())})"

    # ------------------------------------------------------------------ coding

    def encode(self, buf: Any) -> bytes:
        """Code one chunk: a 2-D array (gray) or a 3-D array with 1 or 3 channels on the last axis."""
        arr = np.asarray(ensure_ndarray_like(buf))
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3)):
            hint = (" (a flat buffer: the chunk's shape was lost; use this codec as a zarr_format=2 array's"
                    " compressor with no shape-changing filter before it, or wavecodec.storage.zarr3 as a"
                    " zarr_format=3 array's serializer)") if arr.ndim == 1 else ""
            raise UnsupportedImageError(
                f"{self.codec_id}: a chunk must be (H, W) gray or (H, W, 3) colour, got shape {arr.shape}{hint}")
        if arr.dtype.kind != "u" or arr.dtype.itemsize not in (1, 2):
            raise UnsupportedImageError(f"{self.codec_id}: chunk dtype {arr.dtype} is not supported; use uint8 or uint16")
        if arr.flags.f_contiguous and not arr.flags.c_contiguous:
            # zarr_format=2 arrays with order="F" hand over Fortran-ordered chunks and read the decoded
            # chunk back as Fortran-ordered bytes; decode returns C order, so such arrays are refused
            raise UnsupportedImageError(
                f"{self.codec_id}: the chunk is in Fortran (column-major) order, as zarr_format=2 arrays with"
                " order='F' pass it; decoded chunks are in C order: use order='C' (the default) or pass"
                " np.ascontiguousarray(chunk)")
        return _api.encode(np.ascontiguousarray(arr), self.codec_name, bpp=self.bpp, max_bytes=self.max_bytes,
                           lossless=self.lossless, bit_depth=self.bit_depth, **self._options)

    def decode(self, buf: Any, out: Any = None) -> np.ndarray:
        """Decode one chunk to its array (shape and dtype come from the stream); fill ``out`` when given.

        Any wavecodec stream decodes (the container names its codec).  Bytes that are not a valid
        stream raise :class:`wavecodec.CorruptStreamError`; a stream shorter than its header says
        raises :class:`wavecodec.TruncatedStreamError` even for an embedded codec (whose prefixes
        :func:`wavecodec.decode` accepts): a stored chunk is always written whole, so a short one
        is damage, not a lower rate.
        """
        data = ensure_bytes(buf)
        stream = _api.info(data)
        if stream.truncated:
            raise TruncatedStreamError(
                f"{self.codec_id}: chunk truncated: {stream.payload_present} of {stream.payload_size} payload bytes")
        img = _api.decode(data)
        if out is None:
            return img
        dst = np.asarray(ensure_ndarray_like(out))
        if dst.nbytes != img.nbytes or (dst.dtype != img.dtype and dst.dtype != np.uint8):
            raise InvalidArgumentError(
                f"{self.codec_id}: out ({dst.dtype}, {dst.nbytes} bytes) does not fit the decoded chunk"
                f" ({img.dtype}, shape {img.shape})")
        flat = dst.reshape(-1, order="A")  # a view: out is contiguous, as numcodecs requires
        flat[...] = img.reshape(-1).view(flat.dtype)
        return dst


class Spiht(WavecodecNumcodec):
    """SPIHT chunks (``codec_id`` ``wavecodec_spiht``); see :class:`WavecodecNumcodec`."""

    codec_id = "wavecodec_spiht"
    codec_name = "spiht"


class Ezw(WavecodecNumcodec):
    """EZW chunks (``codec_id`` ``wavecodec_ezw``); see :class:`WavecodecNumcodec`."""

    codec_id = "wavecodec_ezw"
    codec_name = "ezw"


class Imp1ezw(WavecodecNumcodec):
    """IMP1EZW chunks (``codec_id`` ``wavecodec_imp1ezw``); see :class:`WavecodecNumcodec`."""

    codec_id = "wavecodec_imp1ezw"
    codec_name = "imp1ezw"


class CannySpiht(WavecodecNumcodec):
    """Canny-guided SPIHT chunks (``codec_id`` ``wavecodec_canny_spiht``); see :class:`WavecodecNumcodec`."""

    codec_id = "wavecodec_canny_spiht"
    codec_name = "canny-spiht"


class VqDct(WavecodecNumcodec):
    """VQ-DCT chunks (``codec_id`` ``wavecodec_vq_dct``, lossy only); see :class:`WavecodecNumcodec`."""

    codec_id = "wavecodec_vq_dct"
    codec_name = "vq-dct"


#: codec_id -> numcodecs class
CODECS: dict[str, type[WavecodecNumcodec]] = {c.codec_id: c for c in (Spiht, Ezw, Imp1ezw, CannySpiht, VqDct)}


def register_codecs() -> None:
    """Register the codecs with numcodecs (and with Zarr's v3 codec registry when zarr is installed).

    Installed packages do this through entry points; call it where they are missing (a source tree
    on ``sys.path``, a frozen application).  Calling it again does nothing new.
    """
    from numcodecs.registry import register_codec

    for codec_id, cls in CODECS.items():
        register_codec(cls, codec_id=codec_id)
    try:
        import zarr  # noqa: F401
    except ImportError:
        return
    from . import zarr3

    zarr3.register_codecs()
