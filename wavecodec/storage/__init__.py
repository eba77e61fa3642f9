"""Chunked storage: wavecodec codecs for numcodecs and Zarr (``pip install "wavecodec[zarr]"``).

Each built-in codec has a :class:`numcodecs.abc.Codec` here whose ``codec_id`` is
``wavecodec_<name>`` (``-`` becomes ``_``):

=================  =====================  ==================
class              codec_id               wavecodec codec
=================  =====================  ==================
:class:`Spiht`     ``wavecodec_spiht``    ``spiht``
:class:`Ezw`       ``wavecodec_ezw``      ``ezw``
:class:`Imp1ezw`   ``wavecodec_imp1ezw``  ``imp1ezw``
:class:`CannySpiht` ``wavecodec_canny_spiht`` ``canny-spiht``
:class:`VqDct`     ``wavecodec_vq_dct``   ``vq-dct``
=================  =====================  ==================

A Zarr array whose chunks are images uses them like this (see docs/zarr.md):

* ``zarr_format=2``: the numcodecs codec is the array's compressor,
  ``zarr.create_array(..., zarr_format=2, compressors=Spiht(lossless=True))``;
* ``zarr_format=3``: the Zarr v3 codec of the same name in :mod:`wavecodec.storage.zarr3`
  is the array's serializer (array -> bytes),
  ``zarr.create_array(..., serializer=zarr3.Spiht(lossless=True), compressors=None)``.

Both are registered through entry points (``numcodecs.codecs`` and ``zarr.codecs``), so an
array written by one process opens in another without any import;
:func:`register_codecs` does the same by hand where entry points are not installed.
"""

from __future__ import annotations

from ..errors import MissingDependencyError

try:
    import numcodecs as _numcodecs  # noqa: F401
except ImportError as exc:  # pragma: no cover - the zarr extra installs it
    raise MissingDependencyError(
        "wavecodec.storage needs numcodecs: pip install 'wavecodec[zarr]'"
    ) from exc

from ._numcodecs import CODECS, CannySpiht, Ezw, Imp1ezw, Spiht, VqDct, WavecodecNumcodec, register_codecs

__all__ = [
    "WavecodecNumcodec",
    "Spiht",
    "Ezw",
    "Imp1ezw",
    "CannySpiht",
    "VqDct",
    "CODECS",
    "register_codecs",
]
