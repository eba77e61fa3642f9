"""wavecodec: classical wavelet and vector-quantization image codecs behind one embedded-bitstream API.

>>> import numpy as np, wavecodec
>>> img = (np.arange(64 * 48) % 251).astype(np.uint8).reshape(48, 64)
>>> data = wavecodec.encode(img, "spiht", bpp=1.0)
>>> wavecodec.decode(data).shape
(48, 64)
"""

from ._api import StreamInfo, decode, encode, info
from ._progress import progress, progress_span, report_progress
from .coders.spiht_trace import spiht_trace
from .trace import trace
from ._registry import Capabilities, Codec, EncodeTarget, Option, codecs, get_codec, register
from .errors import (
    CorruptStreamError,
    ImageTooLargeError,
    InvalidArgumentError,
    MissingDependencyError,
    RateUnreachableError,
    TruncatedStreamError,
    UnknownCodecError,
    UnsupportedImageError,
    WavecodecError,
)

__version__ = "0.1.0"

__all__ = [
    "encode",
    "decode",
    "info",
    "progress",
    "report_progress",
    "progress_span",
    "spiht_trace",
    "trace",
    "codecs",
    "get_codec",
    "register",
    "Codec",
    "Capabilities",
    "Option",
    "EncodeTarget",
    "StreamInfo",
    "WavecodecError",
    "InvalidArgumentError",
    "UnsupportedImageError",
    "UnknownCodecError",
    "CorruptStreamError",
    "ImageTooLargeError",
    "TruncatedStreamError",
    "MissingDependencyError",
    "RateUnreachableError",
    "__version__",
]
