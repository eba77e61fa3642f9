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


# ============================================================== published reference curves
def _published_files(tmp_path: Path, curve: dict, metric: str) -> tuple[Path, Path]:
    """A CompressAI result JSON: the measured curve's payload rates at +1 dB; a CSV with two curves."""
    js = tmp_path / "better-codec.json"
    js.write_text(json.dumps({"name": "better-codec", "description": "made up for the test",
                              "results": {"bpp": curve["bpp-payload"], metric: [p + 1.0 for p in curve[metric]],
                                          "ms-ssim-rgb": [0.99, 0.995]}}))
    csv_path = tmp_path / "published.csv"
    rows = ["source,name,bpp,psnr_rgb,ms_ssim_rgb"]
    rows += [f"worse_src,worse-codec,{b},{p - 2.0},0.9" for b, p in zip(curve["bpp-payload"], curve[metric])]
    rows += [f"worse_src,worse-codec,{curve['bpp-payload'][0]},{curve[metric][0] - 2.0},0.9"]  # a repeated point
    rows += ["far_src,far-codec,0.01,10.0,0.5", "far_src,far-codec,0.02,11.0,0.6"]
    csv_path.write_text("\n".join(rows) + "\n")
    return js, csv_path


def test_published_curves_in_tables_plots_and_bd(dataset, tmp_path):
    out = tmp_path / "out"
    cfg = _cfg(dataset, out, jobs=1, modes=["rgb"])
    first = run_bench(cfg, log=lambda s: None)
    measured = first["modes"]["rgb"]["curves"]["spiht"]["results"]
    js, csv_path = _published_files(tmp_path, measured, "psnr-rgb")
    refs = load_references([js, csv_path], ["better-codec", "worse_src"])
    assert [r.name for r in refs] == ["better-codec", "worse-codec"] and len(refs[1].bpp) == 2  # de-duplicated
    logs = []
    summary = run_bench(_cfg(dataset, out, jobs=1, modes=["rgb"], plots=True, references=refs,
                             anchor="spiht,better-codec"), log=logs.append)
    assert summary["run"]["rates_run"] == 0 and summary["rate_basis"] == "payload"
    curves = summary["modes"]["rgb"]["curves"]
    assert curves["better-codec"]["params"]["kind"] == "published" and curves["spiht"]["params"]["kind"] == "measured"
    bd = summary["modes"]["rgb"]["bd"]
    # same payload rates, +1 / -2 dB: exact on the payload basis, against both anchors
    assert bd["spiht"]["better-codec"]["bd_psnr_db"] == pytest.approx(1.0, abs=1e-9)
    assert bd["spiht"]["worse-codec"]["bd_psnr_db"] == pytest.approx(-2.0, abs=1e-9)
    assert bd["better-codec"]["spiht"]["bd_psnr_db"] == pytest.approx(-1.0, abs=1e-9)
    # +1 dB on a ~2 dB PSNR span: the PSNR ranges (BD-rate's axis) overlap too little, flagged (†) and logged
    assert [w.split(":")[0] for w in bd["spiht"]["better-codec"]["warnings"]] == ["BD-rate"]
    assert bd["spiht"]["spiht"]["warnings"] == []
    md = (out / "results.md").read_text()
    assert " †" in md and any("BD vs spiht" in line and "better-codec (BD-rate " in line for line in logs)
    assert "| `better-codec` | *published* |" in md and "BD-PSNR vs better-codec" in md and "on payload bpp" in md
    assert "| `spiht` | measured |" in md
    # measured JSON files only; published curves stay in summary.json
    assert not (out / "rgb" / "better-codec.json").exists() and (out / "rgb" / "spiht.json").exists()
    assert (out / "rd-rgb.png").stat().st_size > 1000
    # a curve far from the anchor: NaN-free figures are flagged, no overlap gives n/a, and the log says so
    far = run_bench(_cfg(dataset, out, jobs=1, modes=["rgb"], plots=False,
                         references=load_references([csv_path], ["far_src"])), log=logs.append)
    assert math.isnan(far["modes"]["rgb"]["bd"]["spiht"]["far-codec"]["bd_psnr_db"])
    assert any("BD vs spiht" in line and "far-codec (no overlap)" in line for line in logs)
    assert "| `far-codec` | *published* | n/a | n/a |" in (out / "results.md").read_text()


def test_published_psnr_is_interpolated_not_extrapolated():
    from wavecodec.bench.report import published_psnr_at

    curve = {"results": {"bpp": [0.1, 0.4], "psnr-rgb": [26.0, 30.0]}}
    assert published_psnr_at(curve, "psnr-rgb", 0.2) == pytest.approx(28.0)  # halfway in log(bpp)
    assert math.isnan(published_psnr_at(curve, "psnr-rgb", 0.5))


def test_reference_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x"}')
    with pytest.raises(wavecodec.InvalidArgumentError, match="--reference .*not a CompressAI result file"):
        load_references([bad])
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("source,bpp\nx,1\n")
    with pytest.raises(wavecodec.InvalidArgumentError, match="columns source, name, bpp and psnr_rgb"):
        load_references([csv_path])
    with pytest.raises(wavecodec.InvalidArgumentError, match="no such file"):
        load_references([tmp_path / "missing.csv"])


def test_repository_reference_file():
    """benchmarks/reference/published-kodak-rd.csv: CompressAI's published Kodak figures, the headline's curves."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "reference" / "published-kodak-rd.csv"
    wanted = ["compressai-bmshj2018-factorized_mse_cpu", "compressai-bmshj2018-hyperprior_mse_cpu",
              "compressai-mbt2018-mean_mse_cpu", "compressai-cheng2020-anchor_mse_cpu", "paper-elic2022_mse", "vtm"]
    refs = load_references([path], wanted)
    assert [r.source for r in refs] == wanted
    assert all(len(r.bpp) >= 6 and r.bpp == sorted(r.bpp) for r in refs)
    fact = refs[0].curve("rgb")["results"]
    assert fact["bpp"][0] == pytest.approx(0.12262) and fact["psnr-rgb"][0] == pytest.approx(26.9088)
    assert refs[0].curve("gray") is None


def test_cli_bench_with_reference(dataset, tmp_path, capsys):
    from wavecodec.cli import main

    out = tmp_path / "cli"
    csv_path = tmp_path / "ref.csv"
    csv_path.write_text("source,name,bpp,psnr_rgb,ms_ssim_rgb\nsrc,lit-codec,1.0,30,0.9\nsrc,lit-codec,3.0,40,0.99\n")
    args = ["bench", str(dataset), "--codecs", "spiht", "--rates", "1,2", "--modes", "rgb", "--jobs", "1",
            "--out", str(out), "--no-progress", "--no-plots", "--reference", str(csv_path)]
    assert main(args + ["--anchor", "spiht,lit-codec"]) == 0
    text = capsys.readouterr().out
    assert "| `lit-codec` | *published* |" in text and "BD-rate vs lit-codec" in text
    assert main(args + ["--reference-curves", "nothing"]) == 2
    assert "no curve 'nothing'" in capsys.readouterr().err
    assert main(args + ["--anchor", "other"]) == 2


def test_option_files_are_keyed_by_content(tmp_path):
    """compressai:checkpoint=FILE: a retrained checkpoint at the same path changes the task key."""
    from wavecodec.bench.harness import CodecSpec, _option_files, task_key

    ckpt = tmp_path / "q3.pth.tar"
    ckpt.write_bytes(b"weights 1")
    spec = CodecSpec("compressai", (("model", "bmshj2018-factorized"), ("checkpoint", str(ckpt))))
    first = _option_files(spec)
    assert set(first) == {"checkpoint"}
    base = {"image": "a", "mode": "rgb", "codec": spec.name, "options": [list(o) for o in spec.options],
            "image_sha256": "0", "msssim": True, "versions": {}, "format_version": 2}
    key1 = task_key({**base, "option_files": first})
    ckpt.write_bytes(b"weights 2")
    assert task_key({**base, "option_files": _option_files(spec)}) != key1
    assert _option_files(CodecSpec("jpeg", (("quality", 50),))) == {}
    assert task_key({**base, "option_files": {}}) == task_key(base)
