"""Zarr v3 codecs (array -> bytes) for zarr_format=3 arrays: each chunk is one wavecodec stream.

Zarr 3 does not accept a numcodecs codec in a zarr_format=3 array (its ``compressors`` must be
bytes -> bytes codecs, which get the chunk as flat bytes, its shape lost).  A wavecodec codec
needs the chunk as an image, so here each one is a Zarr ``ArrayBytesCodec``: the array's
*serializer*::

    zarr.create_array(store, shape=(H, W), chunks=(512, 512), dtype="uint8",
                      serializer=zarr3.Spiht(lossless=True), compressors=None)

(``compressors=None``: the stream is already entropy-coded; Zarr's default zstd would only add
time, and bytes past the ``bpp`` budget.)  The array metadata names the codec
``wavecodec_spiht`` etc. with the options of the numcodecs codec of the same name in
:mod:`wavecodec.storage` as its configuration; the ``zarr.codecs`` entry points (or
:func:`register_codecs`) let Zarr find the class when it opens the array.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import CorruptStreamError, InvalidArgumentError, MissingDependencyError, UnsupportedImageError

try:
    from zarr.abc.codec import ArrayBytesCodec
except ImportError as exc:  # pragma: no cover - the zarr extra installs it
    raise MissingDependencyError("wavecodec.storage.zarr3 needs zarr>=3: pip install 'wavecodec[zarr]'") from exc

from . import _numcodecs

if TYPE_CHECKING:
    from typing import Self

    from zarr.core.array_spec import ArraySpec
    from zarr.core.buffer import Buffer, NDBuffer

__all__ = ["WavecodecZarr3Codec", "Spiht", "Ezw", "Imp1ezw", "CannySpiht", "VqDct", "CODECS", "register_codecs"]


@dataclass(frozen=True)
class WavecodecZarr3Codec(ArrayBytesCodec):
    """Zarr v3 array -> bytes codec around the numcodecs codec ``numcodec_class``.

    Takes the same arguments as that codec (``lossless``, ``bpp``, ``max_bytes``, ``bit_depth``,
    codec options), checked at construction; :meth:`validate` checks the array's dtype and chunk
    shape when the array is created.
    """

    numcodec_class: ClassVar[type[_numcodecs.WavecodecNumcodec]]
    configuration: dict[str, Any]
    is_fixed_size = False

    def __init__(self, **configuration: Any) -> None:
        codec = self.numcodec_class(**configuration)
        config = codec.get_config()
        del config["id"]
        object.__setattr__(self, "configuration", config)
        object.__setattr__(self, "_codec", codec)

    @property
    def codec_name(self) -> str:
        return self.numcodec_class.codec_id

    @property
    def numcodec(self) -> _numcodecs.WavecodecNumcodec:
        """The numcodecs codec that codes the chunks."""
        return self._codec  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        name = data.get("name")
        if name != cls.numcodec_class.codec_id:
            raise InvalidArgumentError(f"codec name {name!r} is not {cls.numcodec_class.codec_id!r}")
        configuration = data.get("configuration") or {}
        if not isinstance(configuration, dict):
            raise InvalidArgumentError(f"{name}: configuration must be an object, got {configuration!r}")
        return cls(**configuration)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.codec_name, "configuration": dict(self.configuration)}

    def __repr__(self) -> str:
        return f"{type(self).__module__}.{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.configuration.items())})"

    def validate(self, *, shape: tuple[int, ...], dtype: Any, chunk_grid: Any) -> None:
        native = dtype.to_native_dtype()
        if native.kind != "u" or native.itemsize not in (1, 2):
            raise UnsupportedImageError(f"{self.codec_name}: array dtype {native} is not supported; use uint8 or uint16")
        chunk_shape = tuple(getattr(chunk_grid, "chunk_shape", shape))
        if len(chunk_shape) not in (2, 3) or (len(chunk_shape) == 3 and chunk_shape[2] not in (1, 3)):
            raise UnsupportedImageError(
                f"{self.codec_name}: chunks must be (H, W) gray or (H, W, 3) colour images, got chunk shape {chunk_shape}")

    def compute_encoded_size(self, input_byte_length: int, chunk_spec: ArraySpec) -> int:
        raise NotImplementedError

    def _encode_sync(self, chunk_array: NDBuffer, chunk_spec: ArraySpec) -> Buffer | None:
        data = self.numcodec.encode(np.ascontiguousarray(chunk_array.as_numpy_array()))
        return chunk_spec.prototype.buffer.from_bytes(data)

    def _decode_sync(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> NDBuffer:
        img = self.numcodec.decode(chunk_bytes.to_bytes())
        want = chunk_spec.dtype.to_native_dtype()
        if img.shape != tuple(chunk_spec.shape) or img.dtype != want:
            raise CorruptStreamError(
                f"{self.codec_name}: chunk decodes to {img.dtype} {img.shape}, the array has {want} chunks of"
                f" shape {tuple(chunk_spec.shape)}")
        return chunk_spec.prototype.nd_buffer.from_numpy_array(np.asarray(img, dtype=want))

    async def _encode_single(self, chunk_array: NDBuffer, chunk_spec: ArraySpec) -> Buffer | None:
        return await asyncio.to_thread(self._encode_sync, chunk_array, chunk_spec)

    async def _decode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> NDBuffer:
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)


class Spiht(WavecodecZarr3Codec):
    """SPIHT chunks (``wavecodec_spiht``)."""

    numcodec_class = _numcodecs.Spiht


class Ezw(WavecodecZarr3Codec):
    """EZW chunks (``wavecodec_ezw``)."""

    numcodec_class = _numcodecs.Ezw


class Imp1ezw(WavecodecZarr3Codec):
    """IMP1EZW chunks (``wavecodec_imp1ezw``)."""

    numcodec_class = _numcodecs.Imp1ezw


class CannySpiht(WavecodecZarr3Codec):
    """Canny-guided SPIHT chunks (``wavecodec_canny_spiht``)."""

    numcodec_class = _numcodecs.CannySpiht


class VqDct(WavecodecZarr3Codec):
    """VQ-DCT chunks (``wavecodec_vq_dct``, lossy only)."""

    numcodec_class = _numcodecs.VqDct


#: codec name in the Zarr metadata -> class
CODECS: dict[str, type[WavecodecZarr3Codec]] = {
    c.numcodec_class.codec_id: c for c in (Spiht, Ezw, Imp1ezw, CannySpiht, VqDct)
}


def register_codecs() -> None:
    """Register the classes in Zarr's codec registry (the ``zarr.codecs`` entry points do it when installed)."""
    from zarr.registry import register_codec

    for name, cls in CODECS.items():
        register_codec(name, cls)
