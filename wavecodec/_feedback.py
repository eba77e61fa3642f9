"""What the command line tells on stderr while it works: kernel compilation and long runs.

* :class:`CompileNotice`: one line, ``wavecodec: compiling kernels for spiht, first use
  only...``, when Numba starts compiling one of wavecodec's kernels.  Numba signals a
  compilation (its ``numba:compile`` event) only on a cache miss, so nothing is printed
  once the kernels are in the on-disk cache.
* :class:`Progress`: after about 2 s of a run, a line rewritten in place until the run
  ends: a bar, the percentage done and the elapsed time
  (``wavecodec: encoding camera.png with spiht [######......]  45% 4.5 s``), fed by
  :meth:`Progress.update` as a :func:`wavecodec.progress` callback; before the codec
  has reported a fraction, and while Numba compiles (``compiling kernels``), the
  elapsed time only.

Both write to stderr only, so stdout stays parseable.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["CompileNotice", "Progress"]

_PROGRESS_DELAY_S = 2.0
_PROGRESS_PERIOD_S = 0.25
_BAR_WIDTH = 24


class Progress:
    """A progress line on ``stream`` for a run that lasts longer than ``delay`` seconds.

    A context manager; ``enabled=False`` makes it do nothing.  :meth:`update` (a
    :func:`wavecodec.progress` callback) gives the fraction done, shown as a bar;
    :meth:`message` prints a whole line (the compile notice) without mixing it into
    the progress line.  The line is drawn by a thread, and by :meth:`update` when the
    thread is due but waits for the GIL (a kernel holds it while it runs).
    """

    def __init__(self, label: str, *, enabled: bool, stream: TextIO | None = None, delay: float | None = None):
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.delay = _PROGRESS_DELAY_S if delay is None else delay
        # rewritten in place 4 times a second on a terminal; once a second into a file or pipe
        self.period = _PROGRESS_PERIOD_S if getattr(self.stream, "isatty", lambda: False)() else 1.0
        self.compiling = 0  # depth of the Numba compilations in progress
        self.fraction: float | None = None  # done so far, once the codec reports it
        self._drawn_at = 0.0
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._shown = 0  # length of the progress line on screen
        self._start = 0.0
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Progress":
        self._start = time.perf_counter()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="wavecodec-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            with self._lock:
                if self._shown:
                    status = "failed" if exc[0] is not None else "done"
                    self._write(f"{self._text()} {status}")
                    self.stream.write("\n")
                    self.stream.flush()

    def update(self, fraction: float, stage: str = "") -> None:
        """Record the fraction done (0..1); redraw now if the line is shown and due."""
        self.fraction = fraction
        now = time.perf_counter()
        if (self._thread is None or now - self._start < self.delay or now - self._drawn_at < self.period
                or not self._lock.acquire(blocking=False)):
            return
        try:
            if not self._done.is_set():
                self._write(self._text())
        finally:
            self._lock.release()

    def _text(self) -> str:
        elapsed = f"{time.perf_counter() - self._start:.1f} s"
        if self.compiling or self.fraction is None:
            phase = " (compiling kernels)" if self.compiling else ""
            return f"wavecodec: {self.label}{phase}... {elapsed}"
        filled = int(self.fraction * _BAR_WIDTH)
        bar = "#" * filled + "." * (_BAR_WIDTH - filled)
        return f"wavecodec: {self.label} [{bar}] {int(self.fraction * 100):3d}% {elapsed}"

    def _write(self, text: str) -> None:
        pad = " " * max(0, self._shown - len(text))
        self.stream.write(f"\r{text}{pad}")
        self.stream.flush()
        self._shown = len(text)
        self._drawn_at = time.perf_counter()

    def _run(self) -> None:
        if self._done.wait(self.delay):
            return
        while True:
            with self._lock:
                if self._done.is_set():
                    return
                self._write(self._text())
            if self._done.wait(self.period):
                return

    def message(self, text: str) -> None:
        """Print ``text`` as a line of its own (above the progress line, if one is shown)."""
        with self._lock:
            if self._shown:
                self.stream.write("\r" + " " * self._shown + "\r")
                self._shown = 0
            self.stream.write(text + "\n")
            self.stream.flush()


class CompileNotice:
    """Print one line when Numba starts compiling a wavecodec kernel, while this context is active.

    ``label`` names what is being compiled for (a codec name); it may be set later
    (``notice.label = ...``), e.g. once a stream's header has been read.  ``progress``
    (optional) is told when compilation starts and ends, and prints the line.
    """

    def __init__(self, label: str = "", *, progress: Progress | None = None, stream: TextIO | None = None):
        self.label = label
        self.progress = progress
        self.stream = stream if stream is not None else sys.stderr
        self.printed = False
        self._listener = None

    def _on_start(self, event) -> None:
        dispatcher = event.data.get("dispatcher") if isinstance(event.data, dict) else None
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
        if not module.startswith("wavecodec."):
            return
        if self.progress is not None:
            self.progress.compiling += 1
        if not self.printed:
            self.printed = True
            text = f"wavecodec: compiling kernels for {self.label or 'this codec'}, first use only..."
            if self.progress is not None:
                self.progress.message(text)
            else:
                self.stream.write(text + "\n")
                self.stream.flush()

    def _on_end(self, event) -> None:
        dispatcher = event.data.get("dispatcher") if isinstance(event.data, dict) else None
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
        if module.startswith("wavecodec.") and self.progress is not None:
            self.progress.compiling = max(0, self.progress.compiling - 1)

    def __enter__(self) -> "CompileNotice":
        from numba.core import event

        notice = self

        class _Listener(event.Listener):
            def on_start(self, ev) -> None:
                notice._on_start(ev)

            def on_end(self, ev) -> None:
                notice._on_end(ev)

        self._listener = _Listener()
        event.register("numba:compile", self._listener)
        return self

    def __exit__(self, *exc) -> None:
        from numba.core import event

        if self._listener is not None:
            event.unregister("numba:compile", self._listener)
            self._listener = None
