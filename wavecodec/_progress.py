"""Progress of an encode or decode: a callback per context, fed by cheap reports from codec code.

* :func:`progress` installs a callback ``callback(fraction, stage)`` for the code that
  runs inside the ``with`` block, in this thread (or asyncio task) only: the callback
  lives in a :class:`contextvars.ContextVar`, so another thread's encode never reports
  to it (a new thread starts with no callback).
* :func:`report_progress` is what codec code calls (at most once per pass or bit-plane,
  never per coefficient); with no callback installed it is a context-variable lookup
  and a comparison.
* :func:`progress_span` lets a codec give a part of its work a sub-range of the
  fraction: reports inside the block, from 0 to 1, map onto ``start..stop`` of the
  enclosing range (nested spans compose).

Each :func:`wavecodec.encode` and :func:`wavecodec.decode` call is one operation: it
reports 0.0 when it starts and 1.0 when it ends without an error, and every fraction
in between is non-decreasing (a report below the last one is raised to it).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, NamedTuple

from .errors import InvalidArgumentError

__all__ = ["progress", "report_progress", "progress_span", "ProgressCallback"]

#: ``callback(fraction, stage)``: ``fraction`` in [0, 1], ``stage`` a short label ("" if none)
ProgressCallback = Callable[[float, str], None]


class _Sink:
    """One installed callback and the last fraction it was given (so that fractions never go back).

    The lock keeps the fractions in order when a context carrying the callback runs in
    several threads at once (``contextvars.copy_context().run``); it is reentrant, so a
    callback may itself encode.
    """

    __slots__ = ("callback", "last", "stage", "error", "lock")

    def __init__(self, callback: ProgressCallback):
        self.callback = callback
        self.last = -1.0  # below any fraction: the first report always goes out
        self.stage = ""
        self.error: BaseException | None = None  # what the callback last raised (see raised_by_callback)
        self.lock = threading.RLock()

    def emit(self, fraction: float, stage: str) -> None:
        with self.lock:
            if fraction < self.last:
                fraction = self.last
            if fraction == self.last and stage == self.stage:
                return
            self.last, self.stage = fraction, stage
            try:
                self.callback(fraction, stage)
            except BaseException as exc:
                self.error = exc
                raise


class _Span(NamedTuple):
    sink: _Sink
    start: float
    width: float
    stage: str
    mapping: Callable[[float], float] | None = None  # a codec driver's estimate of the work done, see mapped_span


_current: ContextVar[_Span | None] = ContextVar("wavecodec_progress", default=None)


@contextmanager
def progress(callback: ProgressCallback) -> Iterator[None]:
    """Call ``callback(fraction, stage)`` as the encodes and decodes inside this block progress.

    ``fraction`` runs from 0.0 (each :func:`wavecodec.encode` or :func:`wavecodec.decode`
    call reports it when it starts) to 1.0 (reported once when the call returns); in
    between it never decreases.  ``stage`` is a short label of the work in progress
    (``"transform"``, ``"coding"``, ...; ``""`` when the codec gives none).  Codecs report
    at most once per pass or bit-plane, so the callback is called tens of times per
    image, not per coefficient; a codec that reports nothing still gives 0.0 and 1.0.

    The callback applies to this thread (or asyncio task) only: encodes running in
    other threads at the same time do not call it.  Code run in a worker thread can
    carry it there with ``contextvars.copy_context().run(...)``.  An exception raised
    by the callback stops the encode or decode and propagates unchanged (a way to
    cancel).  An inner ``progress`` block replaces the outer callback until it ends.
    """
    if not callable(callback):
        raise InvalidArgumentError(f"progress: callback must be callable as callback(fraction, stage), got {callback!r}")
    token = _current.set(_Span(_Sink(callback), 0.0, 1.0, ""))
    try:
        yield
    finally:
        _current.reset(token)


def report_progress(fraction: float, stage: str | None = None) -> None:
    """Tell the installed callback (if any) that ``fraction`` (0..1) of the current work is done.

    For codec code: call it between passes or bit-planes, not per coefficient.  Inside a
    :func:`progress_span` the fraction is of that span.  ``stage`` (optional) names the
    work; without it the span's stage applies.  A no-op when no callback is installed.
    """
    span = _current.get()
    if span is None:
        return
    f = float(fraction)
    if span.mapping is not None:
        f = span.mapping(f)
    f = 0.0 if not f > 0.0 else (1.0 if f > 1.0 else f)  # NaN -> 0
    span.sink.emit(span.start + span.width * f, span.stage if stage is None else stage)


@contextmanager
def progress_span(start: float, stop: float, stage: str | None = None) -> Iterator[None]:
    """Map the reports made inside this block (0..1) onto ``start..stop`` of the current range.

    For codec code that does several parts of one job (a transform, then coding; one
    trial per candidate): ``with progress_span(0.2, 1.0, "coding"): ...``.  When the
    block starts, ``start`` is reported, and when it ends without an error, ``stop``.  A
    no-op without a callback.
    """
    if not 0.0 <= start <= stop <= 1.0:
        raise InvalidArgumentError(f"progress_span: need 0 <= start <= stop <= 1, got start={start!r}, stop={stop!r}")
    with mapped_span(start, stop, None, stage):
        yield


@contextmanager
def mapped_span(start: float, stop: float, mapping: Callable[[float], float] | None,
                stage: str | None = None) -> Iterator[None]:
    """:func:`progress_span` whose reports first go through ``mapping`` (a driver's better
    estimate of the work done, e.g. from the bytes coded so far), which is only called
    while a callback is installed."""
    span = _current.get()
    if span is None:
        yield
        return
    inner = _Span(span.sink, span.start + span.width * start, span.width * (stop - start),
                  span.stage if stage is None else stage, mapping)
    span.sink.emit(inner.start, inner.stage)
    token = _current.set(inner)
    try:
        yield
    finally:
        _current.reset(token)
    span.sink.emit(inner.start + inner.width, span.sink.stage)  # (the stage of the work that just ended)


@contextmanager
def operation(stage: str) -> Iterator[None]:
    """One :func:`wavecodec.encode` or :func:`wavecodec.decode` call: 0.0 at the start and 1.0
    at the end of its range.  At the top level (directly inside :func:`progress`) the
    callback's fractions start again from 0, so that one ``progress`` block can cover
    several calls; nested in a codec's span, the call is a part of that span."""
    span = _current.get()
    if span is None:
        yield
        return
    if span.start == 0.0 and span.width == 1.0 and span.mapping is None:  # the top level
        span.sink.last = -1.0
    with mapped_span(0.0, 1.0, None, stage):
        yield


def raised_by_callback(exc: BaseException) -> bool:
    """True when ``exc`` was raised by the installed progress callback (it must propagate unchanged)."""
    span = _current.get()
    return span is not None and span.sink.error is exc


def current_mapping() -> Callable[[float], float] | None:
    """The ``mapping`` of the innermost :func:`mapped_span` (None without one or without a callback)."""
    span = _current.get()
    return None if span is None else span.mapping
