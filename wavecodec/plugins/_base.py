"""Common machinery of the adapters that wrap external codecs (JPEG, WebP, JPEG 2000, ...).

An adapter is an ordinary :class:`wavecodec.Codec`: its stream is the codec's own
bitstream (a JPEG file, a J2K codestream, ...) stored as the container payload, with
the knob value that produced it in the parameter block.  Every codec's rate therefore
counts the same bytes: wavecodec header + payload.

Most external codecs have no rate control, only a quality knob.  A byte budget is met
by bisection over that knob (:func:`bisect_knob`): the largest-quality stream that fits
is kept; when even the lowest quality does not fit, the rate is *unreachable* and
:class:`RateUnreachableError` says how many bytes the smallest stream needs.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Callable, Mapping

import numpy as np

from .. import errors
from .._container import Header, ParamReader, ParamWriter
from .._registry import Codec, EncodeTarget, ImageSpec
from ..errors import CorruptStreamError, InvalidArgumentError, MissingDependencyError, WavecodecError

__all__ = ["ExternalCodec", "RateUnreachableError", "bisect_knob", "require"]


class RateUnreachableError(errors.RateUnreachableError):
    """The codec cannot produce a stream as small as the requested budget (``smallest`` bytes is its smallest)."""

    def __init__(self, codec: str, budget: int, smallest: int, height: int, width: int):
        self.codec = codec
        super().__init__(
            f"{codec}: rate unreachable: the budget is {budget} bytes ({8 * budget / (height * width):.4f} bpp) but the"
            f" smallest stream this codec makes for this image is {smallest} bytes"
            f" ({8 * smallest / (height * width):.4f} bpp, container header included)",
            budget=budget, smallest=smallest,
        )


def require(module: str, extra: str, codec: str, feature: str | None = None) -> Any:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the pip extra."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"codec {codec!r} needs the optional dependency {module!r} ({exc}); install it with"
            f" pip install 'wavecodec[{extra}]'"
        ) from None
    if feature is not None:
        flag = getattr(mod, feature, None)
        if flag is None or not getattr(flag, "available", True):
            raise MissingDependencyError(
                f"codec {codec!r}: this build of {module} has no {feature} support; install one that has it with"
                f" pip install --upgrade 'wavecodec[{extra}]'"
            )
    return mod


def bisect_knob(
    encode: Callable[[float], bytes],
    budget: int,
    lo: float,
    hi: float,
    *,
    integer: bool,
    increasing: bool = True,
    iterations: int = 18,
    score: Callable[[bytes], float] | None = None,
    tolerance: float = 0.002,
) -> tuple[float, bytes] | None:
    """Find the knob value in ``[lo, hi]`` whose stream is the best that fits ``budget`` bytes.

    ``increasing``: the stream grows with the knob (quality); otherwise it shrinks with
    it (distance, quantiser).  The search keeps a bracket [fits, does not fit] and picks
    the next knob by interpolating log(size) linearly between the bracket ends (false
    position), falling back to halving whenever a step did not halve the bracket, so it
    never needs more than about twice the steps of plain bisection and usually far fewer.
    It stops when the bracket is one step wide (integer knobs), after ``iterations``
    steps (real knobs), or as soon as a stream fills the budget to within ``tolerance``.
    Sizes are assumed monotone in the knob, which holds for every wrapped codec up to
    rare small wiggles; ``score`` (higher is better, e.g. PSNR) picks the best of the
    fitting streams tried, which makes such wiggles harmless.  Returns ``(knob, stream)``
    or ``None`` when even the cheapest end does not fit.
    """
    import math

    best: tuple[float, float, bytes] | None = None  # (score, knob, data)
    largest_fit = 0

    def size_at(knob: float) -> int:
        nonlocal best, largest_fit
        data = encode(knob)
        if len(data) <= budget:
            s = score(data) if score is not None else (knob if increasing else -knob)
            if best is None or s > best[0]:
                best = (s, knob, data)
            largest_fit = max(largest_fit, len(data))
        return len(data)

    cheap, rich = (lo, hi) if increasing else (hi, lo)
    size_a = size_at(cheap)
    if size_a > budget:
        return None
    # bracket: `a` fits (size_a); `b` does not (size_b, None while unknown: the rich end is the
    # most expensive encode and never fits at benchmark rates, so it is tried only at the end)
    a, b = (int(cheap), int(rich)) if integer else (float(cheap), float(rich))
    size_b: int | None = None
    steps_without_b = 0
    halve = True
    for _ in range(10 * iterations if integer else iterations):
        if integer and abs(b - a) <= 1:
            break
        if largest_fit >= (1.0 - tolerance) * budget:
            break
        if size_b is None and steps_without_b >= 2:
            t = 1.0  # two halvings fitted: try the rich end itself
        elif halve or size_b is None or size_b <= size_a:
            t = 0.5
        else:
            t = (math.log(budget) - math.log(max(size_a, 1))) / (math.log(size_b) - math.log(max(size_a, 1)))
            t = min(max(t, 0.05), 0.95)
        steps_without_b += size_b is None
        mid = b if t == 1.0 else a + t * (b - a)
        if integer and t != 1.0:  # strictly inside the bracket
            lo_k, hi_k = (a + 1, b - 1) if b > a else (b + 1, a - 1)
            mid = min(max(int(round(mid)), lo_k), hi_k)
        width = abs(b - a)
        size = size_at(mid)
        if size <= budget:
            a, size_a = mid, size
            if mid == b:  # the rich end fits: nothing better exists
                break
        else:
            b, size_b = mid, size
        halve = not halve and abs(b - a) > 0.5 * width  # a poor interpolation step: halve next
    return best[1], best[2]


class ExternalCodec(Codec):
    """Base of the adapters: a quality knob, bisection to a byte budget, a one-value parameter block.

    Subclasses set ``module`` / ``feature`` / ``extra`` (the dependency and the pip
    extra that installs it), the knob's range and direction, and implement
    :meth:`encode_knob` and :meth:`decode_payload`.  ``options`` must include an option
    named ``knob_name`` whose ``None`` default means "search for the rate" (or the
    codec's default quality when no rate is asked).
    """

    module: str = ""
    feature: str | None = None
    extra: str = ""
    knob_name: str = "quality"
    knob_range: tuple[float, float] = (1, 100)
    knob_integer: bool = True
    knob_increasing: bool = True
    knob_default: float = 75
    knob_log: bool = False  # bisect the logarithm of a real knob
    bisection_iterations: int = 18
    #: The payload is a file of the codec's own format with these extensions (``wavecodec extract``
    #: writes it); empty when the payload is no standard file (e.g. SPERR's planes side by side).
    file_extensions: tuple[str, ...] = ()
    file_format: str = ""

    # -------------------------------------------------------------- dependency
    @classmethod
    def missing_dependency(cls) -> str | None:
        """``None`` if the wrapped library is installed, else a message naming the pip extra.

        Only looks the package up (no import, so that discovery stays cheap); whether this
        build of it has the needed codec (``feature``) is checked at encode/decode time.
        """
        top = cls.module.split(".")[0]
        if importlib.util.find_spec(top) is None:
            return (f"codec {cls.name!r} needs the optional dependency {top!r}; install it with"
                    f" pip install 'wavecodec[{cls.extra}]'")
        return None

    def lib(self) -> Any:
        return require(self.module, self.extra, self.name, self.feature)

    # -------------------------------------------------------------- subclass API
    def encode_knob(self, pixels: np.ndarray, knob: float, *, lossless: bool, options: Mapping[str, Any]) -> bytes:
        """The codec's stream for ``pixels`` ((H, W) or (H, W, 3)) at knob value ``knob``."""
        raise NotImplementedError

    def decode_payload(self, payload: bytes, header: Header, knob: float) -> np.ndarray:
        """Decode a payload to (H, W) or (H, W, C) samples (any integer or float dtype)."""
        raise NotImplementedError

    def score(self, pixels: np.ndarray, header_like: Header, knob: float) -> Callable[[bytes], float] | None:
        """Optional quality score used by the bisection to pick the best fitting stream."""
        return None

    # -------------------------------------------------------------- Codec API
    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool, options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        self.lib()
        pixels = image.pixels[:, :, 0] if image.channels == 1 else image.pixels
        knob = options.get(self.knob_name)
        params_len = len(self._params(0.0))
        budget = target.payload_budget(b"\0" * params_len)
        if lossless or knob is not None or budget is None:
            value = float(knob if knob is not None else self.knob_default)
            payload = self._encode(pixels, value, lossless, options)
            if budget is not None and len(payload) > budget:
                raise RateUnreachableError(self.name, target.max_bytes, target.stream_length(params_len, len(payload)),
                                           image.height, image.width)
            return self._params(value), payload
        lo, hi = self.knob_range
        if self.knob_log:  # bisect log(knob): equal relative steps over a range spanning decades
            found = bisect_knob(
                lambda k: self._encode(pixels, float(np.exp(k)), False, options), budget, float(np.log(lo)),
                float(np.log(hi)), integer=False, increasing=self.knob_increasing,
                iterations=self.bisection_iterations, score=self._psnr_score(pixels, image, target),
            )
            found = None if found is None else (float(np.exp(found[0])), found[1])
        else:
            found = bisect_knob(
                lambda k: self._encode(pixels, k, False, options), budget, lo, hi,
                integer=self.knob_integer, increasing=self.knob_increasing, iterations=self.bisection_iterations,
                score=self._psnr_score(pixels, image, target),
            )
        if found is None:
            cheapest = lo if self.knob_increasing else hi
            smallest = len(self._encode(pixels, cheapest, False, options))
            raise RateUnreachableError(self.name, target.max_bytes, target.stream_length(params_len, smallest),
                                       image.height, image.width)
        value, payload = found
        return self._params(value), payload

    def _encode(self, pixels: np.ndarray, knob: float, lossless: bool, options: Mapping[str, Any]) -> bytes:
        if self.knob_integer:
            knob = int(round(knob))
        return bytes(self.encode_knob(pixels, knob, lossless=lossless, options=options))

    def _psnr_score(self, pixels: np.ndarray, image: ImageSpec, target: EncodeTarget) -> Callable[[bytes], float] | None:
        """PSNR of a candidate stream, so that the bisection keeps the best fitting one."""
        if not self.score_streams:
            return None
        header = Header(codec=self.name, height=image.height, width=image.width, channels=image.channels,
                        dtype=image.pixels.dtype, bit_depth=image.bit_depth, lossless=False, embedded=False,
                        channel_axis=False, params=b"", payload_length=0)
        ref = pixels.astype(np.float64)

        def psnr_of(data: bytes) -> float:
            out = self._finish(self.decode_payload(data, header, 0.0), header).reshape(ref.shape)
            mse = float(np.mean((out.astype(np.float64) - ref) ** 2))
            return float("inf") if mse == 0 else -mse  # monotone in PSNR

        return psnr_of

    #: Score candidate streams by their distortion (needed where the knob is a distortion
    #: target and the size is not strictly monotone, e.g. OpenJPEG's PSNR ``level``).
    score_streams: bool = False

    def _params(self, knob: float) -> bytes:
        return ParamWriter().f32(knob).bytes()

    def _read_knob(self, header: Header) -> float:
        r = ParamReader(header.params, self.name)
        knob = r.f32(self.knob_name)
        r.end()
        return knob

    def _finish(self, out: Any, header: Header) -> np.ndarray:
        out = np.asarray(out)
        if out.ndim == 2:
            out = out[:, :, None]
        if out.ndim == 3 and out.shape[2] == 4 and header.channels == 3:  # RGBA from some decoders
            out = out[:, :, :3]
        if out.ndim != 3 or out.shape != (header.height, header.width, header.channels):
            raise CorruptStreamError(
                f"{self.name} payload decodes to shape {out.shape}, the header says"
                f" {(header.height, header.width, header.channels)}"
            )
        top = (1 << header.bit_depth) - 1
        if np.issubdtype(out.dtype, np.floating):
            out = np.rint(out)
        return np.clip(out, 0, top).astype(header.dtype)

    def decode_image(self, header: Header, payload: bytes) -> np.ndarray:
        self.lib()
        knob = self._read_knob(header)
        try:
            out = self.decode_payload(bytes(payload), header, knob)
        except WavecodecError:
            raise
        except Exception as exc:  # noqa: BLE001 - the wrapped libraries raise their own types
            raise CorruptStreamError(f"corrupt {self.name} payload: {type(exc).__name__}: {exc}") from exc
        return self._finish(out, header)

    def describe(self, header: Header) -> dict[str, Any]:
        return {self.knob_name: round(self._read_knob(header), 4), "library": self.module}
