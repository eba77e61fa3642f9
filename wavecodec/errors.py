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
    "ImageTooLargeError",
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


class ImageTooLargeError(CorruptStreamError):
    """The stream declares an image of more samples than the caller allows (decompression-bomb guard).

    Raised from the header alone, before anything is allocated.  ``shape`` is
    ``(height, width, channels)`` as declared, ``samples`` their product and ``limit``
    the ``max_samples`` in force; the message names all three and how to raise the
    limit (``hint``).  The stream itself may be valid: if it is trusted, decode it
    with ``max_samples`` of at least ``samples``.  A :class:`CorruptStreamError`
    subclass, so handlers written before this class existed still catch it.
    """

    def __init__(self, shape: tuple[int, int, int], limit: int, offset: int | None = None, *,
                 hint: str | None = None):
        self.shape = tuple(int(v) for v in shape)
        self.samples = self.shape[0] * self.shape[1] * self.shape[2]
        self.limit = int(limit)
        if hint is None:
            hint = f"wavecodec.decode(data, max_samples={self.samples})"
        self.hint = hint
        h, w, c = self.shape
        super().__init__(
            f"stream declares a {h}x{w}x{c} image ({self.samples} samples), over the decoder limit of"
            f" {self.limit} samples; if the stream is trusted, raise the limit: {hint}",
            offset,
        )

    def with_hint(self, hint: str) -> "ImageTooLargeError":
        """The same error with another way to raise the limit in its message (e.g. a CLI flag)."""
        return type(self)(self.shape, self.limit, self.offset, hint=hint)

    def __reduce__(self):  # picklable (process pools), although __init__ does not take the message
        return _rebuild_image_too_large, (type(self), self.shape, self.limit, self.offset, self.hint)


def _rebuild_image_too_large(cls, shape, limit, offset, hint):
    return cls(shape, limit, offset, hint=hint)


class MissingDependencyError(WavecodecError, ImportError):
    """An optional dependency is needed; the message names the pip extra that installs it."""
