"""The benchmark run: tasks, workers (process pool or Dask), resumable per-image results, aggregation.

One *task* is one image x one mode (gray / rgb) x one codec spec, coded at every
requested rate.  Its result is written to ``OUT/per_image/<mode>/<codec label>/<image>.json``
(CompressAI's JSON layout for one image) as soon as it arrives, so an interrupted run
resumes where it stopped: a task whose file exists with the same task key (codec,
options, rates, image content hash) is not run again.

Workers receive the image *file bytes*, not a path, so that Dask workers on other
machines need no shared file system; they return plain dicts.  Apart from the timing
fields, a task's result depends only on the task, so the process pool, the Dask
cluster and a serial run give identical results.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = ["CodecSpec", "parse_codecs", "BenchConfig", "make_tasks", "run_task", "run_bench", "aggregate",
           "TIMING_FIELDS", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".ppm", ".pgm", ".bmp", ".tif", ".tiff")
TIMING_FIELDS = ("encoding_time", "decoding_time")
MODES = ("gray", "rgb")
FORMAT_VERSION = 1


# =========================================================================== codec specs
@dataclass(frozen=True)
class CodecSpec:
    """A codec and its options, as written on the command line: ``name[:opt=value[:opt=value...]]``."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        if not self.options:
            return self.name
        return self.name + ":" + ":".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in self.options)

    @property
    def slug(self) -> str:
        """File-name form of the label."""
        return re.sub(r"[^A-Za-z0-9._=-]+", "_", self.label.replace(":", "__"))

    def kwargs(self) -> dict[str, Any]:
        return dict(self.options)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_codecs(text: str, *, available: Iterable[str] | None = None) -> list[CodecSpec]:
    """Parse ``"spiht,ezw:variant=plain,jpeg2000"``; ``all`` expands to every registered codec but ``compressai``."""
    import wavecodec
    from wavecodec.plugins import is_adapter  # noqa: F401

    specs: list[CodecSpec] = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        if item == "all":
            names = [n for n in (available or wavecodec.codecs()) if n != "compressai"]
            specs += [CodecSpec(n) for n in names if CodecSpec(n) not in specs]
            continue
        name, *opts = item.split(":")
        pairs: list[list[str]] = []
        for o in opts:
            if "=" not in o:
                if not pairs:
                    raise ValueError(f"codec option {o!r} in {item!r} must look like NAME=VALUE")
                pairs[-1][1] += ":" + o  # a value with colons, e.g. subsampling=4:4:4
                continue
            k, v = o.split("=", 1)
            pairs.append([k.strip(), v.strip()])
        options = [(k, _parse_value(v)) for k, v in pairs]
        spec = CodecSpec(name.strip(), tuple(options))
        wavecodec.get_codec(spec.name).resolve_options(spec.kwargs())  # fail early, with wavecodec's message
        specs.append(spec)
    if not specs:
        raise ValueError("no codec given")
    return specs


# =========================================================================== tasks
@dataclass
class BenchConfig:
    dataset: Path
    codecs: list[CodecSpec]
    rates: list[float]
    modes: list[str] = field(default_factory=lambda: list(MODES))
    out: Path = Path("bench-results")
    images: int | None = None
    anchor: str | None = None
    jobs: int = 0  # 0 = one per CPU
    scheduler: str | None = None
    resume: bool = True
    progress: bool = True
    plots: bool = True
    msssim: bool = True


def list_images(dataset: Path, limit: int | None = None) -> list[Path]:
    paths = sorted(p for p in Path(dataset).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {dataset}")
    return paths[:limit] if limit else paths


def make_tasks(cfg: BenchConfig) -> list[dict]:
    """Every (mode, codec, image) task of the run, in a fixed order."""
    tasks = []
    images = list_images(cfg.dataset, cfg.images)
    blobs = {p: p.read_bytes() for p in images}
    digests = {p: hashlib.sha256(b).hexdigest()[:16] for p, b in blobs.items()}
    for mode in cfg.modes:
        for spec in cfg.codecs:
            for p in images:
                task = {
                    "image": p.stem, "mode": mode, "codec": spec.name, "options": [list(o) for o in spec.options],
                    "label": spec.label, "slug": spec.slug, "rates": [float(r) for r in cfg.rates],
                    "image_sha256": digests[p], "msssim": cfg.msssim,
                }
                task["key"] = hashlib.sha256(json.dumps(
                    {k: task[k] for k in ("image", "mode", "codec", "options", "rates", "image_sha256", "msssim")},
                    sort_keys=True).encode()).hexdigest()[:20]
                task["data"] = blobs[p]
                tasks.append(task)
    return tasks


def result_path(out: Path, task: dict) -> Path:
    return Path(out) / "per_image" / task["mode"] / task["slug"] / f"{task['image']}.json"


def _metric_names(mode: str) -> tuple[str, str]:
    return ("psnr-y", "ms-ssim-y") if mode == "gray" else ("psnr-rgb", "ms-ssim-rgb")


def _load(data: bytes, mode: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        if im.mode.startswith("I;16") and mode == "gray":
            return np.asarray(im, dtype=np.uint16)
        return np.asarray(im.convert("L" if mode == "gray" else "RGB"))


def run_task(task: dict) -> dict:
    """Code one image at every rate with one codec; return its CompressAI-style per-image record.

    Runs in a worker (process pool or Dask); depends only on ``task`` (timings aside).
    """
    import wavecodec
    from wavecodec.metrics import ms_ssim, psnr

    img = _load(task["data"], task["mode"])
    h, w = img.shape[:2]
    codec = wavecodec.get_codec(task["codec"])
    options = {k: v for k, v in task["options"]}
    psnr_key, msssim_key = _metric_names(task["mode"])
    _warm_up(task["codec"], options, img, max(task["rates"]))
    results: dict[str, list] = {"bpp": [], psnr_key: [], msssim_key: [], "encoding_time": [], "decoding_time": []}
    points, unreachable, errors = [], [], []
    for rate in task["rates"]:
        try:
            t0 = time.perf_counter()
            stream = wavecodec.encode(img, task["codec"], bpp=rate, **options)
            t1 = time.perf_counter()
            out = wavecodec.decode(stream)
            t2 = time.perf_counter()
        except wavecodec.WavecodecError as exc:
            kind = "unreachable" if "unreachable" in str(exc) else "error"
            (unreachable if kind == "unreachable" else errors).append({"target_bpp": rate, "message": str(exc)})
            continue
        except Exception as exc:  # noqa: BLE001 - a codec bug must not end a long run: record it
            errors.append({"target_bpp": rate, "message": f"{type(exc).__name__}: {exc}"})
            continue
        q = psnr(img, out)
        m = float(ms_ssim(img, out)) if task["msssim"] else math.nan
        results["bpp"].append(8.0 * len(stream) / (h * w))
        results[psnr_key].append(float(q))
        results[msssim_key].append(m)
        results["encoding_time"].append(t1 - t0)
        results["decoding_time"].append(t2 - t1)
        points.append({"target_bpp": rate, "bytes": len(stream), "stream_params": _jsonable(wavecodec.info(stream).params)})
    return {
        "name": task["label"],
        "description": f"{codec.description} ({task['label']}) on {task['image']}, {task['mode']}",
        "results": results,
        "params": {
            "codec": task["codec"], "options": options, "mode": task["mode"], "image": task["image"],
            "shape": list(img.shape), "target_bpp": task["rates"], "points": points,
            "unreachable": unreachable, "errors": errors, "task_key": task["key"],
            "image_sha256": task["image_sha256"], "format_version": FORMAT_VERSION,
        },
    }


_WARM: set[str] = set()


def _warm_up(codec: str, options: dict, img: np.ndarray, rate: float) -> None:
    """Code a small crop once per worker process and codec, untimed: Numba compiles (or loads
    its cache) and libraries initialise here, not inside the first measured encode."""
    import wavecodec

    key = json.dumps([codec, options, img.ndim], sort_keys=True, default=str)
    if key in _WARM:
        return
    _WARM.add(key)
    try:
        wavecodec.decode(wavecodec.encode(np.ascontiguousarray(img[:64, :64]), codec, bpp=max(rate, 1.0), **options))
    except Exception:  # noqa: BLE001 - the measured run reports any problem
        pass


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj)
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return str(obj)


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=1, allow_nan=True)
    os.replace(tmp, path)  # atomic: an interrupted run never leaves a half-written result


def _done(out: Path, task: dict) -> dict | None:
    path = result_path(out, task)
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if rec.get("params", {}).get("task_key") == task["key"] else None


# =========================================================================== execution
def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="task", dynamic_ncols=True)


def _execute_pool(tasks: list[dict], jobs: int, on_result: Callable[[dict, dict], None]) -> None:
    if jobs <= 1 or len(tasks) <= 1:
        for t in tasks:
            on_result(t, run_task(t))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("spawn")  # no fork after Numba / threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {pool.submit(run_task, t): t for t in tasks}
        for fut in as_completed(futures):
            on_result(futures[fut], fut.result())


def _execute_dask(tasks: list[dict], scheduler: Any, on_result: Callable[[dict, dict], None]) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        from wavecodec.errors import MissingDependencyError

        raise MissingDependencyError("--scheduler needs dask.distributed: pip install 'wavecodec[dask]'") from None
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = client.map(run_task, tasks, key=[f"wavecodec-bench-{t['key']}" for t in tasks], pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        for fut in as_completed(futures):
            on_result(by_key[fut.key], fut.result())
    finally:
        if client is not scheduler:
            client.close()


def run_bench(cfg: BenchConfig, *, log: Callable[[str], None] = print) -> dict:
    """Run (or resume) the benchmark and write every output; return the summary."""
    out = Path(cfg.out)
    tasks = make_tasks(cfg)
    todo = [t for t in tasks if not (cfg.resume and _done(out, t) is not None)]
    if len(todo) < len(tasks):
        log(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} tasks already done in {out}")
    jobs = cfg.jobs or (os.cpu_count() or 1)
    bar = _progress(len(todo), cfg.progress and bool(todo), "wavecodec bench")

    def on_result(task: dict, rec: dict) -> None:
        _write_json(result_path(out, task), rec)
        if bar is not None:
            bar.update(1)

    t0 = time.perf_counter()
    try:
        if todo:
            if cfg.scheduler is not None:
                _execute_dask(todo, cfg.scheduler, on_result)
            else:
                _execute_pool(todo, jobs, on_result)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    records = []
    for t in tasks:
        rec = _done(out, t)
        if rec is None:
            raise RuntimeError(f"result of task {t['mode']}/{t['label']}/{t['image']} missing after the run")
        records.append(rec)
    from .report import write_reports

    summary = aggregate(records, cfg)
    summary["run"] = {
        "tasks": len(tasks), "tasks_run": len(todo), "wall_s": wall,
        "executor": "dask" if cfg.scheduler is not None else (f"process pool ({jobs} workers)" if jobs > 1 else "serial"),
        "environment": environment(),
    }
    write_reports(summary, cfg, log=log)
    return summary


# =========================================================================== aggregation
def _mean(xs: Sequence[float]) -> float:
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return statistics.fmean(xs) if xs else math.nan


def aggregate(records: list[dict], cfg: BenchConfig) -> dict:
    """Dataset averages per (mode, codec label) in CompressAI's format, plus BD figures against the anchor."""
    from .bjontegaard import bd_psnr, bd_rate

    import wavecodec

    summary: dict[str, Any] = {"modes": {}, "rates": list(cfg.rates)}
    anchor = cfg.anchor or (cfg.codecs[0].label if cfg.codecs else None)
    summary["anchor"] = anchor
    for mode in cfg.modes:
        psnr_key, msssim_key = _metric_names(mode)
        curves: dict[str, dict] = {}
        for spec in cfg.codecs:
            recs = sorted((r for r in records if r["params"]["mode"] == mode and r["name"] == spec.label),
                          key=lambda r: r["params"]["image"])
            by_rate: dict[float, list[dict]] = {rate: [] for rate in cfg.rates}
            for r in recs:
                for i, pt in enumerate(r["params"]["points"]):
                    by_rate[pt["target_bpp"]].append({k: r["results"][k][i] for k in r["results"]})
            results: dict[str, list] = {k: [] for k in ("bpp", psnr_key, msssim_key, "encoding_time", "decoding_time")}
            kept, missing = [], {}
            for rate in cfg.rates:
                pts = by_rate[rate]
                if len(pts) < len(recs) or not pts:
                    missing[str(rate)] = len(recs) - len(pts)
                    continue
                kept.append(rate)
                for k in results:
                    results[k].append(_mean([p[k] for p in pts]))
            codec = wavecodec.get_codec(spec.name)
            curves[spec.label] = {
                "name": spec.label,
                "description": f"{codec.description}; {codec.reference}".strip("; "),
                "results": results,
                "params": {
                    "codec": spec.name, "options": spec.kwargs(), "mode": mode, "target_bpp": kept,
                    "images": [r["params"]["image"] for r in recs], "n_images": len(recs),
                    "unreachable_rates": missing,
                    "unreachable_detail": sorted({u["message"].split(":")[0] for r in recs for u in r["params"]["unreachable"]}),
                    "errors": [f"{r['params']['image']}@{e['target_bpp']}: {e['message']}" for r in recs for e in r["params"]["errors"]],
                    "averaging": "arithmetic mean over images at each target rate (rates some image cannot reach are dropped)",
                },
            }
        bd: dict[str, dict] = {}
        if anchor in curves:
            a = curves[anchor]["results"]
            for label, c in curves.items():
                r = c["results"]
                bd[label] = {
                    "bd_rate_percent": bd_rate(a["bpp"], a[psnr_key], r["bpp"], r[psnr_key]),
                    "bd_psnr_db": bd_psnr(a["bpp"], a[psnr_key], r["bpp"], r[psnr_key]),
                    "points": [len(a["bpp"]), len(r["bpp"])],
                }
        summary["modes"][mode] = {"metric": psnr_key, "curves": curves, "bd": bd}
    return summary


def environment() -> dict:
    env = {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count()}
    for mod in ("wavecodec", "numpy", "numba", "PIL", "imagecodecs", "torch", "compressai"):
        m = sys.modules.get(mod)
        if m is None:
            try:
                m = __import__(mod)
            except Exception:  # noqa: BLE001
                continue
        env[mod] = getattr(m, "__version__", "?")
    return env
