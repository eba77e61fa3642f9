#!/usr/bin/env python
"""Core benchmark: wavecodec SPIHT against OpenJPEG and SPERR on the Kodak set.

Usage::

    python benchmarks/bench_core.py /path/to/kodak [--images N] [--out results.json]
        [--jobs 2] [--sections gray,color,lossless,speed,startup]
        [--codecs spiht-ac,spiht-binary,openjpeg,sperr]

Everything (anchors included) is measured in the same run.  Markdown tables go to
stdout, every per-image number to the JSON file (``--out``, default
``benchmarks/results/bench_core-<timestamp>.json``).

Rate convention: a target of ``r`` bpp gives every codec the byte budget
``floor(r * h * w / 8)`` (bits per *pixel*, not per channel sample, for colour
too) and the reported rate is ``total bytes * 8 / (h * w)``.

Codecs are small adapters (:class:`Codec`) registered in :data:`CODECS`; to add
a codec (EZW, ...) write a ``prepare(img, bpp) -> (() -> bytes)`` function and a
``decode(bytes) -> ndarray`` function and register them (see
:func:`_wavecodec_codec`).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))

from wavecodec.metrics import ms_ssim, psnr  # noqa: E402

GRAY_RATES = (0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
COLOR_RATES = (0.1, 0.25, 0.5, 1.0)
ALL_SECTIONS = ("gray", "color", "lossless", "speed", "startup")
PREFIX_TRIALS = 5
SEED = 20240601


# =========================================================================== #
# codec adapters
# =========================================================================== #
Encoder = Callable[[], bytes]


@dataclass
class Codec:
    """One codec under test.

    ``prepare(img, bpp)`` does any untimed rate search and returns a zero-argument
    function producing the stream (what is timed as "encode"); the stream must fit
    ``budget_bytes(img.shape, bpp)``.  ``decode`` returns an array of the input's
    shape and dtype.  ``lossless`` (optional) encodes losslessly.
    """

    name: str
    prepare: Callable[[np.ndarray, float], Encoder]
    decode: Callable[[bytes], np.ndarray]
    lossless: Optional[Callable[[np.ndarray], bytes]] = None
    color: bool = True
    embedded: bool = False  # any prefix decodes: check it
    notes: str = ""


def budget_bytes(shape: tuple[int, ...], bpp: float) -> int:
    """Byte budget of a target rate: floor(bpp * h * w / 8)."""
    return int(math.floor(bpp * shape[0] * shape[1] / 8.0 + 1e-9))


# ---- OpenJPEG (imagecodecs) -------------------------------------------------- #
def _j2k_encode(img: np.ndarray, level: float) -> bytes:
    import imagecodecs

    return imagecodecs.jpeg2k_encode(
        img, level=level, codecformat="J2K", reversible=False, numthreads=1
    )


def _j2k_decode(data: bytes) -> np.ndarray:
    import imagecodecs

    return imagecodecs.jpeg2k_decode(data, numthreads=1)


def openjpeg_find_level(img: np.ndarray, budget: int, iterations: int = 25) -> tuple[float, bytes]:
    """Rate-match OpenJPEG: bisection of the PSNR target ``level`` in [1, 100] dB.

    ``level`` is OpenJPEG's PSNR target (fixed-quality mode), not a rate; size
    grows with it.  Keeps the highest-PSNR stream of size <= ``budget``.
    """
    best: tuple[float, float, bytes] | None = None  # (psnr, level, data)

    def consider(level: float) -> bool:
        nonlocal best
        data = _j2k_encode(img, level)
        if len(data) > budget:
            return False
        q = psnr(img, _j2k_decode(data))
        if best is None or q > best[0]:
            best = (q, level, data)
        return True

    if consider(100.0):
        return best[1], best[2]
    lo, hi = 1.0, 100.0
    consider(lo)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if consider(mid):
            lo = mid
        else:
            hi = mid
    if best is None:
        raise RuntimeError(f"OpenJPEG cannot fit {budget} bytes even at level 1")
    return best[1], best[2]


def _openjpeg_prepare(img: np.ndarray, bpp: float) -> Encoder:
    level, _ = openjpeg_find_level(img, budget_bytes(img.shape, bpp))
    return lambda: _j2k_encode(img, level)


def _openjpeg_lossless(img: np.ndarray) -> bytes:
    import imagecodecs

    return imagecodecs.jpeg2k_encode(img, codecformat="J2K", reversible=True, numthreads=1)


# ---- SPERR (imagecodecs) ---------------------------------------------------- #
def _sperr_prepare(img: np.ndarray, bpp: float) -> Encoder:
    """SPERR in fixed-rate mode.  SPERR can overshoot its bpp target slightly
    (header, byte rounding); the target is then lowered until the stream fits
    the same byte budget as the other codecs."""
    import imagecodecs

    budget = budget_bytes(img.shape, bpp)
    data64 = img.astype(np.float64)
    target = bpp
    for _ in range(8):
        nbytes = len(imagecodecs.sperr_encode(data64, target, mode="bpp", numthreads=1))
        if nbytes <= budget:
            break
        target *= (budget / nbytes) * 0.999
    final = target
    return lambda: imagecodecs.sperr_encode(data64, final, mode="bpp", numthreads=1)


def _sperr_decode(data: bytes) -> np.ndarray:
    import imagecodecs

    out = imagecodecs.sperr_decode(data, numthreads=1)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


# ---- wavecodec ------------------------------------------------------------- #
def _wavecodec_codec(name: str, codec: str, *, notes: str = "", **options: Any) -> Codec:
    """Adapter for any codec registered in wavecodec (``codec``, ``options``)."""

    def prepare(img: np.ndarray, bpp: float) -> Encoder:
        import wavecodec

        budget = budget_bytes(img.shape, bpp)
        return lambda: wavecodec.encode(img, codec, max_bytes=budget, **options)

    def decode(data: bytes) -> np.ndarray:
        import wavecodec

        return wavecodec.decode(data)

    def lossless(img: np.ndarray) -> bytes:
        import wavecodec

        return wavecodec.encode(img, codec, lossless=True, **options)

    return Codec(name, prepare, decode, lossless=lossless, color=True, embedded=True, notes=notes)


CODECS: dict[str, Codec] = {
    "spiht-ac": _wavecodec_codec("spiht-ac", "spiht", variant="ac", notes="wavecodec SPIHT, arithmetic-coded"),
    "spiht-binary": _wavecodec_codec("spiht-binary", "spiht", variant="binary", notes="wavecodec SPIHT, binary-uncoded"),
    "openjpeg": Codec(
        "openjpeg", _openjpeg_prepare, _j2k_decode, lossless=_openjpeg_lossless,
        notes="OpenJPEG J2K codestream, 9/7 irreversible (+ICT), level bisection; lossless: 5/3 reversible (+RCT)",
    ),
    "sperr": Codec("sperr", _sperr_prepare, _sperr_decode, color=False, notes="SPERR fixed-rate (one thread), float64 in, rounded/clipped to uint8"),
}
WAVECODEC_CODECS = ("spiht-ac", "spiht-binary")
ANCHOR = "openjpeg"
REFERENCE = "spiht-ac"
SPEED_REFERENCE = "sperr"


def wavecodec_api_available() -> bool:
    try:
        import wavecodec
    except Exception:
        return False
    return callable(getattr(wavecodec, "encode", None)) and callable(getattr(wavecodec, "decode", None))


# =========================================================================== #
# per-image work (runs in pool workers)
# =========================================================================== #
def load_image(path: str, mode: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert(mode))


def _prefix_check(codec: Codec, data: bytes, shape, dtype, rng: np.random.Generator) -> dict:
    """Decode PREFIX_TRIALS random prefixes ``data[:k]``, ``header_size <= k < len(data)``.

    Every such prefix of an embedded stream must decode to an image of the right
    shape and dtype; any exception (WavecodecError included) or a wrong
    shape/dtype counts as a failure.
    """
    import wavecodec

    res: dict[str, Any] = {"tested": 0, "ok": 0, "failures": 0, "cuts": [], "errors": []}
    header = wavecodec.info(data).header_size
    res["header_size"] = header
    if len(data) <= header:
        return res
    cuts = sorted(int(k) for k in rng.integers(header, len(data), size=PREFIX_TRIALS))
    for k in cuts:
        res["tested"] += 1
        res["cuts"].append(k)
        try:
            out = codec.decode(data[:k])
        except Exception as exc:  # noqa: BLE001 - a failure is any exception
            res["failures"] += 1
            res["errors"].append(f"prefix {k}/{len(data)}: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype:
            res["failures"] += 1
            got = (getattr(out, "shape", None), getattr(out, "dtype", None))
            res["errors"].append(f"prefix {k}/{len(data)}: wrong output {got}")
        else:
            res["ok"] += 1
    return res


def _rate_point(codec: Codec, img: np.ndarray, rate: float, rng: np.random.Generator, do_msssim: bool) -> dict:
    h, w = img.shape[:2]
    budget = budget_bytes(img.shape, rate)
    rec: dict[str, Any] = {"codec": codec.name, "rate": rate, "budget": budget}
    try:
        encoder = codec.prepare(img, rate)
        t0 = time.perf_counter()
        data = bytes(encoder())
        t1 = time.perf_counter()
        out = codec.decode(data)
        t2 = time.perf_counter()
    except Exception as exc:  # noqa: BLE001 - record and go on
        rec["error"] = f"{type(exc).__name__}: {exc}"
        return rec
    rec.update(
        nbytes=len(data),
        bpp=len(data) * 8.0 / (h * w),
        over_budget=len(data) > budget,
        enc_s=t1 - t0,
        dec_s=t2 - t1,
    )
    if out.shape != img.shape or out.dtype != img.dtype:
        rec["error"] = f"decoded shape/dtype {out.shape}/{out.dtype} != {img.shape}/{img.dtype}"
        return rec
    rec["psnr"] = psnr(img, out)
    if do_msssim:
        rec["ms_ssim"] = ms_ssim(img, out)
    if codec.embedded:
        rec["prefix"] = _prefix_check(codec, data, img.shape, img.dtype, rng)
    return rec


def work_rates(task: tuple) -> dict:
    """Pool task: one image, every codec and rate of a section."""
    index, path, mode, codec_names, rates, do_msssim = task
    img = load_image(path, mode)
    records = []
    for ci, name in enumerate(codec_names):
        codec = CODECS[name]
        for ri, rate in enumerate(rates):
            rng = np.random.default_rng([SEED, index, ci, ri, 0 if mode == "L" else 1])
            rec = _rate_point(codec, img, rate, rng, do_msssim)
            rec["image"] = Path(path).stem
            records.append(rec)
    return {"image": Path(path).stem, "shape": list(img.shape), "records": records}


def work_lossless(task: tuple) -> dict:
    """Pool task: one image, lossless coding in gray and colour by every codec."""
    path, codec_names = task
    records = []
    for mode in ("L", "RGB"):
        img = load_image(path, mode)
        for name in codec_names:
            codec = CODECS[name]
            rec: dict[str, Any] = {"image": Path(path).stem, "mode": mode, "codec": name}
            if codec.lossless is None or (mode == "RGB" and not codec.color):
                continue
            try:
                t0 = time.perf_counter()
                data = bytes(codec.lossless(img))
                t1 = time.perf_counter()
                out = codec.decode(data)
                t2 = time.perf_counter()
            except Exception as exc:  # noqa: BLE001
                rec["error"] = f"{type(exc).__name__}: {exc}"
                records.append(rec)
                continue
            rec.update(
                nbytes=len(data),
                bpp=len(data) * 8.0 / (img.shape[0] * img.shape[1]),
                exact=bool(out.shape == img.shape and out.dtype == img.dtype and np.array_equal(out, img)),
                enc_s=t1 - t0,
                dec_s=t2 - t1,
            )
            records.append(rec)
    return {"image": Path(path).stem, "records": records}


def run_pool(func, tasks: list, jobs: int) -> list:
    if jobs <= 1 or len(tasks) <= 1:
        return [func(t) for t in tasks]
    ctx = multiprocessing.get_context("spawn")  # no fork after Numba/threads
    with ctx.Pool(processes=jobs) as pool:
        return pool.map(func, tasks, chunksize=1)  # results in task order


# =========================================================================== #
# report helpers
# =========================================================================== #
def _mean(values) -> float:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.fmean(values) if values else float("nan")


def _median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def _fmt(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{digits}f}"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.parts.append(text)


def summarize_rates(report: Report, results: list[dict], codec_names: list[str], rates, do_msssim: bool) -> dict:
    recs = [r for res in results for r in res["records"]]
    nimg = len(results)
    rows = []
    summary: dict[str, Any] = {}
    errors = [r for r in recs if "error" in r]
    for rate in rates:
        for name in codec_names:
            sel = [r for r in recs if r["codec"] == name and r["rate"] == rate and "error" not in r]
            over = sum(1 for r in sel if r.get("over_budget"))
            pre = [r["prefix"] for r in sel if "prefix" in r]
            pre_txt = f"{sum(p['failures'] for p in pre)}/{sum(p['tested'] for p in pre)}" if pre else "-"
            s = {
                "n": len(sel),
                "bpp": _mean(r["bpp"] for r in sel),
                "psnr": _mean(r["psnr"] for r in sel),
                "ms_ssim": _mean(r.get("ms_ssim") for r in sel) if do_msssim else None,
                "enc_ms": 1e3 * _median(r["enc_s"] for r in sel),
                "dec_ms": 1e3 * _median(r["dec_s"] for r in sel),
                "over_budget": over,
                "prefix_failures": sum(p["failures"] for p in pre) if pre else None,
                "prefix_tested": sum(p["tested"] for p in pre) if pre else None,
            }
            summary.setdefault(str(rate), {})[name] = s
            row = [f"{rate:g}", name, f"{s['n']}/{nimg}", _fmt(s["bpp"], 4), _fmt(s["psnr"], 2)]
            if do_msssim:
                row.append(_fmt(s["ms_ssim"], 4))
            row += [_fmt(s["enc_ms"], 1), _fmt(s["dec_ms"], 1), str(over), pre_txt]
            rows.append(row)
    header = ["target bpp", "codec", "images", "mean bpp", "mean PSNR (dB)"]
    if do_msssim:
        header.append("mean MS-SSIM")
    header += ["median enc (ms)", "median dec (ms)", "over budget", "prefix failures"]
    report(md_table(header, rows))
    report()
    if REFERENCE in codec_names and ANCHOR in codec_names:
        drows = []
        for rate in rates:
            a = summary[str(rate)][REFERENCE]
            b = summary[str(rate)][ANCHOR]
            # paired per-image differences
            pa = {r["image"]: r for r in recs if r["codec"] == REFERENCE and r["rate"] == rate and "error" not in r}
            pb = {r["image"]: r for r in recs if r["codec"] == ANCHOR and r["rate"] == rate and "error" not in r}
            common = sorted(set(pa) & set(pb))
            dpsnr = [pa[i]["psnr"] - pb[i]["psnr"] for i in common]
            wins = sum(1 for d in dpsnr if d > 0)
            row = [f"{rate:g}", _fmt(a["psnr"] - b["psnr"], 2), f"{wins}/{len(common)}"]
            if do_msssim:
                row.append(_fmt(a["ms_ssim"] - b["ms_ssim"], 4))
            drows.append(row)
        header = ["target bpp", f"PSNR {REFERENCE} - {ANCHOR} (dB)", f"images where {REFERENCE} wins"]
        if do_msssim:
            header.append("MS-SSIM difference")
        report(md_table(header, drows))
        report()
    if errors:
        report(f"**{len(errors)} errors** (first 5):")
        for r in errors[:5]:
            report(f"- {r['image']} {r['codec']} @ {r['rate']}: {r['error']}")
        report()
    prefix_errors = [e for r in recs for e in r.get("prefix", {}).get("errors", [])]
    if prefix_errors:
        report(f"Prefix-decoding failures (first 5 of {len(prefix_errors)}):")
        for e in prefix_errors[:5]:
            report(f"- {e}")
        report()
    return summary


# =========================================================================== #
# sections
# =========================================================================== #
def section_rates(report: Report, args, paths: list[str], mode: str, rates, codec_names: list[str]) -> dict:
    if mode == "RGB":
        codec_names = [n for n in codec_names if CODECS[n].color]
    tasks = [(i, p, mode, codec_names, rates, True) for i, p in enumerate(paths)]
    results = run_pool(work_rates, tasks, args.jobs)
    summary = summarize_rates(report, results, codec_names, rates, True)
    return {"codecs": codec_names, "rates": list(rates), "summary": summary, "per_image": results}


def section_lossless(report: Report, args, paths: list[str], codec_names: list[str]) -> dict:
    names = [n for n in codec_names if CODECS[n].lossless is not None]
    results = run_pool(work_lossless, [(p, names) for p in paths], args.jobs)
    recs = [r for res in results for r in res["records"]]
    rows = []
    summary: dict[str, Any] = {}
    for mode, label in (("L", "gray"), ("RGB", "color")):
        anchor_total = sum(r["nbytes"] for r in recs if r["codec"] == ANCHOR and r["mode"] == mode and "nbytes" in r)
        for name in names:
            sel = [r for r in recs if r["codec"] == name and r["mode"] == mode]
            if not sel:
                continue
            ok = [r for r in sel if "error" not in r]
            total = sum(r["nbytes"] for r in ok)
            exact = sum(1 for r in ok if r["exact"])
            s = {
                "images": len(sel),
                "errors": len(sel) - len(ok),
                "exact": exact,
                "total_bytes": total,
                "mean_bpp": _mean(r["bpp"] for r in ok),
                "ratio_vs_anchor": total / anchor_total if anchor_total and len(ok) == len(sel) else None,
                "enc_ms": 1e3 * _median(r["enc_s"] for r in ok),
                "dec_ms": 1e3 * _median(r["dec_s"] for r in ok),
            }
            summary.setdefault(label, {})[name] = s
            rows.append([
                label, name, f"{exact}/{len(sel)}", str(total), _fmt(s["mean_bpp"], 3),
                _fmt(s["ratio_vs_anchor"], 4) if s["ratio_vs_anchor"] is not None else "n/a",
                _fmt(s["enc_ms"], 1), _fmt(s["dec_ms"], 1),
            ])
    report(md_table(
        ["image", "codec", "bit-exact", "total bytes", "mean bpp", f"bytes / {ANCHOR}", "median enc (ms)", "median dec (ms)"],
        rows,
    ))
    report()
    errors = [r for r in recs if "error" in r]
    if errors:
        report(f"**{len(errors)} errors** (first 5):")
        for r in errors[:5]:
            report(f"- {r['image']} {r['mode']} {r['codec']}: {r['error']}")
        report()
    return {"codecs": names, "summary": summary, "per_image": results}


def _time_runs(fn: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def section_speed(report: Report, args, path: str, codec_names: list[str]) -> dict:
    img = load_image(path, "L")
    rate = 1.0
    out: dict[str, Any] = {"image": Path(path).stem, "shape": list(img.shape), "rate": rate, "repeats": args.repeats}
    rows = []
    for name in codec_names:
        codec = CODECS[name]
        try:
            encoder = codec.prepare(img, rate)
            data = bytes(encoder())  # warm-up (JIT compilation, caches)
            codec.decode(data)
            enc = _time_runs(encoder, args.repeats)
            dec = _time_runs(lambda: codec.decode(data), args.repeats)
        except Exception as exc:  # noqa: BLE001
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            rows.append([name, "error", "", "", "", ""])
            continue
        out[name] = {"nbytes": len(data), "enc_s": enc, "dec_s": dec,
                     "enc_median_s": statistics.median(enc), "dec_median_s": statistics.median(dec)}
        rows.append([name, str(len(data)), _fmt(1e3 * statistics.median(enc), 2), _fmt(1e3 * min(enc), 2),
                     _fmt(1e3 * statistics.median(dec), 2), _fmt(1e3 * min(dec), 2)])
    report(f"{Path(path).stem} grayscale {img.shape[1]}x{img.shape[0]} at {rate:g} bpp, "
           f"median of {args.repeats} runs after one warm-up, single process:")
    report()
    report(md_table(["codec", "bytes", "median enc (ms)", "min enc (ms)", "median dec (ms)", "min dec (ms)"], rows))
    report()
    ref = out.get(SPEED_REFERENCE, {})
    ratio_rows = []
    for name in codec_names:
        if name == SPEED_REFERENCE or "enc_median_s" not in out.get(name, {}) or "enc_median_s" not in ref:
            continue
        e = out[name]["enc_median_s"] / ref["enc_median_s"]
        d = out[name]["dec_median_s"] / ref["dec_median_s"]
        out[name]["enc_ratio_vs_" + SPEED_REFERENCE] = e
        out[name]["dec_ratio_vs_" + SPEED_REFERENCE] = d
        ratio_rows.append([name, _fmt(e, 2), _fmt(d, 2)])
    if ratio_rows:
        report(md_table(["codec", f"encode time / {SPEED_REFERENCE}", f"decode time / {SPEED_REFERENCE}"], ratio_rows))
        report()
    return out


_FIRST_CALL = """
import sys, time
import numpy as np
from PIL import Image
img = np.asarray(Image.open(sys.argv[1]).convert("L"))
budget = int(img.shape[0] * img.shape[1] // 8)
import wavecodec
t = time.perf_counter()
data = wavecodec.encode(img, "spiht", max_bytes=budget)
out = wavecodec.decode(data)
print(time.perf_counter() - t)
"""
_IMPORT = "import time; t=time.perf_counter(); import wavecodec; print(time.perf_counter()-t)"


def _subprocess_time(code: str, *argv: str) -> float:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip().splitlines()[-1] if res.stderr.strip() else f"exit {res.returncode}")
    return float(res.stdout.strip().splitlines()[-1])


def section_startup(report: Report, args, path: str) -> dict:
    out: dict[str, Any] = {}
    rows = []
    try:
        t = [_subprocess_time(_IMPORT) for _ in range(5)]
        out["import_s"] = t
        rows.append(["`import wavecodec`", _fmt(1e3 * statistics.median(t), 1), "median of 5 fresh interpreters"])
    except Exception as exc:  # noqa: BLE001
        out["import_error"] = str(exc)
        rows.append(["`import wavecodec`", "error", str(exc)])
    try:
        _subprocess_time(_FIRST_CALL, path)  # populate the Numba on-disk cache
        t = [_subprocess_time(_FIRST_CALL, path) for _ in range(3)]
        out["first_call_s"] = t
        rows.append(["first encode+decode (768x512, 1 bpp, spiht)", _fmt(1e3 * statistics.median(t), 1),
                     "median of 3 fresh interpreters, warm Numba cache, import excluded"])
    except Exception as exc:  # noqa: BLE001
        out["first_call_error"] = str(exc)
        rows.append(["first encode+decode", "error", str(exc)])
    report(md_table(["measure", "time (ms)", "how"], rows))
    report()
    return out


# =========================================================================== #
# main
# =========================================================================== #
def _meta(args, paths, codec_names) -> dict:
    import imagecodecs
    import numba

    def git(*cmd: str) -> str:
        try:
            res = subprocess.run(["git", *cmd], cwd=REPO_ROOT, capture_output=True, text=True)
        except OSError:
            return ""
        return res.stdout.strip() if res.returncode == 0 else ""

    # a snapshot outside git (``git archive``) can name its commit in BENCH_GIT_COMMIT
    commit = git("rev-parse", "HEAD") or os.environ.get("BENCH_GIT_COMMIT", "unknown")
    dirty = bool(git("status", "--porcelain", "--", "wavecodec"))
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "git_commit": commit,
        "wavecodec_tree_dirty": dirty,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "imagecodecs": imagecodecs.__version__,
        "openjpeg": imagecodecs.jpeg2k_version(),
        "sperr": imagecodecs.sperr_version(),
        "images": [Path(p).stem for p in paths],
        "codecs": {n: CODECS[n].notes for n in codec_names},
        "jobs": args.jobs,
        "sections": args.sections,
        "argv": sys.argv[1:],
    }


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kodak", type=Path, help="folder with kodim01.png ... kodim24.png")
    ap.add_argument("--images", type=int, default=None, help="use only the first N images")
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON file for all raw numbers (default benchmarks/results/bench_core-<time>.json)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for the gray/color/lossless sections")
    ap.add_argument("--sections", default=",".join(ALL_SECTIONS), help="comma-separated subset of " + ",".join(ALL_SECTIONS))
    ap.add_argument("--codecs", default=",".join(CODECS), help="comma-separated subset of " + ",".join(CODECS))
    ap.add_argument("--repeats", type=int, default=7, help="timed runs in the speed section (>= 7 recommended)")
    args = ap.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = [s for s in args.sections if s not in ALL_SECTIONS]
    if bad:
        ap.error(f"--sections: unknown {bad}; choose from {ALL_SECTIONS}")
    args.codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]
    bad = [c for c in args.codecs if c not in CODECS]
    if bad:
        ap.error(f"--codecs: unknown {bad}; choose from {list(CODECS)}")
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    paths = sorted(str(p) for p in args.kodak.glob("*.png"))
    if not paths:
        print(f"no PNG images in {args.kodak}", file=sys.stderr)
        return 2
    if args.images:
        paths = paths[: args.images]
    codec_names = list(args.codecs)
    if any(n in WAVECODEC_CODECS for n in codec_names) and not wavecodec_api_available():
        print("warning: wavecodec.encode/decode not available; skipping wavecodec codecs", file=sys.stderr)
        codec_names = [n for n in codec_names if n not in WAVECODEC_CODECS]
        args.sections = [s for s in args.sections if s != "startup"]
    speed_path = next((p for p in paths if Path(p).stem == "kodim01"), paths[0])

    report = Report()
    results: dict[str, Any] = {"meta": _meta(args, paths, codec_names)}
    m = results["meta"]
    report("# wavecodec core benchmark")
    report()
    report(f"{len(paths)} Kodak images; {m['date']}; commit {m['git_commit'][:10]}"
           f"{' (+ uncommitted changes in wavecodec/)' if m['wavecodec_tree_dirty'] else ''}; Python {m['python']}, "
           f"numpy {m['numpy']}, numba {m['numba']}, imagecodecs {m['imagecodecs']} ({m['openjpeg']}, {m['sperr']}); "
           f"{m['cpu_count']} CPUs; {args.jobs} worker processes for sections gray/color/lossless.")
    report()
    report("Rates are bits per pixel = total bytes * 8 / (h * w) for every codec (colour too); target r bpp "
           "gives a byte budget of floor(r*h*w/8). PSNR over all pixels (and all RGB channels together); "
           "MS-SSIM: wavecodec.metrics.ms_ssim (per-channel mean for colour). Times: median over images of one "
           "encode / one decode each (rate search excluded), measured inside the worker processes. "
           "Prefix failures: failed/tested decodes of 5 seeded random prefixes data[:k] "
           "(header size <= k < len) of every wavecodec stream.")
    report()
    for n in codec_names:
        report(f"- **{n}**: {CODECS[n].notes}")
    report()

    t_all = time.perf_counter()
    if "gray" in args.sections:
        t0 = time.perf_counter()
        report("## 1. Grayscale (Pillow convert('L'))")
        report()
        results["gray"] = section_rates(report, args, paths, "L", GRAY_RATES, codec_names)
        results["gray"]["wall_s"] = time.perf_counter() - t0
        report(f"Section wall time: {results['gray']['wall_s']:.1f} s")
        report()
    if "color" in args.sections:
        t0 = time.perf_counter()
        report("## 2. Colour (RGB, PSNR over RGB)")
        report()
        results["color"] = section_rates(report, args, paths, "RGB", COLOR_RATES, codec_names)
        results["color"]["wall_s"] = time.perf_counter() - t0
        report(f"Section wall time: {results['color']['wall_s']:.1f} s")
        report()
    if "lossless" in args.sections:
        t0 = time.perf_counter()
        report("## 3. Lossless")
        report()
        results["lossless"] = section_lossless(report, args, paths, codec_names)
        results["lossless"]["wall_s"] = time.perf_counter() - t0
        report(f"Section wall time: {results['lossless']['wall_s']:.1f} s")
        report()
    if "speed" in args.sections:
        t0 = time.perf_counter()
        report("## 4. Speed")
        report()
        results["speed"] = section_speed(report, args, speed_path, codec_names)
        results["speed"]["wall_s"] = time.perf_counter() - t0
        report(f"Section wall time: {results['speed']['wall_s']:.1f} s")
        report()
    if "startup" in args.sections:
        t0 = time.perf_counter()
        report("## 5. Start-up")
        report()
        results["startup"] = section_startup(report, args, speed_path)
        results["startup"]["wall_s"] = time.perf_counter() - t0
        report(f"Section wall time: {results['startup']['wall_s']:.1f} s")
        report()
    results["meta"]["wall_s"] = time.perf_counter() - t_all
    report(f"Total wall time: {results['meta']['wall_s']:.1f} s")

    out = args.out or REPO_ROOT / "benchmarks" / "results" / f"bench_core-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as fh:
        json.dump(results, fh, indent=1, default=_json_default)
    print(f"\nRaw results written to {out}", file=sys.stderr)
    return 0


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(type(obj).__name__)


if __name__ == "__main__":
    sys.exit(main())
