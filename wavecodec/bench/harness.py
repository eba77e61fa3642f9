"""The benchmark run: tasks, workers (process pool or Dask), resumable per-image results, aggregation.

One *task* is one image x one mode (gray / rgb) x one codec spec, coded at the
requested rates it has not been coded at yet.  Its result is written to
``OUT/per_image/<mode>/<codec label>/<image>.json`` (CompressAI's JSON layout for one
image) as soon as it arrives, so an interrupted run resumes where it stopped.  The
file carries a *task key*: a hash of the codec, its options, the image's content, the
mode, MS-SSIM on/off, the harness's format version and the versions of wavecodec and of
the external libraries the codec uses (:func:`codec_versions`).  Resuming is per rate:
rates already in a file with the same key are reused (an added rate costs only that
rate), any other key means the whole file is recomputed.

Workers receive the image *file bytes*, not a path, so that Dask workers on other
machines need no shared file system; they return plain dicts.  Apart from the timing
fields, a task's result depends only on the task, so the process pool, the Dask
cluster and a serial run give identical results.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import io
import json
import math
import os
import platform
import re
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = ["CodecSpec", "parse_codecs", "BenchConfig", "make_tasks", "run_task", "run_bench", "aggregate",
           "codec_versions", "TIMING_FIELDS", "IMAGE_SUFFIXES", "RATE_BASES"]

IMAGE_SUFFIXES = (".png", ".ppm", ".pgm", ".bmp", ".tif", ".tiff")
TIMING_FIELDS = ("encoding_time", "decoding_time")
MODES = ("gray", "rgb")
RATE_BASES = ("container", "payload")
FORMAT_VERSION = 2  # 2: per-rate resume, payload bytes per point, library versions in the task key


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
    anchor: str | None = None  # one label, or several comma-separated (measured or published curves)
    jobs: int = 0  # 0 = one per CPU
    scheduler: str | None = None
    resume: bool = True
    progress: bool = True
    plots: bool = True
    msssim: bool = True
    references: list[Any] = field(default_factory=list)  # published curves (wavecodec.bench.published.PublishedCurve)
    rate_basis: str | None = None  # "container" / "payload"; None: payload with references, else container

    @property
    def anchors(self) -> list[str]:
        """The BD anchors: ``anchor`` split at commas (default: the first codec)."""
        if self.anchor:
            return [a.strip() for a in self.anchor.split(",") if a.strip()]
        return [self.codecs[0].label] if self.codecs else []

    @property
    def basis(self) -> str:
        return self.rate_basis or ("payload" if self.references else "container")


def list_images(dataset: Path, limit: int | None = None) -> list[Path]:
    paths = sorted(p for p in Path(dataset).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {dataset}")
    return paths[:limit] if limit else paths


# Libraries whose version changes what an external codec produces (beyond its wrapper module's own version).
_LIBRARY_VERSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "jpeg2000": (("imagecodecs", "jpeg2k_version"),),
    "jpegxl": (("imagecodecs", "jpegxl_version"),),
    "avif": (("imagecodecs", "avif_version"),),
    "sperr": (("imagecodecs", "sperr_version"),),
    "jpeg": (("PIL.features", "jpg"), ("PIL.features", "libjpeg_turbo")),
    "webp": (("PIL.features", "webp"),),
    "compressai": (("torch", "__version__"), ("compressai", "__version__")),
}
_VERSIONS_CACHE: dict[str, dict[str, str]] = {}


def _version_of(module: str, attr: str) -> str:
    try:
        mod = importlib.import_module(module)
        if module == "PIL.features":
            return str(mod.version(attr))
        value = getattr(mod, attr)
        return str(value() if callable(value) else value)
    except Exception as exc:  # noqa: BLE001 - a missing library is a version too ("missing")
        return f"missing ({type(exc).__name__})"


def codec_versions(name: str) -> dict[str, str]:
    """Versions that decide what codec ``name`` produces: wavecodec's, the wrapper library's
    (``imagecodecs``, Pillow, torch...) and the coding library's (OpenJPEG, libavif, libjxl...).

    Part of every task key, so results made with other versions are recomputed on resume.
    """
    if name in _VERSIONS_CACHE:
        return _VERSIONS_CACHE[name]
    import wavecodec

    versions = {"wavecodec": wavecodec.__version__}
    codec = wavecodec.get_codec(name)
    wrapper = getattr(codec, "module", "") or ""
    if wrapper:
        top = wrapper.split(".")[0]
        versions[top] = _version_of(top, "__version__")
    elif type(codec).__module__.split(".")[0] != "wavecodec":  # a plug-in from another distribution
        top = type(codec).__module__.split(".")[0]
        versions[top] = _version_of(top, "__version__")
    for module, attr in _LIBRARY_VERSIONS.get(name, ()):
        versions[f"{module}.{attr}"] = _version_of(module, attr)
    _VERSIONS_CACHE[name] = versions
    return versions


def make_tasks(cfg: BenchConfig) -> list[dict]:
    """Every (mode, codec, image) task of the run, in a fixed order, at every requested rate."""
    tasks = []
    images = list_images(cfg.dataset, cfg.images)
    blobs = {p: p.read_bytes() for p in images}
    digests = {p: hashlib.sha256(b).hexdigest()[:16] for p, b in blobs.items()}
    for mode in cfg.modes:
        for spec in cfg.codecs:
            versions = codec_versions(spec.name)
            files = _option_files(spec)
            for p in images:
                task = {
                    "image": p.stem, "mode": mode, "codec": spec.name, "options": [list(o) for o in spec.options],
                    "label": spec.label, "slug": spec.slug, "rates": [float(r) for r in cfg.rates],
                    "image_sha256": digests[p], "msssim": cfg.msssim, "versions": versions,
                    "format_version": FORMAT_VERSION, "option_files": files,
                }
                task["key"] = task_key(task)
                task["data"] = blobs[p]
                tasks.append(task)
    return tasks


def _option_files(spec: CodecSpec) -> dict[str, str]:
    """SHA-256 of every option naming an existing file (e.g. ``checkpoint=q3.pth.tar``): a retrained
    checkpoint at the same path is a new task."""
    digests = {}
    for name, value in spec.options:
        if isinstance(value, str) and os.path.isfile(value):
            h = hashlib.sha256()
            with open(value, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            digests[name] = h.hexdigest()[:16]
    return digests


def task_key(task: dict) -> str:
    """What a result depends on (not the rates: each rate's result is kept on its own)."""
    fields = ("image", "mode", "codec", "options", "image_sha256", "msssim", "versions", "format_version")
    keyed = {k: task[k] for k in fields}
    if task.get("option_files"):
        keyed["option_files"] = task["option_files"]
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:20]


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
    """Code one image at each of ``task["rates"]`` with one codec; return its CompressAI-style per-image record.

    Runs in a worker (process pool or Dask); depends only on ``task`` (timings aside).
    ``results["bpp"]`` counts the whole wavecodec stream, ``results["bpp-payload"]`` only
    the codec's own bytes (what published figures count).
    """
    import wavecodec
    from wavecodec.metrics import ms_ssim, psnr

    img = _load(task["data"], task["mode"])
    h, w = img.shape[:2]
    codec = wavecodec.get_codec(task["codec"])
    options = {k: v for k, v in task["options"]}
    psnr_key, msssim_key = _metric_names(task["mode"])
    results: dict[str, list] = {"bpp": [], "bpp-payload": [], psnr_key: [], msssim_key: [], "encoding_time": [],
                                "decoding_time": []}
    points, unreachable, errors = [], [], []
    here = codec_versions(task["codec"])
    if here != task["versions"]:  # a Dask worker with other libraries than the client: refuse to mix
        message = f"worker versions {here} differ from the client's {task['versions']}"
        errors = [{"target_bpp": rate, "message": message} for rate in task["rates"]]
    else:
        _warm_up(task["codec"], options, img, max(task["rates"]))
    for rate in task["rates"] if not errors else ():
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
        info = wavecodec.info(stream)
        q = psnr(img, out)
        m = float(ms_ssim(img, out)) if task["msssim"] else math.nan
        results["bpp"].append(8.0 * len(stream) / (h * w))
        results["bpp-payload"].append(8.0 * info.payload_size / (h * w))
        results[psnr_key].append(float(q))
        results[msssim_key].append(m)
        results["encoding_time"].append(t1 - t0)
        results["decoding_time"].append(t2 - t1)
        points.append({"target_bpp": rate, "bytes": len(stream), "payload_bytes": info.payload_size,
                       "stream_params": _jsonable(info.params)})
    return {
        "name": task["label"],
        "description": f"{codec.description} ({task['label']}) on {task['image']}, {task['mode']}",
        "results": results,
        "params": {
            "codec": task["codec"], "options": options, "mode": task["mode"], "image": task["image"],
            "shape": list(img.shape), "target_bpp": sorted(p["target_bpp"] for p in points), "points": points,
            "unreachable": unreachable, "errors": errors, "task_key": task["key"],
            "image_sha256": task["image_sha256"], "versions": task["versions"], "format_version": FORMAT_VERSION,
        },
    }


def merge_records(old: dict | None, new: dict) -> dict:
    """``new`` (some rates) over ``old`` (same task key, other rates): one record, points sorted by target rate.

    A rate present in both takes ``new``'s outcome (point, unreachable or error).
    """
    if old is None or old["params"].get("task_key") != new["params"]["task_key"]:
        return new
    redone = {e["target_bpp"] for e in new["params"]["points"] + new["params"]["unreachable"] + new["params"]["errors"]}
    rows: dict[float, tuple[dict, dict]] = {}
    for rec in (old, new):
        for i, pt in enumerate(rec["params"]["points"]):
            if rec is new or pt["target_bpp"] not in redone:
                rows[pt["target_bpp"]] = (pt, {k: v[i] for k, v in rec["results"].items()})
    merged = copy.deepcopy(new)
    order = sorted(rows)
    merged["results"] = {k: [rows[r][1][k] for r in order] for k in new["results"]}
    merged["params"]["points"] = [rows[r][0] for r in order]
    merged["params"]["target_bpp"] = order
    for kind in ("unreachable", "errors"):
        kept = [e for e in old["params"][kind] if e["target_bpp"] not in redone]
        merged["params"][kind] = sorted(kept + new["params"][kind], key=lambda e: e["target_bpp"])
    return merged


def rates_done(record: dict | None) -> set[float]:
    """Rates a stored record settles: measured points and unreachable rates (errors are retried)."""
    if record is None:
        return set()
    return {e["target_bpp"] for e in record["params"]["points"] + record["params"]["unreachable"]}


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


def _stored(out: Path, task: dict) -> dict | None:
    """The stored record of ``task`` if it has the same task key (any rates), else None."""
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
    stored = {id(t): (_stored(out, t) if cfg.resume else None) for t in tasks}
    todo = []
    for t in tasks:
        missing = [r for r in t["rates"] if r not in rates_done(stored[id(t)])]
        if missing:
            todo.append({**t, "rates": missing})
    todo_rates = sum(len(t["rates"]) for t in todo)
    all_rates = sum(len(t["rates"]) for t in tasks)
    if cfg.resume and todo_rates < all_rates:
        log(f"resuming: {all_rates - todo_rates} of {all_rates} (task, rate) results already done in {out};"
            f" {len(todo)} of {len(tasks)} tasks to run")
    jobs = cfg.jobs or (os.cpu_count() or 1)
    bar = _progress(len(todo), cfg.progress and bool(todo), "wavecodec bench")

    def on_result(task: dict, rec: dict) -> None:
        path = result_path(out, task)
        old = _stored(out, task) if cfg.resume else None
        _write_json(path, merge_records(old, rec))
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
        rec = _stored(out, t)
        if rec is None or set(t["rates"]) - rates_done(rec) - {e["target_bpp"] for e in rec["params"]["errors"]}:
            raise RuntimeError(f"result of task {t['mode']}/{t['label']}/{t['image']} missing after the run")
        records.append(rec)
    from .report import write_reports

    summary = aggregate(records, cfg)
    summary["run"] = {
        "tasks": len(tasks), "tasks_run": len(todo), "rates_run": todo_rates, "rates_total": all_rates, "wall_s": wall,
        "executor": "dask" if cfg.scheduler is not None else (f"process pool ({jobs} workers)" if jobs > 1 else "serial"),
        "environment": environment(),
    }
    write_reports(summary, cfg, log=log)
    return summary


# =========================================================================== aggregation
def _mean(xs: Sequence[float]) -> float:
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return statistics.fmean(xs) if xs else math.nan


def _measured_curve(spec: CodecSpec, mode: str, records: list[dict], rates: list[float]) -> dict:
    """Dataset averages of one codec spec in one mode (CompressAI's format; rates some image misses are dropped)."""
    import wavecodec

    psnr_key, msssim_key = _metric_names(mode)
    recs = sorted((r for r in records if r["params"]["mode"] == mode and r["name"] == spec.label),
                  key=lambda r: r["params"]["image"])
    by_rate: dict[float, list[dict]] = {rate: [] for rate in rates}
    for r in recs:
        for i, pt in enumerate(r["params"]["points"]):
            if pt["target_bpp"] in by_rate:
                by_rate[pt["target_bpp"]].append({k: r["results"][k][i] for k in r["results"]})
    keys = ("bpp", "bpp-payload", psnr_key, msssim_key, "encoding_time", "decoding_time")
    results: dict[str, list] = {k: [] for k in keys}
    kept, missing, same_as = [], {}, {}
    for rate in rates:
        pts = by_rate[rate]
        if len(pts) < len(recs) or not pts:
            missing[str(rate)] = len(recs) - len(pts)
            continue
        means = {k: _mean([p[k] for p in pts]) for k in keys}
        if results["bpp"] and means["bpp"] == results["bpp"][-1] and means[psnr_key] == results[psnr_key][-1]:
            same_as[str(rate)] = kept[-1]  # a fixed-rate codec (e.g. one checkpoint) gave the same streams again
            continue
        kept.append(rate)
        for k in keys:
            results[k].append(means[k])
    codec = wavecodec.get_codec(spec.name)
    images = [r["params"]["image"] for r in recs]
    return {
        "name": spec.label,
        "description": f"{codec.description}; {codec.reference}".strip("; "),
        "results": results,
        "params": {
            "kind": "measured", "codec": spec.name, "options": spec.kwargs(), "mode": mode, "target_bpp": kept,
            "images": images, "n_images": len(recs), "unreachable_rates": missing, "same_streams_as": same_as,
            "unreachable_detail": sorted({u["message"].split(":")[0] for r in recs for u in r["params"]["unreachable"]
                                          if u["target_bpp"] in by_rate}),
            "errors": [f"{r['params']['image']}@{e['target_bpp']}: {e['message']}" for r in recs
                       for e in r["params"]["errors"] if e["target_bpp"] in by_rate],
            "versions": recs[0]["params"].get("versions", {}) if recs else {},
            "averaging": "arithmetic mean over images at each target rate (rates some image cannot reach are dropped)",
            "bpp": "results.bpp: the whole wavecodec stream (container header included); results.bpp-payload: the"
                   " codec's own bytes only (what published figures count)",
        },
    }


def _bd_figures(anchor: dict, curve: dict, metric: str, basis: str) -> dict:
    """BD-rate / BD-PSNR of ``curve`` against ``anchor`` on ``basis`` bpp, with the curves' overlap."""
    from .bjontegaard import BDOverlapWarning, bd_overlap, bd_psnr, bd_rate

    def rate(c: dict) -> list[float]:
        res = c["results"]
        return res["bpp-payload"] if basis == "payload" and "bpp-payload" in res else res["bpp"]

    ra, pa, rt, pt = rate(anchor), anchor["results"][metric], rate(curve), curve["results"][metric]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BDOverlapWarning)
        figures = {"bd_rate_percent": bd_rate(ra, pa, rt, pt), "bd_psnr_db": bd_psnr(ra, pa, rt, pt)}
    overlap = bd_overlap(ra, pa, rt, pt)
    figures.update(points=[len(ra), len(rt)], overlap_psnr=overlap["psnr"], overlap_log_rate=overlap["log_rate"],
                   warnings=sorted({str(w.message) for w in caught if issubclass(w.category, BDOverlapWarning)}))
    return figures


def aggregate(records: list[dict], cfg: BenchConfig) -> dict:
    """Dataset averages per (mode, codec label) in CompressAI's format, published curves beside them,
    and BD figures of every curve against every anchor."""
    basis = cfg.basis
    if basis not in RATE_BASES:
        raise ValueError(f"rate_basis must be one of {RATE_BASES}, got {basis!r}")
    anchors = cfg.anchors
    summary: dict[str, Any] = {"modes": {}, "rates": list(cfg.rates), "anchor": anchors[0] if anchors else None,
                               "anchors": anchors, "rate_basis": basis}
    for mode in cfg.modes:
        psnr_key, _ = _metric_names(mode)
        curves: dict[str, dict] = {spec.label: _measured_curve(spec, mode, records, list(cfg.rates)) for spec in cfg.codecs}
        for ref in cfg.references:
            curve = ref.curve(mode)
            if curve is not None:
                label = curve["name"]
                while label in curves:
                    label += " (published)"
                curve["name"] = label
                curves[label] = curve
        bd: dict[str, dict[str, dict]] = {}
        for anchor in anchors:
            if anchor not in curves:
                continue
            bd[anchor] = {label: _bd_figures(curves[anchor], c, psnr_key, basis) for label, c in curves.items()}
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
