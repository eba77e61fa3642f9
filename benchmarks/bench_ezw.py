#!/usr/bin/env python
"""EZW benchmark: wavecodec EZW (ac, plain) and IMP1EZW against SPIHT-ac and OpenJPEG on Kodak.

Usage::

    python benchmarks/bench_ezw.py /work/shared/data/kodak [--images N] [--jobs 2] [--repeats 7]

Reuses :mod:`bench_core` (image loading, byte budgets, OpenJPEG level bisection,
PSNR / MS-SSIM, the per-image rate worker and the process pool); only the EZW
codec adapters and the tables are new here.  Everything is measured in one run;
Markdown goes to stdout.

Sections: gray (Pillow 'L') and colour rate tables at RATES (mean PSNR, mean
MS-SSIM, "ezw-ac minus spiht-ac" and "imp1ezw minus ezw-ac" per rate);
encode/decode median times of ezw-ac and imp1ezw relative to spiht-ac on kodim01
gray at 1 bpp; lossless total bytes on the gray and the colour images.
Prefix checks of bench_core are switched off here (the EZW tests cover them).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core as bc  # noqa: E402

RATES = (0.0156, 0.03, 0.0625, 0.125, 0.25, 0.5, 1.0)
REF = "spiht-ac"
EZW = "ezw-ac"
IMP = "imp1ezw"


def imp1ezw_available() -> bool:
    import wavecodec

    return "imp1ezw" in wavecodec.codecs()


def register_codecs() -> list[str]:
    """Add the EZW adapters to bench_core.CODECS (in every process); return the codec list."""
    extra = {
        "ezw-ac": bc._wavecodec_codec("ezw-ac", "ezw", variant="ac", notes="wavecodec EZW, arithmetic-coded"),
        "ezw-plain": bc._wavecodec_codec("ezw-plain", "ezw", variant="plain", notes="wavecodec EZW, fixed codes"),
    }
    if imp1ezw_available():
        extra["imp1ezw"] = bc._wavecodec_codec("imp1ezw", "imp1ezw", notes="wavecodec imp1ezw, default options")
    for name, codec in extra.items():
        bc.CODECS[name] = codec
    # no prefix checks in this benchmark (time budget); the EZW tests check every prefix
    for name in list(bc.CODECS):
        bc.CODECS[name] = replace(bc.CODECS[name], embedded=False)
    names = ["ezw-ac", "ezw-plain", "spiht-ac"]
    if "imp1ezw" in extra:
        names.append("imp1ezw")
    return names + ["openjpeg"]


def work_rates(task: tuple) -> dict:
    register_codecs()
    return bc.work_rates(task)


def work_lossless(task: tuple) -> dict:
    path, names, mode = task
    register_codecs()
    img = bc.load_image(path, mode)
    recs = []
    for name in names:
        codec = bc.CODECS[name]
        data = bytes(codec.lossless(img))
        out = codec.decode(data)
        recs.append({"codec": name, "nbytes": len(data), "exact": bool(np.array_equal(out, img))})
    return {"image": Path(path).stem, "records": recs}


def rate_tables(report: bc.Report, results: list[dict], names: list[str], label: str) -> None:
    recs = [r for res in results for r in res["records"]]
    errors = [r for r in recs if "error" in r]
    stats: dict[tuple, dict] = {}
    for rate in RATES:
        for name in names:
            sel = [r for r in recs if r["codec"] == name and r["rate"] == rate and "error" not in r]
            stats[(rate, name)] = {
                "n": len(sel),
                "bpp": bc._mean(r["bpp"] for r in sel),
                "psnr": bc._mean(r["psnr"] for r in sel),
                "ms_ssim": bc._mean(r["ms_ssim"] for r in sel),
                "over": sum(1 for r in sel if r["over_budget"]),
            }
    for metric, digits, unit in (("psnr", 2, " (dB)"), ("ms_ssim", 4, "")):
        header = ["target bpp"] + [f"{n}" for n in names] + [f"{EZW} minus {REF}"]
        if IMP in names:
            header.append(f"{IMP} minus {EZW}")
        rows = []
        for rate in RATES:
            row = [f"{rate:g}"] + [bc._fmt(stats[(rate, n)][metric], digits) for n in names]
            row.append(bc._fmt(stats[(rate, EZW)][metric] - stats[(rate, REF)][metric], digits))
            if IMP in names:
                row.append(bc._fmt(stats[(rate, IMP)][metric] - stats[(rate, EZW)][metric], digits))
            rows.append(row)
        report(f"**{label}, mean {'PSNR' if metric == 'psnr' else 'MS-SSIM'}{unit}** ({len(results)} images)")
        report()
        report(bc.md_table(header, rows))
        report()
    rows = [[f"{rate:g}"] + [f"{bc._fmt(stats[(rate, n)]['bpp'], 4)} ({stats[(rate, n)]['over']})" for n in names]
            for rate in RATES]
    report(f"{label}, mean actual bpp (streams over budget):")
    report()
    report(bc.md_table(["target bpp"] + names, rows))
    report()
    if errors:
        report(f"**{len(errors)} errors** (first 5):")
        for r in errors[:5]:
            report(f"- {r['image']} {r['codec']} @ {r['rate']}: {r['error']}")
        report()


def speed(report: bc.Report, path: str, repeats: int, names: list[str]) -> None:
    img = bc.load_image(path, "L")
    med: dict[str, tuple[float, float, int]] = {}
    timed = [n for n in (EZW, IMP, REF) if n in names]
    for name in timed:
        codec = bc.CODECS[name]
        encoder = codec.prepare(img, 1.0)
        data = bytes(encoder())  # warm-up (JIT)
        codec.decode(data)
        enc = bc._time_runs(encoder, repeats)
        dec = bc._time_runs(lambda: codec.decode(data), repeats)
        med[name] = (statistics.median(enc), statistics.median(dec), len(data))
    report(f"{Path(path).stem} gray {img.shape[1]}x{img.shape[0]} at 1 bpp, median of {repeats} runs after one "
           "warm-up, single process (the main one, no pool running):")
    report()
    rows = [[n, str(med[n][2]), bc._fmt(1e3 * med[n][0], 1), bc._fmt(1e3 * med[n][1], 1)] for n in timed]
    for n in timed:
        if n != REF:
            rows.append([f"{n} / {REF}", "", bc._fmt(med[n][0] / med[REF][0], 2), bc._fmt(med[n][1] / med[REF][1], 2)])
    report(bc.md_table(["codec", "bytes", "median encode (ms)", "median decode (ms)"], rows))
    report()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kodak", type=Path)
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    paths = sorted(str(p) for p in args.kodak.glob("*.png"))[: args.images]
    if not paths:
        print(f"no PNG images in {args.kodak}", file=sys.stderr)
        return 2
    names = register_codecs()
    meta = bc._meta(argparse.Namespace(jobs=args.jobs, sections="ezw"), paths, names)
    report = bc.Report()
    t_start = time.perf_counter()
    report("# wavecodec EZW benchmark")
    report()
    report(f"Command: `python benchmarks/bench_ezw.py {' '.join(sys.argv[1:] if argv is None else argv)}`; "
           f"date {meta['date']}; commit {meta['git_commit'][:10]}"
           f"{' (+ uncommitted changes in wavecodec/)' if meta['wavecodec_tree_dirty'] else ''}; "
           f"Python {meta['python']}, numpy {meta['numpy']}, numba {meta['numba']}, imagecodecs "
           f"{meta['imagecodecs']} ({meta['openjpeg']}); {meta['cpu_count']} CPUs; {args.jobs} worker processes.")
    report()
    report(f"Images: {len(paths)} of the Kodak set ({', '.join(Path(p).stem for p in paths)})"
           f"{'' if len(paths) == 24 else ' -- NOT the full 24-image set'}.  Codecs: "
           + "; ".join(f"{n}: {bc.CODECS[n].notes}" for n in names)
           + ("" if "imp1ezw" in names else "; imp1ezw: not registered in this checkout, not measured") + ".")
    report()
    report("Rate convention (bench_core): target r bpp gives the byte budget floor(r*h*w/8), whole stream "
           "(container header included); PSNR over all pixels (and RGB channels together); MS-SSIM: "
           "wavecodec.metrics.ms_ssim (per-channel mean for colour).  OpenJPEG: level bisection to the budget.  "
           "Rates 0.0156 and 0.03 bpp are 766 and 1474 bytes for 768x512.")
    report()
    for mode, label in (("L", "Gray"), ("RGB", "Colour")):
        report(f"## {label}")
        report()
        tasks = [(i, p, mode, names, RATES, True) for i, p in enumerate(paths)]
        results = bc.run_pool(work_rates, tasks, args.jobs)
        rate_tables(report, results, names, label)
    report("## Speed")
    report()
    speed_path = next((p for p in paths if Path(p).stem == "kodim01"), paths[0])
    speed(report, speed_path, args.repeats, names)
    report("## Lossless")
    report()
    ll_names = [n for n in names if n != "ezw-plain"]
    rows = []
    for mode, label in (("L", "gray"), ("RGB", "colour")):
        results = bc.run_pool(work_lossless, [(p, ll_names, mode) for p in paths], args.jobs)
        for n in ll_names:
            sel = [r for res in results for r in res["records"] if r["codec"] == n]
            total = sum(r["nbytes"] for r in sel)
            pixels = sum(bc.load_image(p, "L").size for p in paths)
            rows.append([label, n, str(total), bc._fmt(8.0 * total / pixels, 3), f"{sum(r['exact'] for r in sel)}/{len(sel)}"])
    report(bc.md_table(["images", "codec", "total bytes", "bits per pixel", "bit-exact"], rows))
    report()
    report(f"Total wall time {time.perf_counter() - t_start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
