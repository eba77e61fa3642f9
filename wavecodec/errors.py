"""Exception hierarchy of wavecodec.

Every error raised on purpose by the library derives from :class:`WavecodecError`,
so ``except wavecodec.WavecodecError`` catches bad arguments, corrupt streams and
unsupported features alike.  Argument errors also derive from :class:`ValueError`
(or :class:`TypeError`) so that generic callers keep working.
"""

from __future__ import annotations

__all__ = [
    "WavecodecError",
    "InvalidArgumentError",
    "RateUnreachableError",
    "UnsupportedImageError",
    "UnknownCodecError",
    "CorruptStreamError",
    "TruncatedStreamError",
    "MissingDependencyError",
]


class WavecodecError(Exception):
    """Base class of every error raised by wavecodec."""


class InvalidArgumentError(WavecodecError, ValueError):
    """A parameter has a wrong value; the message names the parameter and the valid choices."""


class RateUnreachableError(InvalidArgumentError):
    """The codec cannot make a stream as small as the rate budget.

    ``budget`` is the budget asked for, in bytes; ``smallest`` (when known) the size the
    codec needs at least: a stream of that many bytes can be made, or the error it
    raises names a larger size (the container header alone is a lower bound).
    """

    def __init__(self, message: str, *, budget: int | None = None, smallest: int | None = None):
        super().__init__(message)
        self.budget = budget
        self.smallest = smallest


class UnsupportedImageError(WavecodecError, TypeError):
    """The image has a shape, dtype or channel count that the codec cannot code."""


class UnknownCodecError(InvalidArgumentError, KeyError):
    """No codec is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class CorruptStreamError(WavecodecError):
    """The byte string is not a valid wavecodec stream (bad magic, CRC, field value, ...).

    ``offset`` is the byte offset at which the problem was detected, when known.
    """

    def __init__(self, message: str, offset: int | None = None):
        if offset is not None:
            message = f"{message} (at byte {offset})"
        super().__init__(message)
        self.offset = offset


class TruncatedStreamError(CorruptStreamError):
    """The stream ends early and the codec is not embedded, so it cannot decode a prefix."""


class MissingDependencyError(WavecodecError, ImportError):
    """An optional dependency is needed; the message names the pip extra that installs it."""
