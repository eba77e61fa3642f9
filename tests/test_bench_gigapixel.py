"""benchmarks/bench_gigapixel.py: the mosaic helpers, and one tiny run through a running Dask cluster."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_gigapixel.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_gigapixel", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_gigapixel"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_gigapixel", None)


@pytest.fixture(scope="module")
def sources(bench):
    return bench.load_sources(None)[0]  # scikit-image's images: no Kodak needed


def test_chunks_are_deterministic_and_natural(bench, sources):
    a = bench.make_chunk(sources, 3, 5, 1024)
    assert a.shape == (1024, 1024) and a.dtype == np.uint8
    assert np.array_equal(a, bench.make_chunk(sources, 3, 5, 1024))
    assert not np.array_equal(a, bench.make_chunk(sources, 5, 3, 1024))
    assert a.std() > 20  # image content, not a flat fill
    edge = bench.make_block(sources, 3, 5, 1024, 100, 700)
    assert np.array_equal(edge, a[:100, :700])
    small = bench.make_chunk(sources, 0, 0, 300)  # a chunk smaller than a tile
    assert small.shape == (300, 300)


def test_window_matches_chunks(bench, sources):
    chunk = 600
    y0, x0, side = bench.window_origin(2000, chunk, 900)
    assert side == 900 and y0 // chunk != (y0 + side - 1) // chunk and x0 // chunk != (x0 + side - 1) // chunk
    win = bench.make_window(sources, y0, x0, side, side, chunk)
    i, j = (y0 + side - 1) // chunk, (x0 + side - 1) // chunk  # the last chunk under the window
    ref = bench.make_chunk(sources, i, j, chunk)
    assert np.array_equal(win[i * chunk - y0:, j * chunk - x0:], ref[: y0 + side - i * chunk, : x0 + side - j * chunk])
    assert bench.window_origin(500, 256, 5000) == (0, 0, 500)


def test_check_block_and_psnr(bench, sources):
    orig = bench.make_block(sources, 1, 2, 256, 256, 200)
    sse, maxerr, n = bench.check_block(orig, sources, 1, 2, 256)
    assert (sse, maxerr, n) == (0, 0, 256 * 200) and bench.psnr(sse, n) == float("inf")
    noisy = orig.copy()
    noisy[0, 0] ^= 4
    sse, maxerr, _ = bench.check_block(noisy, sources, 1, 2, 256)
    assert sse == 16 and maxerr == 4
    assert bench.zarr_codec_name("canny-spiht") == "wavecodec_canny_spiht"


@pytest.mark.slow  # starts a Dask LocalCluster (one worker process)
def test_tiny_run_on_a_running_cluster(bench, tmp_path):
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("zarr")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        res = bench.main(["--size", "600", "--chunk", "256", "--window", "300", "--kodak", str(tmp_path / "none"),
                          "--scheduler", cluster.scheduler_address, "--store", str(tmp_path / "store"),
                          "--out", str(tmp_path / "out.json")])
    lossless, lossy = res["codings"]
    assert lossless["exact"] and lossless["window"]["max_abs_error"] == 0
    assert 20 < lossy["psnr"] < 60 and lossy["bpp"] <= 1.0 * 256 * 256 * 9 / (600 * 600)  # 9 chunks of 256x256 at 1 bpp
    assert lossy["window"]["chunks"] == 9 and lossy["write_mem"]["max_peak"] > 0
    assert json.loads((tmp_path / "out.json").read_text())["size"] == 600
    assert not (tmp_path / "store" / "lossless.zarr").exists()  # removed without --keep
