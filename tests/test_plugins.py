"""Plug-in codecs: entry-point discovery (a tiny external package), the built-in adapters, missing dependencies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import wavecodec
from wavecodec import _registry, plugins
from wavecodec.errors import (
    CorruptStreamError,
    InvalidArgumentError,
    MissingDependencyError,
    TruncatedStreamError,
    WavecodecError,
)
from wavecodec.plugins._base import bisect_knob

from conftest import make_image

PLUGIN_PKG = Path(__file__).parent / "plugin_pkg"

try:
    import imagecodecs  # noqa: F401

    HAVE_IMAGECODECS = True
except ImportError:  # pragma: no cover - imagecodecs is in the test extra
    HAVE_IMAGECODECS = False

needs_imagecodecs = pytest.mark.skipif(not HAVE_IMAGECODECS, reason="imagecodecs not installed: pip install 'wavecodec[standard]'")

IMAGECODECS_ADAPTERS = ["jpeg2000", "jpegxl", "avif", "sperr"]
PILLOW_ADAPTERS = ["jpeg", "webp"]


def _images():
    yy, xx = np.mgrid[0:48, 0:64]
    smooth = (96 + 60 * np.sin(xx / 7.0) + 40 * np.cos(yy / 5.0)).astype(np.uint8)
    noise = make_image(48, 64, seed=3) // 8
    gray = (smooth + noise).astype(np.uint8)
    rgb = np.stack([gray, np.roll(gray, 5, axis=1), 255 - gray], axis=2)
    return {"gray": gray, "rgb": rgb}


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


# ============================================================== external plug-in package
@pytest.fixture
def toy_plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_PKG))
    plugins.discover(refresh=True)
    yield
    for name in ("toy-zlib", "toy-missing"):
        _registry._unregister(name)
        plugins._LOADED.pop(name, None)


def test_external_plugin_discovered_and_round_trips(toy_plugin):
    reg = wavecodec.codecs()
    assert "toy-zlib" in reg and "toy-missing" not in reg
    codec = wavecodec.get_codec("toy-zlib")
    assert type(codec).__module__ == "wavecodec_toy"  # loaded from the external package
    assert plugins.is_adapter(codec)
    for img in _images().values():
        lossless = wavecodec.encode(img, "toy-zlib", lossless=True)
        assert lossless[:3] == b"WVC"  # wrapped in the wavecodec container
        assert np.array_equal(wavecodec.decode(lossless), img)
        info = wavecodec.info(lossless)
        assert info.codec == "toy-zlib" and info.lossless and not info.embedded and info.params == {"shift": 0}
        budget = len(lossless) // 3
        lossy = wavecodec.encode(img, "toy-zlib", max_bytes=budget)
        assert len(lossy) <= budget
        out = wavecodec.decode(lossy)
        assert out.shape == img.shape and out.dtype == img.dtype
        assert 0 < wavecodec.info(lossy).params["shift"] < 8
        assert _psnr(img, out) > 15
        with pytest.raises(TruncatedStreamError):
            wavecodec.decode(lossy[:-3])
    with pytest.raises(InvalidArgumentError, match="unknown option"):
        wavecodec.encode(_images()["gray"], "toy-zlib", speed=3)
    # the CLI lists it
    from wavecodec.cli import main

    assert main(["codecs"]) == 0


def test_external_plugin_missing_dependency(toy_plugin, synthetic_gray):
    with pytest.raises(MissingDependencyError, match="wavecodec_toy_accelerator_not_installed") as exc:
        wavecodec.encode(synthetic_gray, "toy-missing")
    assert "wavecodec-toy" in str(exc.value)  # names the distribution to (re)install
    assert isinstance(exc.value, WavecodecError) and isinstance(exc.value, ImportError)
    assert "toy-missing" in plugins.unavailable()


def test_broken_plugin_does_not_break_wavecodec(monkeypatch):
    with pytest.warns(RuntimeWarning, match="not a wavecodec.Codec"):
        assert plugins.load_plugin("broken", "wavecodec.errors:WavecodecError", source="broken-dist") is None
    try:
        with pytest.raises(MissingDependencyError, match="broken-dist"):
            wavecodec.get_codec("broken")
        assert "spiht" in wavecodec.codecs()
    finally:
        _registry._unregister("broken")
        plugins._LOADED.pop("broken", None)


def test_entry_point_name_must_match_codec_name():
    with pytest.warns(RuntimeWarning, match="must match"):
        assert plugins.load_plugin("not-jpeg", "wavecodec.plugins.pillow_codecs:JpegCodec", source="x") is None
    _registry._unregister("not-jpeg")
    plugins._LOADED.pop("not-jpeg", None)


def test_builtin_entry_points_declared_in_pyproject():
    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["wavecodec.codecs"] == plugins.BUILTIN_ADAPTERS


# ============================================================== built-in adapters
@pytest.mark.parametrize("name", PILLOW_ADAPTERS + [pytest.param(n, marks=needs_imagecodecs) for n in IMAGECODECS_ADAPTERS])
@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_adapter_rate_search(name, kind):
    # the bisection to a budget: a real image at 1.5 bpp, no worse at 3 bpp, most of the budget used
    # (budgets, round trips, truncation, determinism of every codec: tests/test_contract.py)
    img = _images()[kind]
    codec = wavecodec.get_codec(name)
    assert codec.capabilities.embedded is False  # none of the wrapped formats is embedded
    h, w = img.shape[:2]
    outs = []
    for bpp in (1.5, 3.0):
        stream = wavecodec.encode(img, name, bpp=bpp)
        info = wavecodec.info(stream)
        outs.append(_psnr(img, wavecodec.decode(stream)))
    assert outs[0] > 20 and outs[1] >= outs[0] - 0.5
    # the rate search uses the budget: at least 75 % of it at 3 bpp, unless the knob is at its richest end
    rich = codec.knob_range[1] if codec.knob_increasing else codec.knob_range[0]
    assert len(stream) >= 0.75 * int(3.0 * h * w / 8) or info.params[codec.knob_name] == pytest.approx(rich)


@pytest.mark.parametrize("name", PILLOW_ADAPTERS + [pytest.param(n, marks=needs_imagecodecs) for n in IMAGECODECS_ADAPTERS])
def test_adapter_fixed_quality_option(name):
    codec = wavecodec.get_codec(name)
    knob = codec.knob_name if hasattr(codec, "knob_name") else "quality"
    value = {"jpeg": 50, "webp": 50, "jpeg2000": 30.0, "jpegxl": 2.0, "avif": 50, "sperr": 1.0}[name]
    img = _images()["gray"]
    stream = wavecodec.encode(img, name, **{knob: value})
    assert wavecodec.info(stream).params[knob] == pytest.approx(value, rel=1e-3)
    with pytest.raises(InvalidArgumentError):
        wavecodec.encode(img, name, **{knob: "high"})


def test_missing_dependency_names_the_extra(monkeypatch):
    """A built-in adapter whose library is missing is not registered; asking for it names the extra."""
    if not HAVE_IMAGECODECS:
        pytest.skip("imagecodecs not installed: pip install 'wavecodec[standard]'")
    from wavecodec.plugins.imagecodecs_codecs import JpegXlCodec

    img = _images()["gray"]
    stream = wavecodec.encode(img, "jpegxl", bpp=2.0)
    monkeypatch.setattr(JpegXlCodec, "module", "wavecodec_no_such_module")
    _registry._unregister("jpegxl")
    plugins._LOADED.pop("jpegxl", None)
    try:
        plugins.discover()
        assert "jpegxl" not in wavecodec.codecs()
        assert "wavecodec[standard]" in plugins.unavailable()["jpegxl"]
        for call in (lambda: wavecodec.encode(img, "jpegxl", bpp=1.0), lambda: wavecodec.decode(stream),
                     lambda: wavecodec.get_codec("jpegxl")):
            with pytest.raises(MissingDependencyError, match=r"pip install 'wavecodec\[standard\]'"):
                call()
    finally:
        monkeypatch.undo()
        _registry._unregister("jpegxl")
        plugins._LOADED.pop("jpegxl", None)
        plugins.discover()
    assert np.array_equal(wavecodec.decode(stream).shape, img.shape)


def test_compressai_unavailable_message_when_torch_missing():
    from wavecodec.plugins.compressai_codec import CompressAICodec

    reason = CompressAICodec.missing_dependency()
    if reason is None:
        pytest.skip("torch and compressai are installed here")
    assert "wavecodec[learned]" in reason
    with pytest.raises(MissingDependencyError, match="learned"):
        wavecodec.get_codec("compressai")


# ============================================================== bisection
@pytest.mark.parametrize("integer", [True, False])
@pytest.mark.parametrize("increasing", [True, False])
@pytest.mark.parametrize("model", ["linear", "exponential"])
def test_bisect_knob_finds_the_largest_fitting_stream(integer, increasing, model):
    def size(k):
        k = k if increasing else 100 - k
        return int(10 + 7 * k) if model == "linear" else int(10 * np.exp(k / 12))

    grid = np.arange(101) if integer else np.linspace(0, 100, 100001)
    for budget in (9, 10, 50, 400, 717, 2000, 10**6):
        calls = []
        found = bisect_knob(lambda k: calls.append(k) or b"x" * size(k), budget, 0, 100, integer=integer,
                            increasing=increasing, iterations=30)
        if budget < 10:
            assert found is None and len(calls) == 1
            continue
        knob, data = found
        assert len(data) <= budget and len(data) == size(knob)
        best = max(size(k) for k in grid if size(k) <= budget)
        assert len(data) >= (best if integer else min(best - 1, (1 - 0.002) * budget))
        assert len(calls) <= (16 if integer else 31)


# ============================================================== thread safety of discovery
_FIRST_CALLS_IN_THREADS = """
import threading, numpy as np, wavecodec
img = (np.arange(48 * 64) % 251).astype(np.uint8).reshape(48, 64)
start = threading.Barrier(8)
failures = []

def first_call(i):
    start.wait()  # the 8 first calls of this process start together
    try:
        stream = wavecodec.encode(img, ("jpeg", "webp")[i % 2], bpp=2.0)
        assert wavecodec.decode(stream).shape == img.shape
    except Exception as exc:
        failures.append(f"thread {i}: {type(exc).__name__}: {exc}")

threads = [threading.Thread(target=first_call, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\\n".join(failures) or "ok")
"""


def test_discovery_is_thread_safe_on_first_calls():
    # a fresh process, so that discovery has not run yet: 8 threads make their first encode at once
    # (before the discovery lock, the threads that came second saw no jpeg/webp: UnknownCodecError)
    import subprocess
    import sys

    for attempt in range(2):
        out = subprocess.run([sys.executable, "-c", _FIRST_CALLS_IN_THREADS], capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "ok", out.stdout


def test_discovery_reentrant_from_a_loading_plugin(monkeypatch):
    # a plug-in that calls codecs() while it is being loaded gets the codecs so far (no deadlock, no recursion)
    seen = {}

    class Reentrant(type(wavecodec.get_codec("jpeg"))):
        name = "toy-reentrant"

        def __init__(self):
            seen["codecs"] = sorted(wavecodec.codecs())

    monkeypatch.setattr(plugins, "_resolve", lambda value: Reentrant)
    try:
        assert plugins.load_plugin("toy-reentrant", "anything:Reentrant") is not None
        assert "spiht" in seen["codecs"]
    finally:
        _registry._unregister("toy-reentrant")
        plugins._LOADED.pop("toy-reentrant", None)


def test_plugin_api_arguments_are_validated():
    with pytest.raises(InvalidArgumentError, match="refresh"):
        plugins.discover(refresh="yes")
    with pytest.raises(InvalidArgumentError, match="name"):
        plugins.load_plugin(3, "x:Y")
    for bad in ("spiht", None, type(wavecodec.get_codec("spiht"))):
        with pytest.raises(InvalidArgumentError, match="codec must be a wavecodec.Codec instance"):
            wavecodec.register(bad)
