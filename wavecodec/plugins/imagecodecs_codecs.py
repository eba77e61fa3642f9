"""JPEG 2000 (OpenJPEG), JPEG XL (libjxl), AVIF (libavif/aom) and SPERR through imagecodecs.

* ``jpeg2000``: OpenJPEG's ``level`` is a PSNR target in dB (fixed-quality mode), not
  a rate, so a budget is met by bisection of ``level`` in [1, 100] keeping the
  highest-PSNR stream that fits (this is the rate matching of
  ``benchmarks/bench_core.py:openjpeg_find_level``, moved here).  9/7 irreversible
  wavelet (+ICT for colour); lossless: 5/3 reversible (+RCT).  J2K codestream.
* ``jpegxl``: bisection of log(Butteraugli ``distance``) (smaller = larger stream);
  lossless mode.
* ``avif``: bisection of the quality ``level`` 0..100.  imagecodecs' AVIF codes
  monochrome images only losslessly, so gray images are coded as R=G=B (flat chroma
  costs a few bytes) and decoded from the first channel.
* ``sperr``: SPERR has rate control (``mode="bpp"``) but may overshoot by a few
  bytes; the target is lowered until the stream fits (as in ``bench_core``), never
  below 8 bits for the whole image (SPERR codes a target under one bit losslessly,
  a stream hundreds of times larger).  SPERR codes one plane: colour images are
  coded as three YCbCr planes (ICT) with one shared point-wise error tolerance,
  bisected to the budget.  libSPERR does not check its input (a corrupt stream can
  crash the process), so the parameter block carries a CRC-32 of the payload, checked
  before SPERR sees it.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Mapping

import numpy as np

from .._container import Header, ParamReader, ParamWriter
from .._registry import Capabilities, EncodeTarget, ImageSpec, Option
from ..errors import CorruptStreamError, InvalidArgumentError
from ._base import ExternalCodec, RateUnreachableError, bisect_knob

__all__ = ["Jpeg2000Codec", "JpegXlCodec", "AvifCodec", "SperrCodec"]


def _positive_or_none(name: str, lo: float, hi: float):
    def check(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not lo <= value <= hi:
            raise InvalidArgumentError(f"{name} must be None (search the rate) or a number in {lo}..{hi}, got {value!r}")
        return float(value)

    return check


class Jpeg2000Codec(ExternalCodec):
    """JPEG 2000 Part 1 through OpenJPEG (imagecodecs)."""

    name = "jpeg2000"
    file_extensions = (".j2k", ".j2c", ".jpc")
    file_format = "JPEG 2000 codestream (J2K)"
    description = "JPEG 2000 (OpenJPEG via imagecodecs), PSNR level bisected to the rate; lossless 5/3"
    reference = "ITU-T T.800 | ISO/IEC 15444-1; OpenJPEG"
    module = "imagecodecs"
    feature = "JPEG2K"
    extra = "standard"
    capabilities = Capabilities(embedded=False, lossless=True, colour=True, dtypes=("uint8", "uint16"), max_bit_depth=16)
    knob_name = "level"
    knob_range = (1.0, 100.0)
    knob_integer = False
    knob_default = 40.0
    bisection_iterations = 16  # 99 dB / 2**16: far finer than the size steps
    score_streams = True  # size is not strictly monotone in the PSNR target: keep the best fitting stream
    options = (
        Option("level", None, "OpenJPEG PSNR target in dB (1..100); None = bisected to the rate (40 without a rate);"
               " 0 in a stream: every layer (where OpenJPEG missed the target on flat content)",
               check=_positive_or_none("level", 1.0, 100.0)),
    )

    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                     options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        # OpenJPEG must know the sample precision: its PSNR target is relative to it (12-bit data
        # coded as 16-bit came out near 11 dB at the default level of 40 dB)
        options = {**options, "_bits": image.bit_depth}
        params, payload = super().encode_image(image, target, lossless=lossless, options=options)
        if lossless:
            return params, payload
        # OpenJPEG's PSNR-target layer allocation misjudges flat content and can drop the DC
        # (a black 9x14 image decoded as mid-grey at every level): every layer (level 0) is
        # tried too, and kept if it fits and is better, when the level was bisected to a
        # budget or the stream misses its PSNR target by more than 3 dB
        pixels = image.pixels[:, :, 0] if image.channels == 1 else image.pixels
        score = self._psnr_score(pixels, image, target)  # -MSE
        (level,) = struct.unpack("<f", params[:4])
        top = float((1 << image.bit_depth) - 1)
        mse = -score(payload)
        bisected = options.get("level") is None and target.max_bytes is not None
        if mse > 0 and (bisected or 10.0 * np.log10(top * top / mse) < level - 3.0):
            dense = self._encode(pixels, 0.0, False, options)
            budget = target.payload_budget(params)
            if (budget is None or len(dense) <= budget) and score(dense) > -mse:
                return self._params(0.0), dense
        return params, payload

    def encode_knob(self, pixels: np.ndarray, knob: float, *, lossless: bool, options: Mapping[str, Any]) -> bytes:
        ic = self.lib()
        bits = options.get("_bits")
        if lossless:
            return ic.jpeg2k_encode(pixels, codecformat="J2K", reversible=True, numthreads=1, bitspersample=bits)
        return ic.jpeg2k_encode(pixels, level=float(knob), codecformat="J2K", reversible=False, numthreads=1,
                                bitspersample=bits)

    def decode_payload(self, payload: bytes, header: Header, knob: float) -> np.ndarray:
        # check the SIZ marker segment (T.800 A.5.1) against the container before OpenJPEG allocates
        if len(payload) < 24 or payload[:4] != b"\xff\x4f\xff\x51":
            raise CorruptStreamError(f"{self.name} payload does not start with a J2K SOC + SIZ marker")
        xsiz, ysiz, xosiz, yosiz = struct.unpack(">IIII", payload[8:24])
        if (xsiz - xosiz, ysiz - yosiz) != (header.width, header.height):
            raise CorruptStreamError(f"{self.name} codestream is {xsiz - xosiz}x{ysiz - yosiz}, the header says"
                                     f" {header.width}x{header.height}")
        return self.lib().jpeg2k_decode(payload, numthreads=1)


class JpegXlCodec(ExternalCodec):
    """JPEG XL through libjxl (imagecodecs)."""

    name = "jpegxl"
    file_extensions = (".jxl",)
    file_format = "JPEG XL"
    description = "JPEG XL (libjxl via imagecodecs), distance bisected to the rate; lossless mode"
    reference = "ISO/IEC 18181; libjxl"
    module = "imagecodecs"
    feature = "JPEGXL"
    extra = "standard"
    capabilities = Capabilities(embedded=False, lossless=True, colour=True, dtypes=("uint8", "uint16"), max_bit_depth=16)
    knob_name = "distance"
    knob_range = (0.05, 25.0)
    knob_integer = False
    knob_increasing = False
    knob_log = True
    knob_default = 1.0
    bisection_iterations = 10  # in log(distance): 0.6 % steps
    options = (
        Option("distance", None, "Butteraugli distance 0.05..25 (1 = visually lossless); None = bisected to the rate",
               check=_positive_or_none("distance", 0.05, 25.0)),
        Option("effort", 7, "libjxl effort 1 (fast) .. 9 (slow)", choices=tuple(range(1, 10))),
    )

    def encode_knob(self, pixels: np.ndarray, knob: float, *, lossless: bool, options: Mapping[str, Any]) -> bytes:
        ic = self.lib()
        if lossless:
            return ic.jpegxl_encode(pixels, lossless=True, effort=options["effort"], numthreads=1)
        return ic.jpegxl_encode(pixels, distance=float(knob), effort=options["effort"], numthreads=1)

    def decode_payload(self, payload: bytes, header: Header, knob: float) -> np.ndarray:
        return self.lib().jpegxl_decode(payload, numthreads=1)


class AvifCodec(ExternalCodec):
    """AVIF (AV1 intra) through libavif (imagecodecs)."""

    name = "avif"
    file_extensions = (".avif",)
    file_format = "AVIF"
    description = "AVIF (libavif via imagecodecs), quality bisected to the rate"
    reference = "AOMedia AV1 Image File Format 1.1; libavif"
    module = "imagecodecs"
    feature = "AVIF"
    extra = "standard"
    capabilities = Capabilities(embedded=False, lossless=False, colour=True, dtypes=("uint8",), max_bit_depth=8)
    knob_name = "quality"
    knob_range = (0, 100)
    knob_default = 60
    options = (
        Option("quality", None, "AVIF quality 0..100; None = largest quality that fits the rate (60 without a rate)",
               check=_positive_or_none("quality", 0, 100)),
        Option("speed", 6, "libavif/aom speed 0 (slowest, best) .. 10 (fastest)", choices=tuple(range(0, 11))),
    )

    def encode_knob(self, pixels: np.ndarray, knob: float, *, lossless: bool, options: Mapping[str, Any]) -> bytes:
        if pixels.ndim == 2:  # monochrome AVIF is lossless-only in imagecodecs: code R=G=B
            pixels = np.repeat(pixels[:, :, None], 3, axis=2)
        return self.lib().avif_encode(pixels, level=int(knob), speed=options["speed"], numthreads=1)

    def decode_payload(self, payload: bytes, header: Header, knob: float) -> np.ndarray:
        out = self.lib().avif_decode(payload, numthreads=1)
        if header.channels == 1 and out.ndim == 3:
            out = out[:, :, 0]
        return out


class SperrCodec(ExternalCodec):
    """SPERR (Li, Lindstrom, Clyne, IPDPS 2023) through imagecodecs."""

    name = "sperr"
    description = "SPERR (via imagecodecs): CDF 9/7 + SPECK + outlier coding; fixed-rate mode"
    reference = "S. Li, P. Lindstrom, J. Clyne, 'Lossy scientific data compression with SPERR', IPDPS 2023"
    module = "imagecodecs"
    feature = "SPERR"
    extra = "standard"
    capabilities = Capabilities(embedded=False, lossless=False, colour=True, dtypes=("uint8", "uint16"), max_bit_depth=16)
    knob_name = "rate"
    options = (
        Option("rate", None, "gray: SPERR bpp target; colour: point-wise error tolerance of the YCbCr planes;"
               " None = derived from the requested rate", check=_positive_or_none("rate", 1e-6, 1e6)),
    )

    # Parameter block: f32 knob, for colour the three plane lengths (i32 each), then the
    # CRC-32 of the payload (as an i32): libSPERR trusts its input, so the payload is
    # checked before it is decoded.
    def _params_for(self, knob: float, lengths: tuple[int, ...], payload: bytes = b"") -> bytes:
        w = ParamWriter().f32(knob)
        for n in lengths:
            w.i32(n)
        crc = zlib.crc32(payload) & 0xFFFFFFFF
        w.i32(crc - (1 << 32) if crc >= 1 << 31 else crc)
        return w.bytes()

    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool, options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        ic = self.lib()
        knob = options.get("rate")
        if image.channels == 1:
            data = image.pixels[:, :, 0].astype(np.float64)
            params_len = len(self._params_for(0.0, ()))
            budget = target.payload_budget(b"\0" * params_len)
            if budget is None and knob is None:
                knob = 2.0
            if knob is not None:
                payload = bytes(ic.sperr_encode(data, float(knob), mode="bpp", numthreads=1))
                if budget is not None and len(payload) > budget:
                    raise RateUnreachableError(self.name, target.max_bytes, target.stream_length(params_len, len(payload)),
                                               image.height, image.width)
                return self._params_for(float(knob), (), payload), payload
            # SPERR codes a target below one bit for the whole image losslessly (a stream
            # hundreds of times larger): never aim below 8 bits, SPERR's smallest stream
            floor = 8.0 / (image.height * image.width)
            bpp = max(8.0 * budget / (image.height * image.width), floor)
            for _ in range(8):
                payload = bytes(ic.sperr_encode(data, bpp, mode="bpp", numthreads=1))
                if len(payload) <= budget:
                    return self._params_for(bpp, (), payload), payload
                if bpp == floor:
                    break
                bpp = max(bpp * (budget / len(payload)) * 0.999, floor)
            if bpp != floor:
                bpp = floor
                payload = bytes(ic.sperr_encode(data, bpp, mode="bpp", numthreads=1))
                if len(payload) <= budget:
                    return self._params_for(bpp, (), payload), payload
            raise RateUnreachableError(self.name, target.max_bytes, target.stream_length(params_len, len(payload)),
                                       image.height, image.width)
        # colour: three ICT planes, one shared point-wise error tolerance
        from ..transform import ict_forward

        planes = ict_forward(image.pixels.astype(np.float64))
        planes = [np.ascontiguousarray(planes[k]) for k in range(3)]
        top = float((1 << image.bit_depth) - 1)

        def encode_tol(tol: float) -> tuple[bytes, tuple[int, ...]]:
            parts = [bytes(ic.sperr_encode(p, float(tol), mode="pwe", numthreads=1)) for p in planes]
            return b"".join(parts), tuple(len(p) for p in parts)

        params_len = len(self._params_for(0.0, (0, 0, 0)))
        budget = target.payload_budget(b"\0" * params_len)
        if knob is not None or budget is None:
            tol = float(knob if knob is not None else 1.0)
            payload, lengths = encode_tol(tol)
            if budget is not None and len(payload) > budget:
                raise RateUnreachableError(self.name, target.max_bytes, target.stream_length(params_len, len(payload)),
                                           image.height, image.width)
            return self._params_for(tol, lengths, payload), payload
        # tolerance range: 1e-3 (near lossless) .. the full sample range
        found = bisect_knob(lambda t: encode_tol(float(np.exp(t)))[0], budget, np.log(1e-3), np.log(top), integer=False,
                            increasing=False, iterations=16)
        if found is None:
            smallest = len(encode_tol(top)[0])
            raise RateUnreachableError(self.name, target.max_bytes, target.stream_length(params_len, smallest),
                                       image.height, image.width)
        payload, lengths = encode_tol(float(np.exp(found[0])))
        return self._params_for(float(np.exp(found[0])), lengths, payload), payload

    def _read(self, header: Header) -> tuple[float, tuple[int, ...], int]:
        r = ParamReader(header.params, self.name)
        knob = r.f32("rate")
        lengths = tuple(r.i32("plane length") for _ in range(3)) if header.channels == 3 else ()
        crc = r.i32("payload CRC") & 0xFFFFFFFF
        r.end()
        if any(n < 0 for n in lengths) or sum(lengths) != header.payload_length and header.channels == 3:
            raise CorruptStreamError(f"{self.name}: plane lengths {lengths} do not add up to the payload length")
        return knob, lengths, crc

    def _read_knob(self, header: Header) -> float:
        return self._read(header)[0]

    def decode_payload(self, payload: bytes, header: Header, knob: float) -> np.ndarray:
        ic = self.lib()
        _, lengths, crc = self._read(header)
        if len(payload) != header.payload_length or zlib.crc32(payload) & 0xFFFFFFFF != crc:
            raise CorruptStreamError(f"{self.name}: payload CRC mismatch: the payload is corrupt")
        if header.channels == 1:
            return ic.sperr_decode(payload, numthreads=1)
        from ..transform import ict_inverse

        planes, pos = [], 0
        for n in lengths:
            p = np.asarray(ic.sperr_decode(payload[pos : pos + n], numthreads=1), dtype=np.float64)
            if p.shape != (header.height, header.width):
                raise CorruptStreamError(f"{self.name}: a plane decodes to {p.shape}")
            planes.append(p)
            pos += n
        return ict_inverse(np.stack(planes, axis=0))
