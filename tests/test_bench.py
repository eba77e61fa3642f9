"""Benchmark harness: Bjontegaard figures, CompressAI JSON format, pool vs Dask identity, resume, CLI."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import wavecodec
from wavecodec.bench import BDOverlapWarning, BenchConfig, bd_overlap, bd_psnr, bd_rate, load_references, parse_codecs, run_bench
from wavecodec.bench.harness import TIMING_FIELDS

from conftest import make_image


# ============================================================== Bjontegaard
ANCHOR_R = [0.1, 0.25, 0.5, 1.0]
ANCHOR_P = [27.0, 30.5, 33.6, 37.9]


def test_bd_rate_of_a_uniformly_cheaper_codec():
    # the same PSNRs at 80 % of the rate: exactly -20 %, and the anchor against itself is 0
    assert bd_rate(ANCHOR_R, ANCHOR_P, [0.8 * r for r in ANCHOR_R], ANCHOR_P) == pytest.approx(-20.0, abs=1e-9)
    assert bd_rate(ANCHOR_R, ANCHOR_P, [1.25 * r for r in ANCHOR_R], ANCHOR_P) == pytest.approx(25.0, abs=1e-9)
    assert bd_rate(ANCHOR_R, ANCHOR_P, ANCHOR_R, ANCHOR_P) == pytest.approx(0.0, abs=1e-12)
    assert bd_psnr(ANCHOR_R, ANCHOR_P, ANCHOR_R, ANCHOR_P) == pytest.approx(0.0, abs=1e-12)


def test_bd_psnr_of_a_uniformly_better_codec():
    assert bd_psnr(ANCHOR_R, ANCHOR_P, ANCHOR_R, [p + 1.0 for p in ANCHOR_P]) == pytest.approx(1.0, abs=1e-9)
    assert bd_psnr(ANCHOR_R, ANCHOR_P, ANCHOR_R, [p - 0.5 for p in ANCHOR_P]) == pytest.approx(-0.5, abs=1e-9)


def test_bd_worked_example_against_independent_integration():
    """Four points per curve: the VCEG-M33 cubic is the interpolating polynomial, integrated here by quadrature."""
    from scipy.integrate import quad
    from scipy.interpolate import lagrange

    test_r = [0.12, 0.27, 0.55, 1.05]
    test_p = [27.6, 31.0, 34.0, 38.1]
    la, lt = np.log(ANCHOR_R), np.log(test_r)
    # BD-PSNR: PSNR as a function of log-rate over the common log-rate interval
    fa, ft = lagrange(la, ANCHOR_P), lagrange(lt, test_p)
    lo, hi = max(la.min(), lt.min()), min(la.max(), lt.max())
    expected_psnr = (quad(ft, lo, hi)[0] - quad(fa, lo, hi)[0]) / (hi - lo)
    # BD-rate: log-rate as a function of PSNR over the common PSNR interval
    ga, gt = lagrange(ANCHOR_P, la), lagrange(test_p, lt)
    lo, hi = max(min(ANCHOR_P), min(test_p)), min(max(ANCHOR_P), max(test_p))
    expected_rate = (math.exp((quad(gt, lo, hi)[0] - quad(ga, lo, hi)[0]) / (hi - lo)) - 1) * 100
    assert bd_psnr(ANCHOR_R, ANCHOR_P, test_r, test_p) == pytest.approx(expected_psnr, abs=1e-6)
    assert bd_rate(ANCHOR_R, ANCHOR_P, test_r, test_p) == pytest.approx(expected_rate, abs=1e-5)
    # hand check of the sign and size: the test curve sits ~0.3 dB above at ~10 % more rate
    assert -1.0 < expected_psnr < 1.0 and -15 < expected_rate < 15


def test_bd_without_overlap_is_nan_and_warns():
    with pytest.warns(BDOverlapWarning, match="do not overlap along PSNR"):
        assert math.isnan(bd_rate([0.1, 0.2], [20, 21], [1, 2], [40, 41]))
    with pytest.warns(BDOverlapWarning, match="do not overlap along log-rate"):
        assert math.isnan(bd_psnr([0.1, 0.2], [20, 21], [1, 2], [40, 41]))
    assert math.isnan(bd_rate([0.1], [20], [0.1], [21]))


def test_bd_warns_on_insufficient_overlap_like_the_bjontegaard_package():
    """Overlap = common range / union of the ranges along the integration axis; < 75 % warns (FAU-LMS default)."""
    # PSNR ranges [27.0, 37.9] and [33.0, 43.9]: common 4.9 dB of a 16.9 dB union = 29 %
    shifted = [p + 6.0 for p in ANCHOR_P]
    with pytest.warns(BDOverlapWarning, match=r"insufficient curve overlap along PSNR: 29% .*minimum 75%"):
        bd_rate(ANCHOR_R, ANCHOR_P, ANCHOR_R, shifted)
    assert bd_overlap(ANCHOR_R, ANCHOR_P, ANCHOR_R, shifted)["psnr"] == pytest.approx(4.9 / 16.9)
    # log-rate ranges [0.1, 1] and [0.25, 2.5]: log(4)/log(25) = 43 %
    with pytest.warns(BDOverlapWarning, match="insufficient curve overlap along log-rate: 43%"):
        bd_psnr(ANCHOR_R, ANCHOR_P, [2.5 * r for r in ANCHOR_R], ANCHOR_P)
    # 80 % of the range in common (the 75 % threshold is not crossed): no warning (warnings are errors here)
    assert bd_overlap(ANCHOR_R, ANCHOR_P, [r * 10 ** 0.2 for r in ANCHOR_R], ANCHOR_P)["log_rate"] == pytest.approx(0.8 / 1.2)
    near = [r * 10 ** 0.1 for r in ANCHOR_R]
    assert bd_overlap(ANCHOR_R, ANCHOR_P, near, ANCHOR_P)["log_rate"] == pytest.approx(0.9 / 1.1)
    assert bd_psnr(ANCHOR_R, ANCHOR_P, near, ANCHOR_P) < 0
    # the threshold is a parameter, as in the bjontegaard package (min_overlap=0 silences the warning)
    assert bd_rate(ANCHOR_R, ANCHOR_P, ANCHOR_R, shifted, min_overlap=0) < 0


# ============================================================== harness
@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    Image.fromarray(make_image(40, 56, 3, seed=21)).save(folder / "img_a.png")
    yy, xx = np.mgrid[0:48, 0:40]
    smooth = np.stack([(100 + 80 * np.sin(xx / 6 + k) * np.cos(yy / 9)).astype(np.uint8) for k in range(3)], axis=2)
    noise = make_image(48, 40, 3, seed=22) // 16  # keeps every rate lossy (finite PSNR)
    Image.fromarray(smooth + noise).save(folder / "img_b.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def _cfg(dataset: Path, out: Path, **kw) -> BenchConfig:
    base = dict(dataset=dataset, codecs=parse_codecs("spiht,jpeg:subsampling=4:4:4"), rates=[2.0, 3.0],
                modes=["gray", "rgb"], out=out, anchor="spiht", progress=False, plots=False)
    base.update(kw)
    return BenchConfig(**base)


def _strip_timing(obj):
    """Everything but the wall-clock measurements (which no two runs share)."""
    obj = copy.deepcopy(obj)
    if isinstance(obj, dict):
        obj.pop("run", None)
        for k in list(obj):
            if k in TIMING_FIELDS:
                obj.pop(k)
            else:
                obj[k] = _strip_timing(obj[k])
    elif isinstance(obj, list):
        obj = [_strip_timing(v) for v in obj]
    return obj


def _per_image(out: Path) -> dict:
    return {str(p.relative_to(out)): json.loads(p.read_text()) for p in sorted((out / "per_image").rglob("*.json"))}


def test_parse_codecs_with_options():
    specs = parse_codecs("spiht, spiht:variant=binary:levels=3 ,jpeg:quality=50")
    assert [s.label for s in specs] == ["spiht", "spiht:variant=binary:levels=3", "jpeg:quality=50"]
    assert specs[1].kwargs() == {"variant": "binary", "levels": 3}
    assert "/" not in specs[1].slug and ":" not in specs[1].slug
    with pytest.raises(wavecodec.InvalidArgumentError, match="unknown option"):
        parse_codecs("spiht:nope=1")
    with pytest.raises(wavecodec.UnknownCodecError):
        parse_codecs("nocodec")
    assert "compressai" not in [s.name for s in parse_codecs("all")]


@pytest.mark.slow  # starts a process pool and a Dask LocalCluster
def test_pool_and_dask_give_identical_results(dataset, tmp_path):
    """The process pool and a Dask LocalCluster produce the same results, file for file (timings aside)."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed: pip install 'wavecodec[dask]'")
    pool = run_bench(_cfg(dataset, tmp_path / "pool", jobs=2), log=lambda s: None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            dask = run_bench(_cfg(dataset, tmp_path / "dask", scheduler=client), log=lambda s: None)
    assert dask["run"]["executor"] == "dask" and pool["run"]["executor"].startswith("process pool")
    assert _strip_timing(pool) == _strip_timing(dask)
    a, b = _per_image(tmp_path / "pool"), _per_image(tmp_path / "dask")
    assert len(a) == 8 and a.keys() == b.keys()
    assert _strip_timing(a) == _strip_timing(b)
    serial = run_bench(_cfg(dataset, tmp_path / "serial", jobs=1), log=lambda s: None)
    assert _strip_timing(serial) == _strip_timing(pool)


def test_outputs_follow_compressai_json_format(dataset, tmp_path):
    out = tmp_path / "out"
    summary = run_bench(_cfg(dataset, out, jobs=1, plots=True), log=lambda s: None)
    for mode, psnr_key, msssim_key in (("gray", "psnr-y", "ms-ssim-y"), ("rgb", "psnr-rgb", "ms-ssim-rgb")):
        for name in ("spiht", "jpeg__subsampling=4__4__4"):
            data = json.loads((out / mode / f"{name}.json").read_text())
            # what CompressAI's plotting tool (compressai.utils.plot) reads: name, results[metric], results["bpp"]
            assert isinstance(data["name"], str) and isinstance(data["description"], str)
            res = data["results"]
            assert set(res) >= {"bpp", psnr_key, msssim_key, "encoding_time", "decoding_time"}
            n = len(res["bpp"])
            assert n == 2 and all(len(res[k]) == n for k in res)
            assert all(isinstance(v, float) for k in res for v in res[k])
            assert res["bpp"] == sorted(res["bpp"]) and all(b <= r for b, r in zip(res["bpp"], [2.0, 3.0]))
            assert 0 < res[msssim_key][0] <= 1 and res[psnr_key][1] > res[psnr_key][0]
            assert data["params"]["target_bpp"] == [2.0, 3.0] and data["params"]["n_images"] == 2
            _compressai_plot_parse(out / mode / f"{name}.json", psnr_key)
    per = _per_image(out)
    one = per["per_image/rgb/spiht/img_a.json"]
    assert one["params"]["image"] == "img_a" and len(one["results"]["psnr-rgb"]) == 2
    md = (out / "results.md").read_text()
    assert "BD-rate" in md and "`jpeg:subsampling=4:4:4`" in md and "anchor" in md
    assert summary["anchors"] == ["spiht"] and summary["rate_basis"] == "container"
    assert set(summary["modes"]["gray"]["bd"]["spiht"]) == {"spiht", "jpeg:subsampling=4:4:4"}
    assert summary["modes"]["gray"]["bd"]["spiht"]["spiht"]["bd_psnr_db"] == pytest.approx(0.0, abs=1e-9)
    for ext in ("png", "svg"):
        assert (out / f"rd-gray.{ext}").stat().st_size > 1000 and (out / f"rd-rgb.{ext}").exists()


def _compressai_plot_parse(path: Path, metric: str) -> None:
    """compressai.utils.plot's reader when installed, else the same steps (name, results[metric], bpp)."""
    try:
        from compressai.utils.plot.__main__ import parse_json_file
    except Exception:  # noqa: BLE001 - compressai absent or not importable here
        data = json.loads(path.read_text())
        results = data["results"] if "results" in data else data
        assert metric in results
        parsed = {"name": data.get("name", path.stem), "xs": results["bpp"], "ys": results[metric]}
    else:
        parsed = parse_json_file(path, metric)
    assert len(parsed["xs"]) == len(parsed["ys"]) > 0


def test_resume_runs_only_missing_tasks(dataset, tmp_path):
    out = tmp_path / "out"
    first = run_bench(_cfg(dataset, out, jobs=1), log=lambda s: None)
    assert first["run"]["tasks_run"] == 8
    victim = out / "per_image" / "gray" / "spiht" / "img_b.json"
    victim.unlink()
    logs = []
    second = run_bench(_cfg(dataset, out, jobs=1), log=logs.append)
    assert second["run"]["tasks_run"] == 1 and victim.exists()
    assert any("resuming: 14 of 16 (task, rate) results" in line and "1 of 8 tasks to run" in line for line in logs)
    assert _strip_timing(first) == _strip_timing(second)
    assert run_bench(_cfg(dataset, out, jobs=1, resume=False), log=lambda s: None)["run"]["rates_run"] == 16


def test_resume_is_per_rate(dataset, tmp_path):
    """Adding a rate computes only that rate; the stored rates (their timings too) are reused as they are."""
    out = tmp_path / "out"
    run_bench(_cfg(dataset, out, jobs=1), log=lambda s: None)
    before = _per_image(out)
    more = run_bench(_cfg(dataset, out, jobs=1, rates=[1.5, 2.0, 3.0]), log=lambda s: None)
    assert more["run"]["tasks_run"] == 8 and more["run"]["rates_run"] == 8  # one new rate in each of the 8 tasks
    after = _per_image(out)
    for name, rec in after.items():
        old = before[name]
        assert rec["params"]["target_bpp"] == [1.5, 2.0, 3.0]
        # rates 2 and 3 untouched, timings included (they were not re-measured)
        assert rec["results"]["encoding_time"][1:] == old["results"]["encoding_time"]
        assert rec["params"]["points"][1:] == old["params"]["points"]
    # a subset of the stored rates: nothing to run, the curve has only the requested rates
    fewer = run_bench(_cfg(dataset, out, jobs=1, rates=[3.0]), log=lambda s: None)
    assert fewer["run"]["rates_run"] == 0
    assert fewer["modes"]["rgb"]["curves"]["spiht"]["params"]["target_bpp"] == [3.0]
    # the files keep every rate measured so far
    assert _per_image(out)["per_image/rgb/spiht/img_a.json"]["params"]["target_bpp"] == [1.5, 2.0, 3.0]


def test_resume_key_has_versions_and_options(dataset, tmp_path, monkeypatch):
    from wavecodec.bench import harness

    versions = harness.codec_versions("jpeg")
    assert versions["wavecodec"] == wavecodec.__version__ and "PIL" in versions and "PIL.features.jpg" in versions
    assert set(harness.codec_versions("spiht")) == {"wavecodec"}
    out = tmp_path / "out"
    run_bench(_cfg(dataset, out, jobs=1), log=lambda s: None)
    # another libjpeg-turbo: jpeg's tasks are recomputed, spiht's are not
    monkeypatch.setitem(harness._VERSIONS_CACHE, "jpeg", {**versions, "PIL.features.jpg": "0.0-other"})
    again = run_bench(_cfg(dataset, out, jobs=1), log=lambda s: None)
    assert again["run"]["tasks_run"] == 4 and again["run"]["rates_run"] == 8
    rec = _per_image(out)["per_image/gray/jpeg__subsampling=4__4__4/img_a.json"]
    assert rec["params"]["versions"]["PIL.features.jpg"] == "0.0-other"
    # another wavecodec version: everything
    monkeypatch.setattr(wavecodec, "__version__", "9.9.9")
    harness._VERSIONS_CACHE.clear()
    assert run_bench(_cfg(dataset, out, jobs=1), log=lambda s: None)["run"]["tasks_run"] == 8
    # another option value: that codec's tasks only
    changed = _cfg(dataset, out, jobs=1, codecs=parse_codecs("spiht:variant=binary,jpeg:subsampling=4:4:4"))
    assert run_bench(changed, log=lambda s: None)["run"]["tasks_run"] == 4


def test_worker_with_other_versions_records_errors(dataset, tmp_path):
    from wavecodec.bench.harness import make_tasks, run_task

    task = make_tasks(_cfg(dataset, tmp_path, codecs=parse_codecs("spiht"), modes=["gray"]))[0]
    task["versions"] = {"wavecodec": "0.0.0-client"}
    rec = run_task(task)
    assert rec["params"]["points"] == [] and len(rec["params"]["errors"]) == 2
    assert "worker versions" in rec["params"]["errors"][0]["message"]


def test_payload_bpp_beside_container_bpp(dataset, tmp_path):
    summary = run_bench(_cfg(dataset, tmp_path / "out", jobs=1, modes=["rgb"]), log=lambda s: None)
    rec = _per_image(tmp_path / "out")["per_image/rgb/spiht/img_a.json"]
    h, w = rec["params"]["shape"][:2]
    for i, pt in enumerate(rec["params"]["points"]):
        info_header = pt["bytes"] - pt["payload_bytes"]
        assert 10 < info_header < 100  # the wavecodec container header
        assert rec["results"]["bpp-payload"][i] == pytest.approx(8 * pt["payload_bytes"] / (h * w))
        assert rec["results"]["bpp"][i] - rec["results"]["bpp-payload"][i] == pytest.approx(8 * info_header / (h * w))
    curve = summary["modes"]["rgb"]["curves"]["spiht"]["results"]
    assert all(p < b for p, b in zip(curve["bpp-payload"], curve["bpp"]))
    assert "| header |" in (tmp_path / "out" / "results.md").read_text()


def test_fixed_rate_codec_gives_one_point(dataset, tmp_path):
    """A codec whose options fix its rate (e.g. compressai:checkpoint=..., here jpeg:quality=...) is one point."""
    cfg = _cfg(dataset, tmp_path / "out", codecs=parse_codecs("spiht,jpeg:quality=40"), rates=[2.0, 3.0, 4.0],
               modes=["gray"], jobs=1)
    summary = run_bench(cfg, log=lambda s: None)
    curve = summary["modes"]["gray"]["curves"]["jpeg:quality=40"]
    assert len(curve["results"]["bpp"]) == 1 and curve["params"]["same_streams_as"] == {"3.0": 2.0, "4.0": 2.0}
    assert "| same | same |" in (tmp_path / "out" / "results.md").read_text()


def test_unreachable_rates_are_reported(dataset, tmp_path):
    cfg = _cfg(dataset, tmp_path / "out", codecs=parse_codecs("jpeg"), rates=[0.05, 3.0], modes=["rgb"], anchor="jpeg", jobs=1)
    summary = run_bench(cfg, log=lambda s: None)
    curve = summary["modes"]["rgb"]["curves"]["jpeg"]
    assert curve["params"]["target_bpp"] == [3.0] and curve["params"]["unreachable_rates"] == {"0.05": 2}
    assert "unreach." in (tmp_path / "out" / "results.md").read_text()


def test_cli_bench(dataset, tmp_path, capsys):
    from wavecodec.cli import main

    out = tmp_path / "cli"
    rc = main(["bench", str(dataset), "--codecs", "spiht,jpeg", "--rates", "1,2", "--modes", "gray", "--jobs", "1",
               "--out", str(out), "--no-progress", "--no-plots"])
    assert rc == 0
    assert "BD-rate" in capsys.readouterr().out
    assert (out / "gray" / "jpeg.json").exists() and (out / "summary.json").exists()
    assert main(["bench", str(dataset), "--codecs", "nocodec", "--out", str(out)]) == 2
    assert main(["bench", str(dataset), "--codecs", "spiht", "--anchor", "jpeg", "--out", str(out)]) == 2
    assert main(["bench", str(tmp_path / "empty-missing"), "--codecs", "spiht", "--out", str(out)]) == 2
