"""A toy third-party codec: drop the ``shift`` lowest bits of every sample, zlib the rest.

The rate is met by raising ``shift`` until the zlib stream fits the budget; ``shift = 0``
is lossless.  It uses only the public wavecodec API (Codec, Capabilities, Option,
EncodeTarget.payload_budget, errors), as any plug-in would.
"""

from __future__ import annotations

import zlib

import numpy as np

import wavecodec
from wavecodec import Capabilities, Codec, CorruptStreamError, InvalidArgumentError, Option


class ToyZlibCodec(Codec):
    name = "toy-zlib"
    description = "toy plug-in: low bits dropped, zlib"
    reference = "tests/plugin_pkg"
    capabilities = Capabilities(embedded=False, lossless=True, colour=True)
    options = (Option("level", 9, "zlib level", choices=tuple(range(10))),)

    def encode_image(self, image, target, *, lossless, options):
        pixels = image.pixels
        for shift in range(0, 1 if lossless else image.bit_depth + 1):
            params = bytes([shift])
            payload = zlib.compress((pixels >> shift).astype(pixels.dtype).tobytes(), options["level"])
            budget = target.payload_budget(params)
            if budget is None or len(payload) <= budget:
                return params, payload
        raise InvalidArgumentError(f"toy-zlib: rate unreachable ({target.max_bytes} bytes)")

    def decode_image(self, header, payload):
        if len(header.params) != 1 or header.params[0] > header.bit_depth:
            raise CorruptStreamError("toy-zlib: bad parameter block")
        shift = header.params[0]
        size = header.height * header.width * header.channels * header.dtype.itemsize
        d = zlib.decompressobj()
        try:
            raw = d.decompress(payload, size)  # bounded: never more than the image
        except zlib.error as exc:
            raise CorruptStreamError(f"toy-zlib: {exc}") from None
        if len(raw) != size:
            raise CorruptStreamError("toy-zlib: payload decodes to the wrong size")
        q = np.frombuffer(raw, dtype=header.dtype).reshape(header.height, header.width, header.channels)
        half = (1 << shift) >> 1
        out = (q.astype(np.int64) << shift) + half
        return np.clip(out, 0, (1 << header.bit_depth) - 1).astype(header.dtype)

    def describe(self, header):
        return {"shift": header.params[0] if header.params else None}


__all__ = ["ToyZlibCodec", "wavecodec"]
