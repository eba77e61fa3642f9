"""Option validators shared by the wavelet codecs (SPIHT, EZW, IMP1EZW)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import transform as T
from ..errors import InvalidArgumentError


def check_wavelet_option(value: Any) -> str:
    """'auto' (the codec picks cdf97 or legall53) or a wavelet name accepted by :mod:`wavecodec.transform`."""
    if value == "auto":
        return value
    return T.check_wavelet(value)


def check_levels_option(value: Any) -> int | None:
    """None (levels from the image size) or an int; the range is checked against the image later."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"option levels must be an int or None, not {value!r}")
    return int(value)
