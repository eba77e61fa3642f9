"""wavecodec.progress: the fractions codecs report, per context, and the CLI's progress bar.

Small images only (the kernels are the ones the other tests compile): fast."""

from __future__ import annotations

import io
import sys
import threading

import numpy as np
import pytest

import wavecodec
from wavecodec import _feedback
from wavecodec.cli import main as cli_main
from wavecodec.errors import CorruptStreamError, InvalidArgumentError


@pytest.fixture(scope="module")
def image():
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[::4, ::4])  # 128x128 colour


def _record(run):
    seen = []
    with wavecodec.progress(lambda fraction, stage: seen.append((fraction, stage))):
        result = run()
    return seen, result


def _check_operation(seen):
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(0.0 <= a <= b <= 1.0 for a, b in zip(fractions, fractions[1:])), fractions
    assert fractions.count(1.0) == 1  # 1.0 once, at the end
    assert all(isinstance(stage, str) for _, stage in seen)


@pytest.mark.parametrize("codec,rate", [("spiht", {"bpp": 1.0}), ("spiht", {"bpp": 0.1}), ("spiht", {"lossless": True}),
                                        ("ezw", {"bpp": 0.5}), ("imp1ezw", {"bpp": 0.5})])
def test_bitplane_fractions_are_monotone_and_end_at_one(image, codec, rate):
    seen, data = _record(lambda: wavecodec.encode(image, codec, **rate))
    _check_operation(seen)
    stages = [stage for _, stage in seen]
    assert "transform" in stages and "coding" in stages
    assert len(seen) < 500  # reports per pass or plane (tens per coding run), not per coefficient (49152)
    seen, decoded = _record(lambda: wavecodec.decode(data))
    _check_operation(seen)
    assert "decoding" in [stage for _, stage in seen]
    assert np.array_equal(decoded, wavecodec.decode(data))  # the same image with or without a callback
    assert data == wavecodec.encode(image, codec, **rate)  # the same stream


def test_a_codec_that_reports_nothing_still_gives_zero_and_one(image):
    seen, _ = _record(lambda: wavecodec.encode(image[:32, :32], "vq-dct", bpp=1.0, optimizer="none"))
    _check_operation(seen)


def test_each_call_in_one_block_starts_again_from_zero(image):
    seen = []
    with wavecodec.progress(lambda fraction, stage: seen.append(fraction)):
        data = wavecodec.encode(image, "spiht", bpp=0.5)
        first = len(seen)
        wavecodec.decode(data)
    _check_operation([(f, "") for f in seen[:first]])
    _check_operation([(f, "") for f in seen[first:]])


def test_spans_nest_and_without_a_callback_nothing_happens():
    seen = []
    wavecodec.report_progress(0.5)  # nothing installed: a no-op
    with wavecodec.progress_span(0.2, 0.4):
        wavecodec.report_progress(0.5)
    with wavecodec.progress(lambda fraction, stage: seen.append((round(fraction, 6), stage))):
        with wavecodec.progress_span(0.5, 1.0, "second half"):
            with wavecodec.progress_span(0.0, 0.5):
                wavecodec.report_progress(0.5)
                wavecodec.report_progress(0.25)  # never backwards
            wavecodec.report_progress(2.0, "done")  # clipped to the span
    assert seen == [(0.5, "second half"), (0.625, "second half"), (0.75, "second half"), (1.0, "done")]
    with pytest.raises(InvalidArgumentError, match="progress_span"):
        with wavecodec.progress_span(0.6, 0.4):
            pass
    with pytest.raises(InvalidArgumentError, match="callback"):
        with wavecodec.progress("not callable"):
            pass


def test_callbacks_are_per_thread(image):
    # each thread's callback hears only its own encodes; a thread without one (and new
    # threads started inside a progress block) report to none
    small = np.ascontiguousarray(image[:64, :64])
    wavecodec.encode(small, "spiht", bpp=1.0)  # compiled before the threads start
    seen = {name: [] for name in ("a", "b")}
    barrier = threading.Barrier(3)
    errors = []

    def work(name):
        try:
            barrier.wait()
            if name == "quiet":
                for _ in range(4):
                    wavecodec.encode(small, "spiht", bpp=1.0)
                return
            with wavecodec.progress(lambda fraction, stage: seen[name].append(threading.current_thread().name)):
                for _ in range(4):
                    wavecodec.encode(small, "spiht", bpp=1.0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,), name=n) for n in ("a", "b", "quiet")]
    outer = []
    with wavecodec.progress(lambda fraction, stage: outer.append(fraction)):
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert outer == []
    for name in ("a", "b"):
        assert seen[name] and set(seen[name]) == {name}


def test_a_callback_error_propagates_unchanged(image):
    data = wavecodec.encode(image, "spiht", bpp=0.5)

    class Cancelled(Exception):
        pass

    def cancel(fraction, stage):
        if fraction > 0.0:
            raise ValueError("cancelled by the user")

    with pytest.raises(ValueError, match="cancelled"):  # not turned into CorruptStreamError
        with wavecodec.progress(cancel):
            wavecodec.decode(data)

    def cancel_encode(fraction, stage):
        if stage == "coding":
            raise Cancelled

    with pytest.raises(Cancelled):
        with wavecodec.progress(cancel_encode):
            wavecodec.encode(image, "spiht", bpp=0.5)
    with pytest.raises(CorruptStreamError):  # the stream's own errors are still the stream's
        with wavecodec.progress(lambda fraction, stage: None):
            wavecodec.decode(data[:5])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture()
def gray_png(tmp_path, image):
    from PIL import Image

    path = tmp_path / "g.png"
    Image.fromarray(image[:, :, 1]).save(path)
    return str(path)


def test_cli_bar_on_a_terminal_shows_the_fraction_and_ends_at_100(tmp_path, gray_png, monkeypatch, capsys):
    monkeypatch.setattr(_feedback, "_PROGRESS_DELAY_S", 0.0)  # shown at once (real runs: after 2 s)
    stream = str(tmp_path / "s.wvc")
    for argv in (["encode", gray_png, stream, "--bpp", "1"], ["decode", stream, str(tmp_path / "o.png")],
                 ["compare", gray_png, stream]):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert cli_main(argv) == 0
        text = terminal.getvalue()
        last = text.split("\r")[-1]
        assert text.endswith("done\n") and "[" + "#" * _feedback._BAR_WIDTH + "] 100% " in last, text
        assert text.count("\n") == 1  # one line, rewritten in place
    assert "wavecodec:" not in capsys.readouterr().out  # stdout keeps only the results


def test_cli_prints_nothing_extra_when_stderr_is_not_a_terminal(tmp_path, gray_png, monkeypatch, capsys):
    monkeypatch.setattr(_feedback, "_PROGRESS_DELAY_S", 0.0)
    stream = str(tmp_path / "s.wvc")
    assert cli_main(["encode", gray_png, stream, "--bpp", "1"]) == 0
    assert cli_main(["decode", stream, str(tmp_path / "o.png")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.count("\n") == 2
