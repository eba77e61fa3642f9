"""Codec contract and registry.

Every codec, built in or plug-in, is a :class:`Codec` subclass registered with
:func:`register`.  The public :func:`wavecodec.encode` / :func:`wavecodec.decode`
validate images and rate arguments, build the container and call the codec's
:meth:`Codec.encode_image` / :meth:`Codec.decode_image`, so a codec only has to
turn pixels into a parameter block plus payload and back.
"""

from __future__ import annotations

import abc
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ._container import Header, check_codec_name, header_length
from .errors import InvalidArgumentError, MissingDependencyError, RateUnreachableError, UnknownCodecError

__all__ = ["Option", "Capabilities", "EncodeTarget", "Codec", "register", "get_codec", "codecs"]


@dataclass(frozen=True)
class Option:
    """A codec option: its default, allowed values and meaning.

    ``choices`` lists the valid values when they are few; otherwise ``check``
    validates and normalises a value (raising :class:`InvalidArgumentError`).
    ``aliases`` maps other accepted spellings to a choice (an older name).
    """

    name: str
    default: Any
    doc: str
    choices: tuple | None = None
    check: Callable[[Any], Any] | None = None
    aliases: Mapping[str, Any] = field(default_factory=dict)

    def validate(self, codec: str, value: Any) -> Any:
        if value is None and self.default is None:
            return None
        if isinstance(value, str) and value in self.aliases:
            value = self.aliases[value]
        if self.choices is not None and value not in self.choices:
            valid = ", ".join(repr(c) for c in self.choices)
            if self.aliases:
                valid += " (" + ", ".join(f"{a!r} for {c!r}" for a, c in self.aliases.items()) + ")"
            raise InvalidArgumentError(f"{codec}: option {self.name}={value!r} is not one of {valid}")
        if self.check is not None:
            return self.check(value)
        return value


@dataclass(frozen=True)
class Capabilities:
    """What a codec can do: embedded (any prefix decodes), lossless, colour, sample types."""

    embedded: bool
    lossless: bool
    colour: bool
    dtypes: tuple[str, ...] = ("uint8", "uint16")
    max_bit_depth: int = 16


@dataclass(frozen=True)
class EncodeTarget:
    """Rate target handed to a codec: a total container budget in bytes, or none."""

    codec: str
    height: int
    width: int
    max_bytes: int | None = None

    def stream_length(self, params_length: int, payload_length: int) -> int:
        """Bytes of the whole stream (header included) with a parameter block and a payload of these lengths."""
        return header_length(self.codec, self.height, self.width, params_length, payload_length) + payload_length

    def payload_budget(self, params: bytes) -> int | None:
        """Bytes left for the payload once the header (with these params) is written."""
        if self.max_bytes is None:
            return None
        # The header stores the payload length as a varint, so its size depends on the
        # payload length: take the largest payload P with header(P) + P <= max_bytes
        # (charging the header for a P-byte varint, not a max_bytes-byte one, so that a
        # budget equal to the size of the unconstrained stream reproduces that stream).
        need = header_length(self.codec, self.height, self.width, len(params), 0)
        if need > self.max_bytes:
            raise RateUnreachableError(
                f"the rate budget of {self.max_bytes} bytes is below the {need}-byte container header of"
                f" codec {self.codec!r}; ask for at least max_bytes={need}",
                budget=self.max_bytes, smallest=need,
            )
        payload = self.max_bytes - need
        while payload > 0 and header_length(self.codec, self.height, self.width, len(params), payload) + payload > self.max_bytes:
            payload -= 1
        return payload


@dataclass(frozen=True)
class ImageSpec:
    """A validated image: ``pixels`` is always (H, W, C) and C-contiguous."""

    pixels: np.ndarray
    bit_depth: int
    channel_axis: bool = False

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def channels(self) -> int:
        return self.pixels.shape[2]


class Codec(abc.ABC):
    """Base class of every codec.

    Subclasses set ``name``, ``description``, ``reference``, ``capabilities`` and
    ``options`` and implement the two methods below.  Options arrive validated,
    with defaults filled in.
    """

    name: str = ""
    description: str = ""
    reference: str = ""
    capabilities: Capabilities = Capabilities(embedded=False, lossless=False, colour=False)
    options: tuple[Option, ...] = ()

    @abc.abstractmethod
    def encode_image(
        self, image: ImageSpec, target: EncodeTarget, *, lossless: bool, options: Mapping[str, Any]
    ) -> tuple[bytes, bytes]:
        """Return ``(params, payload)``; the payload must fit ``target.payload_budget(params)``."""

    @abc.abstractmethod
    def decode_image(self, header: Header, payload: bytes) -> np.ndarray:
        """Return the (H, W, C) image of ``header.dtype``; ``payload`` may be a prefix (embedded codecs).

        ``payload`` is bytes-like: :func:`wavecodec.decode` passes a read-only
        ``memoryview`` of the stream (no copy); ``bytes(payload)`` makes one.
        """

    def describe(self, header: Header) -> dict[str, Any]:
        """Codec parameters of a stream, for :func:`wavecodec.info`."""
        return {}

    # ------------------------------------------------------------------ reduced resolution
    @property
    def native_reduce(self) -> bool:
        """True when :meth:`decode_image` takes a keyword ``reduce`` (native reduced-resolution decoding).

        Such a codec returns the image at ``1/2**reduce`` of each side itself (a
        wavelet codec runs only the coarse inverse levels); any other codec gets
        :meth:`decode_reduced`'s fallback: a full decode, then ``2**k x 2**k`` block means.
        """
        return _takes_reduce(type(self).decode_image)

    def decode_reduced(self, header: Header, payload: bytes, reduce: int) -> np.ndarray:
        """The ``(ceil(H/2**k), ceil(W/2**k), C)`` image of ``header.dtype`` for ``reduce=k`` (an int >= 0).

        ``reduce=0`` is :meth:`decode_image`.  A :attr:`native_reduce` codec gets
        ``decode_image(header, payload, reduce=k)``; otherwise the full decode is
        averaged over ``2**k x 2**k`` blocks (:func:`wavecodec.transform.block_mean`),
        rounded to the nearest integer and clipped to ``header.bit_depth``.
        """
        if reduce == 0:
            return self.decode_image(header, payload)
        if self.native_reduce:
            return self.decode_image(header, payload, reduce=reduce)
        from .transform import block_mean

        img = np.rint(block_mean(self.decode_image(header, payload), reduce))
        np.clip(img, 0, (1 << header.bit_depth) - 1, out=img)
        return img.astype(header.dtype)

    # ------------------------------------------------------------------ bound codecs
    def bind(self, **bound: Any) -> "Codec":
        """A codec object carrying state that both encoder and decoder need outside the stream
        (``wavecodec.get_codec("vq-dct", codebook=cb)``); codecs without such state refuse."""
        if not bound:
            return self
        raise InvalidArgumentError(
            f"codec {self.name!r} takes no bound options (got {', '.join(sorted(bound))}); pass options to encode()")

    def encode(self, image: Any, **kwargs: Any) -> bytes:
        """:func:`wavecodec.encode` with this codec object (bound state included)."""
        from ._api import encode

        return encode(image, self, **kwargs)

    def decode(self, data: bytes, **kwargs: Any) -> np.ndarray:
        """:func:`wavecodec.decode` with this codec object (bound state included)."""
        from ._api import decode

        return decode(data, codec=self, **kwargs)

    # ------------------------------------------------------------------ helpers
    def resolve_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        known = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            valid = ", ".join(sorted(known)) or "none"
            raise InvalidArgumentError(
                f"unknown option(s) {', '.join(unknown)} for codec {self.name!r}; valid options: {valid}"
            )
        return {name: opt.validate(self.name, given.get(name, opt.default)) for name, opt in known.items()}

    def __repr__(self) -> str:
        caps = self.capabilities
        flags = [f for f, on in (("embedded", caps.embedded), ("lossless", caps.lossless), ("colour", caps.colour)) if on]
        return f"<Codec {self.name!r}: {self.description} [{', '.join(flags)}]>"


def _takes_reduce(method: Callable) -> bool:
    import inspect

    try:
        return "reduce" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


_REGISTRY: dict[str, Codec] = {}
#: Codecs declared as plug-ins (entry points, built-in adapters) that cannot load here: name -> reason.
_UNAVAILABLE: dict[str, str] = {}
_DISCOVERY = "pending"  # "pending" -> "running" -> "done"
#: Held while plug-ins are discovered or a codec is registered.  Re-entrant: a plug-in that calls
#: codecs() while it loads gets the codecs registered so far, in the same thread; any other thread
#: waits until discovery is complete (so a first call made by several threads at once never
#: misses a plug-in).
_LOCK = threading.RLock()


def register(codec: Codec) -> Codec:
    """Add ``codec`` (a :class:`Codec` instance whose ``name`` is new) to the registry."""
    if not isinstance(codec, Codec):
        what = f"the class {codec.__name__}" if isinstance(codec, type) else type(codec).__name__
        raise InvalidArgumentError(f"codec must be a wavecodec.Codec instance, not {what}")
    check_codec_name(codec.name)
    with _LOCK:
        if codec.name in _REGISTRY:
            raise InvalidArgumentError(f"a codec named {codec.name!r} is already registered")
        _REGISTRY[codec.name] = codec
    return codec


def _ensure_builtins() -> None:
    """Import the built-in codecs, then load the plug-ins (entry points of group ``wavecodec.codecs``) once."""
    global _DISCOVERY
    if _DISCOVERY == "done":
        return
    from . import coders as _builtin  # noqa: F401  (registers on import)

    with _LOCK:
        if _DISCOVERY != "pending":  # done by another thread meanwhile, or running in this one (re-entrant call)
            return
        _DISCOVERY = "running"
        try:
            from .plugins import discover

            discover()
        finally:
            _DISCOVERY = "done"


def _unregister(name: str) -> None:
    """Remove a codec (tests of plug-in discovery clean up with it)."""
    with _LOCK:
        _REGISTRY.pop(name, None)
        _UNAVAILABLE.pop(name, None)


def get_codec(name: str, **bound: Any) -> Codec:
    """The registered codec called ``name`` (a str, see :func:`codecs`); with keyword arguments,
    a new codec object bound to them (:meth:`Codec.bind`, e.g. ``get_codec("vq-dct", codebook=cb)``),
    whose ``encode`` and ``decode`` methods use them."""
    _ensure_builtins()
    if not isinstance(name, str):
        raise UnknownCodecError(
            f"codec name must be a str, not {type(name).__name__} ({name!r}); available codecs:"
            f" {', '.join(sorted(_REGISTRY))}"
        )
    if name not in _REGISTRY and name in _UNAVAILABLE:
        raise MissingDependencyError(_UNAVAILABLE[name])
    if name not in _REGISTRY:
        valid = ", ".join(sorted(_REGISTRY))
        raise UnknownCodecError(f"unknown codec {name!r}; available codecs: {valid} (see wavecodec.codecs())")
    return _REGISTRY[name].bind(**bound) if bound else _REGISTRY[name]


def codecs() -> dict[str, Codec]:
    """All registered codecs, by name."""
    _ensure_builtins()
    return dict(sorted(_REGISTRY.items()))
