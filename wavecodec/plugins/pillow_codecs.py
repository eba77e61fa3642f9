"""JPEG and WebP through Pillow (the reference libjpeg-turbo / libwebp builds that Pillow ships).

Neither format has rate control: a byte budget is met by bisection over the integer
``quality`` (see :func:`wavecodec.plugins._base.bisect_knob`).  Streams are plain
JPEG / WebP files, stored as the wavecodec payload.
"""

from __future__ import annotations

import io
import warnings
from typing import Any, Mapping

import numpy as np

from .._container import Header
from .._registry import Capabilities, Option
from ..errors import CorruptStreamError, UnsupportedImageError
from ._base import ExternalCodec

__all__ = ["JpegCodec", "WebpCodec"]


def _check_quality(value: Any) -> Any:
    from ..errors import InvalidArgumentError

    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 100:
        raise InvalidArgumentError(f"quality must be None (search the rate) or an int in 0..100, got {value!r}")
    return int(value)


class _PillowCodec(ExternalCodec):
    module = "PIL.Image"
    extra = "standard"
    pil_format = ""
    capabilities = Capabilities(embedded=False, lossless=False, colour=True, dtypes=("uint8",), max_bit_depth=8)

    def _save(self, pixels: np.ndarray, **kwargs: Any) -> bytes:
        Image = self.lib()
        try:
            im = Image.fromarray(np.ascontiguousarray(pixels))
            buf = io.BytesIO()
            im.save(buf, format=self.pil_format, **kwargs)
        except (OSError, ValueError) as exc:
            raise UnsupportedImageError(f"{self.name}: Pillow cannot encode this image: {exc}") from exc
        return buf.getvalue()

    def decode_payload(self, payload: bytes, header: Header, knob: float) -> np.ndarray:
        Image = self.lib()
        with warnings.catch_warnings():
            # the size is checked against the (bounded) container header right below: a corrupt
            # payload claiming a huge image is refused there, without Pillow's bomb warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(payload), formats=[self.pil_format])
        with im:
            if im.size != (header.width, header.height):  # before any pixel is allocated
                raise CorruptStreamError(f"{self.name} payload is {im.size[0]}x{im.size[1]}, the header says"
                                         f" {header.width}x{header.height}")
            im.load()
            return np.asarray(im.convert("L" if header.channels == 1 else "RGB"))


class JpegCodec(_PillowCodec):
    """Baseline JPEG (ITU-T T.81) through Pillow / libjpeg-turbo."""

    name = "jpeg"
    description = "JPEG (Pillow/libjpeg-turbo), quality bisected to the rate"
    reference = "ITU-T T.81 | ISO/IEC 10918-1 (1992); Pillow"
    pil_format = "JPEG"
    file_extensions = (".jpg", ".jpeg")
    file_format = "JPEG (JFIF)"
    knob_range = (1, 95)
    knob_default = 75
    options = (
        Option("quality", None, "JPEG quality 1..95; None = largest quality that fits the rate (75 without a rate)",
               check=_check_quality),
        Option("subsampling", "4:2:0", "chroma subsampling of colour images", choices=("4:2:0", "4:2:2", "4:4:4")),
        Option("optimize", True, "optimised Huffman tables", choices=(True, False)),
    )

    def encode_knob(self, pixels: np.ndarray, knob: float, *, lossless: bool, options: Mapping[str, Any]) -> bytes:
        return self._save(pixels, quality=int(knob), subsampling=options["subsampling"], optimize=options["optimize"])


class WebpCodec(_PillowCodec):
    """WebP (VP8 intra frame; VP8L when lossless) through Pillow / libwebp."""

    name = "webp"
    description = "WebP (Pillow/libwebp), quality bisected to the rate; lossless mode"
    reference = "Google WebP (RFC 9649); Pillow"
    pil_format = "WEBP"
    file_extensions = (".webp",)
    file_format = "WebP"
    capabilities = Capabilities(embedded=False, lossless=True, colour=True, dtypes=("uint8",), max_bit_depth=8)
    knob_range = (0, 100)
    knob_default = 75
    options = (
        Option("quality", None, "WebP quality 0..100; None = largest quality that fits the rate (75 without a rate)",
               check=_check_quality),
        Option("method", 4, "libwebp effort 0 (fast) .. 6 (slowest, best)", choices=(0, 1, 2, 3, 4, 5, 6)),
    )

    def encode_knob(self, pixels: np.ndarray, knob: float, *, lossless: bool, options: Mapping[str, Any]) -> bytes:
        if pixels.ndim == 2:  # WebP has no gray format: code R=G=B (chroma planes are flat)
            pixels = np.repeat(pixels[:, :, None], 3, axis=2)
        if lossless:
            return self._save(pixels, lossless=True, quality=100, method=options["method"], exact=True)
        return self._save(pixels, quality=int(knob), method=options["method"])
