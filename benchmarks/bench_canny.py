#!/usr/bin/env python
"""canny-spiht benchmark: canny-spiht against plain SPIHT (ac) and OpenJPEG on Kodak.

Usage::

    python benchmarks/bench_canny.py /work/shared/data/kodak [--images 1-24] [--jobs 2] [--modes L,RGB]
    python benchmarks/bench_canny.py KODAK --images 1-8 --tune "spacing=8;spacing=16,quant_step=16"
    python benchmarks/bench_canny.py KODAK --figure 3:RGB:0.05:200:300 --out canny-crop.png
    python benchmarks/bench_canny.py KODAK --cost [--sizes 768x512,4096] [--rates 0.05,0.5] [--repeats 5]
    python benchmarks/bench_canny.py KODAK --stages [--sizes 768x512,4096] [--rates 0.02,0.05] [--repeats 5]
    python benchmarks/bench_canny.py KODAK --ecbp [--images 1-24] [--modes L,RGB] [--rates 0.02,0.05,0.1,0.25]
    python benchmarks/bench_canny.py KODAK --ecbp-timing [--modes L,RGB] [--rates 0.02,0.05,0.25] [--repeats 9]

``--images`` takes Kodak numbers: ``1-6``, ``1,3,5`` or ``1-4,9``.  Reuses
:mod:`bench_core` (image loading, byte budgets, OpenJPEG level bisection, PSNR,
MS-SSIM, the process pool, Markdown tables).  Everything is measured in one run;
Markdown goes to stdout.

Per rate and mode: mean PSNR, mean MS-SSIM and mean edge-PSNR of each codec,
canny-spiht minus spiht, how many images used the edge layer and the edge-PSNR
difference on those images; encode / decode time of canny-spiht relative to
spiht (medians over all rate points, both timed in the same worker process).

Edge-PSNR: PSNR over the pixels of a dilated Canny mask of the original:
``skimage.feature.canny`` of the luminance scaled to [0, 1] (sigma 2, the
library's default thresholds 0.1 / 0.2), dilated by a 5x5 square (2 pixels).
It is fixed here, independent of the codec's own edge detector and options.

``--cost``: encode time and peak memory of canny-spiht beside spiht (issue 15,
criterion 2).  Time: one process per (image, rate) encodes with the two codecs
alternately, ``--repeats`` times each (the same machine load for both: the
ratio is the median of the pairwise ratios).  Memory: one fresh process per
(image, rate, codec): after the imports, the image load and a warm-up encode
of a 256x256 crop (compilation), it records ``ru_maxrss``, encodes the image
once (the growth of ``ru_maxrss`` is the peak resident memory of the encode
above that baseline) and once more under ``tracemalloc`` (peak of the Python
and NumPy allocations during the encode; Numba's own allocations are not
seen).  ``768x512`` is kodim01 (gray);
``N`` (a square size) is a gray mosaic of the 512x512 top-left corners of the 24
images, tiled in order.

``--stages``: where canny-spiht's encode time goes, in this process: each
stage's time (wrappers around the functions the encoder calls) summed over
``--repeats`` encodes and divided by them, beside the median time of
``--repeats`` spiht encodes (both after a warm-up encode of the same image).
Stages: plain SPIHT (``spiht`` itself: the quantiser-step search), Canny
detection and tracing, side samples of all contours, contour-pixel flags,
symbols and entropy coding of the candidate layers, base image and residual
(inpainting), SPIHT of the residual; "other": the rest of the encode.

``--ecbp``: canny-ecbp (the edge layer with ``ecbp`` as the coder) beside ``ecbp``,
canny-spiht and ``spiht``, all with default options: mean PSNR and edge-PSNR per rate,
how many images kept the edge layer, and the median encode / decode time of canny-ecbp
over ``ecbp``'s (each codec timed in the same worker process).  ``--ecbp-timing``: CPU time
of the four codecs' encodes and decodes of kodim01, alternating in this process after a
warm-up, medians of ``--repeats``, and the median per-repeat ratio of canny-ecbp to ``ecbp``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core as bc  # noqa: E402

RATES = (0.02, 0.05, 0.0625, 0.1, 0.125, 0.25)
NAMES = ("canny-spiht", "spiht", "openjpeg")


def edge_mask(img: np.ndarray) -> np.ndarray:
    """Dilated Canny mask of the original (see the module docstring)."""
    from scipy import ndimage
    from skimage.feature import canny

    lum = img.astype(np.float64)
    if lum.ndim == 3:
        lum = lum @ np.array([0.299, 0.587, 0.114])
    return ndimage.binary_dilation(canny(lum / 255.0, sigma=2.0), np.ones((5, 5), dtype=bool))


def masked_psnr(ref: np.ndarray, out: np.ndarray, mask: np.ndarray) -> float:
    err = (ref.astype(np.float64) - out.astype(np.float64)) ** 2
    mse = float(err[mask].mean()) if mask.any() else 0.0
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def parse_images(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return sorted(set(i for i in out if 1 <= i <= 24))


def work(task: tuple) -> list[dict]:
    """Pool task: one image in one mode, every codec and rate."""
    import wavecodec

    path, mode = task
    img = bc.load_image(path, mode)
    mask = edge_mask(img)
    recs = []
    for rate in RATES:
        budget = bc.budget_bytes(img.shape, rate)
        for name in NAMES:
            rec = {"image": Path(path).stem, "mode": mode, "rate": rate, "codec": name}
            if name == "openjpeg":
                # 14 bisection steps: the PSNR target to 0.006 dB, far below any difference reported
                _, data = bc.openjpeg_find_level(img, budget, iterations=14)
                t1 = time.perf_counter()
                out = bc._j2k_decode(data)
                t2 = time.perf_counter()
                t0 = t1
            else:
                t0 = time.perf_counter()
                data = wavecodec.encode(img, name, max_bytes=budget)
                t1 = time.perf_counter()
                out = wavecodec.decode(data)
                t2 = time.perf_counter()
                if name == "canny-spiht":
                    params = wavecodec.info(data).params
                    rec["edges"] = params["mode"] == "edges+spiht"
                    rec["edge_bytes"] = params.get("edge_layer_bytes", 0)
            rec.update(nbytes=len(data), over=len(data) > budget, enc_s=t1 - t0, dec_s=t2 - t1,
                       psnr=bc.psnr(img, out), ms_ssim=bc.ms_ssim(img, out), edge_psnr=masked_psnr(img, out, mask))
            recs.append(rec)
    return recs


ECBP_NAMES = ("spiht", "ecbp", "canny-spiht", "canny-ecbp")
ECBP_RATES = (0.02, 0.05, 0.1, 0.25)


def work_ecbp(task: tuple) -> list[dict]:
    """Pool task of ``--ecbp``: one image in one mode, the four codecs at each rate."""
    import wavecodec

    path, mode, rates = task
    img = bc.load_image(path, mode)
    mask = edge_mask(img)
    recs = []
    for rate in rates:
        budget = bc.budget_bytes(img.shape, rate)
        for name in ECBP_NAMES:
            t0 = time.perf_counter()
            data = wavecodec.encode(img, name, max_bytes=budget)
            t1 = time.perf_counter()
            out = wavecodec.decode(data)
            t2 = time.perf_counter()
            recs.append({"image": Path(path).stem, "mode": mode, "rate": rate, "codec": name, "nbytes": len(data),
                         "over": len(data) > budget, "enc_s": t1 - t0, "dec_s": t2 - t1, "psnr": bc.psnr(img, out),
                         "edge_psnr": masked_psnr(img, out, mask),
                         "edges": wavecodec.info(data).params.get("mode", "").startswith("edges+")})
    return recs


def ecbp_tables(report: bc.Report, recs: list[dict], label: str, n_images: int, rates: tuple) -> None:
    def mean(rate, name, key):
        return bc._mean(r[key] for r in recs if r["rate"] == rate and r["codec"] == name)

    def times(rate, name, key):
        return {r["image"]: r[key] for r in recs if r["rate"] == rate and r["codec"] == name}

    header = ["bpp"] + [f"PSNR {n}" for n in ECBP_NAMES] + ["canny-ecbp - ecbp", "canny-ecbp - spiht"]         + [f"edge-PSNR {n}" for n in ECBP_NAMES] + ["edge-PSNR canny-ecbp - ecbp", "edges used (canny-ecbp)",
                                                    "encode / decode time, canny-ecbp / ecbp (median)"]
    rows = []
    for rate in rates:
        p = {n: mean(rate, n, "psnr") for n in ECBP_NAMES}
        e = {n: mean(rate, n, "edge_psnr") for n in ECBP_NAMES}
        used = sum(1 for r in recs if r["rate"] == rate and r["codec"] == "canny-ecbp" and r["edges"])
        ratio = []
        for key in ("enc_s", "dec_s"):
            a, b = times(rate, "canny-ecbp", key), times(rate, "ecbp", key)
            ratio.append(bc._fmt(bc._median([a[k] / b[k] for k in a if b.get(k)]), 2))
        rows.append([f"{rate:g}"] + [bc._fmt(p[n], 3) for n in ECBP_NAMES]
                    + [f"{p['canny-ecbp'] - p['ecbp']:+.3f}", f"{p['canny-ecbp'] - p['spiht']:+.3f}"]
                    + [bc._fmt(e[n], 3) for n in ECBP_NAMES] + [f"{e['canny-ecbp'] - e['ecbp']:+.3f}",
                                                                 f"{used}/{n_images}", " / ".join(ratio)])
    report(f"### {label} ({n_images} images)")
    report()
    report(bc.md_table(header, rows))
    report()
    report(f"Streams over budget: {sum(1 for r in recs if r['over'])}.")
    report()


def ecbp_timing(report: bc.Report, kodak: Path, modes: list[str], rates: tuple, repeats: int) -> None:
    """``--ecbp-timing`` (see the module docstring)."""
    import wavecodec

    rows = []
    for mode in modes:
        img = bc.load_image(str(kodak / "kodim01.png"), mode)
        for rate in rates:
            budget = bc.budget_bytes(img.shape, rate)
            for name in ECBP_NAMES:
                wavecodec.decode(wavecodec.encode(img, name, max_bytes=budget))
            enc = {n: [] for n in ECBP_NAMES}
            dec = {n: [] for n in ECBP_NAMES}
            for _ in range(repeats):
                for name in ECBP_NAMES:
                    t0 = time.process_time()
                    data = wavecodec.encode(img, name, max_bytes=budget)
                    t1 = time.process_time()
                    wavecodec.decode(data)
                    t2 = time.process_time()
                    enc[name].append(t1 - t0)
                    dec[name].append(t2 - t1)
            ratio = [bc._median([a / b for a, b in zip(t["canny-ecbp"], t["ecbp"])]) for t in (enc, dec)]
            label = {"L": "gray", "RGB": "colour"}[mode]
            rows.append([f"{label}, {rate:g} bpp"]
                        + [f"{1e3 * bc._median(enc[n]):.1f} / {1e3 * bc._median(dec[n]):.1f}" for n in ECBP_NAMES]
                        + [f"{ratio[0]:.2f} / {ratio[1]:.2f}"])
    report(bc.md_table(["kodim01"] + [f"{n} (ms)" for n in ECBP_NAMES] + ["canny-ecbp / ecbp"], rows))


def warm_up(path: str) -> None:
    """Compile (and cache) every Numba kernel once in the main process before the pool starts:
    two workers compiling the same kernel into a fresh cache can race on the cache files."""
    import wavecodec

    for mode in ("L", "RGB"):
        img = bc.load_image(path, mode)[:128, :192]
        for rate in RATES:
            for name in ("spiht", "canny-spiht"):
                wavecodec.decode(wavecodec.encode(img, name, max_bytes=bc.budget_bytes(img.shape, 4 * rate)))


def tables(report: bc.Report, recs: list[dict], label: str, n_images: int) -> None:
    def sel(rate, name):
        return [r for r in recs if r["rate"] == rate and r["codec"] == name]

    header = ["bpp"] + [f"PSNR {n}" for n in NAMES] + ["PSNR Δ", "MS-SSIM canny / spiht / oj", "MS-SSIM Δ"] \
        + [f"edge-PSNR {n}" for n in NAMES] + ["edge-PSNR Δ", "edges used", "edge-PSNR Δ where used", "PSNR Δ where used"]
    rows = []
    for rate in RATES:
        c, s, o = sel(rate, "canny-spiht"), sel(rate, "spiht"), sel(rate, "openjpeg")
        m = {n: {k: bc._mean(r[k] for r in sel(rate, n)) for k in ("psnr", "ms_ssim", "edge_psnr")} for n in NAMES}
        used = [(rc, rs) for rc, rs in zip(c, s) if rc.get("edges")]
        row = [f"{rate:g}"] + [bc._fmt(m[n]["psnr"], 2) for n in NAMES]
        row.append(f"{m['canny-spiht']['psnr'] - m['spiht']['psnr']:+.3f}")
        row.append(" / ".join(bc._fmt(m[n]["ms_ssim"], 4) for n in NAMES))
        row.append(f"{m['canny-spiht']['ms_ssim'] - m['spiht']['ms_ssim']:+.4f}")
        row += [bc._fmt(m[n]["edge_psnr"], 2) for n in NAMES]
        row.append(f"{m['canny-spiht']['edge_psnr'] - m['spiht']['edge_psnr']:+.3f}")
        row.append(f"{len(used)}/{len(c)}")
        if used:
            row.append(f"{statistics.fmean(a['edge_psnr'] - b['edge_psnr'] for a, b in used):+.3f}")
            row.append(f"{statistics.fmean(a['psnr'] - b['psnr'] for a, b in used):+.3f}")
        else:
            row += ["-", "-"]
        rows.append(row)
    report(f"### {label} ({n_images} images)")
    report()
    report(bc.md_table(header, rows))
    report()
    over = [r for r in recs if r["over"]]
    report(f"Streams over budget: {len(over)}.  Mean edge-layer bytes where used: "
           + ", ".join(f"{rate:g} bpp: {bc._fmt(bc._mean(r['edge_bytes'] for r in sel(rate, 'canny-spiht') if r.get('edges')), 0)}"
                       for rate in RATES) + ".")
    report()


def speed(report: bc.Report, recs: list[dict]) -> None:
    rows = []
    for mode in sorted({r["mode"] for r in recs}):
        for what in ("enc_s", "dec_s"):
            ratios = []
            for rate in RATES:
                c = {r["image"]: r[what] for r in recs if r["mode"] == mode and r["rate"] == rate and r["codec"] == "canny-spiht"}
                s = {r["image"]: r[what] for r in recs if r["mode"] == mode and r["rate"] == rate and r["codec"] == "spiht"}
                ratios += [c[k] / s[k] for k in c if s.get(k)]
            cm = bc._median([r[what] for r in recs if r["mode"] == mode and r["codec"] == "canny-spiht"])
            sm = bc._median([r[what] for r in recs if r["mode"] == mode and r["codec"] == "spiht"])
            rows.append([{"L": "gray", "RGB": "colour"}[mode], {"enc_s": "encode", "dec_s": "decode"}[what],
                         bc._fmt(1e3 * cm, 1), bc._fmt(1e3 * sm, 1), bc._fmt(bc._median(ratios), 2)])
    report(bc.md_table(["mode", "", "canny-spiht median (ms)", "spiht median (ms)", "median ratio canny-spiht / spiht"], rows))
    report()


TUNE_RATES = (0.02, 0.05, 0.1, 0.25)

_COST_CHILD = r"""
import resource, sys, time, tracemalloc
import numpy as np
sys.path.insert(0, sys.argv[1])
import bench_core as bc
import wavecodec

kodak, size, rate, what, repeats = sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
options = eval(sys.argv[7])  # canny-spiht's options (a dict literal)
if size == "768x512":
    img = bc.load_image(kodak + "/kodim01.png", "L")
else:
    n = int(size)
    tiles = [bc.load_image(f"{kodak}/kodim{i:02d}.png", "L")[:512, :512] for i in range(1, 25)]
    img = np.zeros((n, n), dtype=np.uint8)
    k = 0
    for y in range(0, n, 512):
        for x in range(0, n, 512):
            img[y:y + 512, x:x + 512] = tiles[k % 24][: n - y, : n - x]
            k += 1
budget = bc.budget_bytes(img.shape, rate)
crop = np.ascontiguousarray(img[:256, :256])
codecs = ("spiht", "canny-spiht") if what == "time" else (what,)
for codec in codecs:
    opts = options if codec == "canny-spiht" else {}
    wavecodec.decode(wavecodec.encode(crop, codec, max_bytes=bc.budget_bytes(crop.shape, max(rate, 0.1)), **opts))
if what == "time":  # the two codecs alternately in this process: the same load for both
    times = {c: [] for c in codecs}
    for _ in range(repeats):
        for codec in codecs:
            t0 = time.perf_counter()
            wavecodec.encode(img, codec, max_bytes=budget, **(options if codec == "canny-spiht" else {}))
            times[codec].append(time.perf_counter() - t0)
    print(repr(times))
else:
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = wavecodec.encode(img, what, max_bytes=budget, **opts)
    rss_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_kb) / 1024.0
    tracemalloc.start()
    wavecodec.encode(img, what, max_bytes=budget, **opts)
    peak_mb = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    mode = wavecodec.info(data).params.get("mode", "-")
    print(repr({"rss_mb": rss_mb, "peak_mb": peak_mb, "mode": mode}))
"""


def cost(report: bc.Report, kodak: Path, sizes: list[str], rates: tuple, repeats: int,
         options: dict | None = None) -> None:
    """Encode time and peak memory of canny-spiht and spiht, one fresh process each (see the docstring)."""
    import ast
    import subprocess

    def child(size, rate, what):
        out = subprocess.run([sys.executable, "-c", _COST_CHILD, str(Path(__file__).resolve().parent),
                              str(kodak), size, str(rate), what, str(repeats), repr(options or {})],
                             check=True, capture_output=True, text=True).stdout
        return ast.literal_eval(out.strip().splitlines()[-1])

    rows = []
    for size in sizes:
        for rate in rates:
            times = child(size, rate, "time")
            s, c = child(size, rate, "spiht"), child(size, rate, "canny-spiht")
            ts, tc = statistics.median(times["spiht"]), statistics.median(times["canny-spiht"])
            ratio = statistics.median(b / a for a, b in zip(times["spiht"], times["canny-spiht"]))
            rows.append([size, f"{rate:g}", f"{ts:.3f}", f"{tc:.3f}", f"{ratio:.2f}",
                         f"{s['peak_mb']:.0f}", f"{c['peak_mb']:.0f}", f"{c['peak_mb'] / s['peak_mb']:.2f}",
                         f"{s['rss_mb']:.0f}", f"{c['rss_mb']:.0f}", f"{c['rss_mb'] / max(s['rss_mb'], 1e-9):.2f}",
                         c["mode"]])
            print(rows[-1], file=sys.stderr, flush=True)
    opts = ", ".join(f"{k}={v!r}" for k, v in (options or {}).items()) or "default options"
    report(f"Encode cost, gray, canny-spiht with {opts}: median of {repeats} encodes of each codec, alternating in one process, and "
           f"the median of the {repeats} pairwise ratios; peak = tracemalloc peak of one encode; RSS = growth of "
           "ru_maxrss over the first encode (MB); memory in one fresh process per codec and cell:")
    report()
    report(bc.md_table(["image", "bpp", "spiht s", "canny-spiht s", "time ratio", "spiht peak MB",
                        "canny-spiht peak MB", "peak ratio", "spiht RSS MB", "canny-spiht RSS MB", "RSS ratio",
                        "canny-spiht stream"], rows))
    report()


def work_tune(task: tuple) -> list[dict]:
    """Pool task: one gray image, spiht and ``codec`` (canny-spiht or canny-ecbp) with each option set, at ``rates``."""
    import wavecodec

    path, option_sets, rates, codec = task
    img = bc.load_image(path, "L")
    mask = edge_mask(img)
    recs = []
    for rate in rates:
        budget = bc.budget_bytes(img.shape, rate)
        ref = wavecodec.decode(wavecodec.encode(img, "spiht", max_bytes=budget))
        base = (bc.psnr(img, ref), masked_psnr(img, ref, mask))
        for k, opts in enumerate(option_sets):
            data = wavecodec.encode(img, codec, max_bytes=budget, **opts)
            out = wavecodec.decode(data)
            recs.append({"rate": rate, "set": k, "dpsnr": bc.psnr(img, out) - base[0],
                         "dedge": masked_psnr(img, out, mask) - base[1],
                         "edges": wavecodec.info(data).params["mode"].startswith("edges+")})
    return recs


def tune(report: bc.Report, paths: list[str], spec: str, jobs: int, rates: tuple = TUNE_RATES,
         codec: str = "canny-spiht") -> None:
    """Mean PSNR / edge-PSNR difference to spiht of ``codec``'s option sets (gray).

    ``spec``: option sets separated by ';', each 'key=value,key=value' (values parsed as
    Python literals; an empty set is the defaults).
    """
    option_sets = [parse_options(part) for part in spec.split(";")]
    warm_up(paths[0])
    recs = [r for res in bc.run_pool(work_tune, [(p, option_sets, rates, codec) for p in paths], jobs) for r in res]
    rows = []
    for k, opts in enumerate(option_sets):
        row = [", ".join(f"{a}={b}" for a, b in opts.items()) or "defaults"]
        for rate in rates:
            sel = [r for r in recs if r["set"] == k and r["rate"] == rate]
            row.append(f"{bc._mean(r['dpsnr'] for r in sel):+.3f} / {bc._mean(r['dedge'] for r in sel):+.3f}"
                       f" ({sum(r['edges'] for r in sel)})")
        rows.append(row)
    report(f"Gray, {len(paths)} images; cells: mean PSNR difference / mean edge-PSNR difference to spiht (dB), "
           "(images whose stream uses the edge layer):")
    report()
    report(bc.md_table([f"{codec} options"] + [f"{r:g} bpp" for r in rates], rows))
    report()


def parse_options(part: str) -> dict:
    """'key=value,key=value' -> options (values parsed as Python literals, else strings)."""
    import ast

    opts = {}
    for item in filter(None, part.split(",")):
        key, value = item.split("=")
        try:
            opts[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            opts[key.strip()] = value.strip()
    return opts


def figure(kodak: Path, spec: str, out: Path, options: dict | None = None) -> str:
    """Side-by-side crop (original / spiht / canny-spiht), nearest-neighbour upscaled 3x, as PNG.

    ``spec`` is ``N:MODE:RATE:Y:X``, e.g. ``3:RGB:0.05:200:300`` (crop 128x128 at row Y, column X).
    Returns a Markdown caption with the measured PSNR of the two crops and of the whole image.
    """
    import wavecodec
    from PIL import Image

    number, mode, rate, y, x = spec.split(":")
    img = bc.load_image(str(kodak / f"kodim{int(number):02d}.png"), mode)
    budget = bc.budget_bytes(img.shape, float(rate))
    outs = {}
    for name in ("spiht", "canny-spiht"):
        data = wavecodec.encode(img, name, max_bytes=budget, **((options or {}) if name == "canny-spiht" else {}))
        outs[name] = (wavecodec.decode(data), wavecodec.info(data).params.get("mode", "spiht"))
    y, x = int(y), int(x)
    box = (slice(y, y + 128), slice(x, x + 128))
    tiles = [img[box]] + [outs[n][0][box] for n in ("spiht", "canny-spiht")]
    gap = np.full((128, 4) + img.shape[2:], 255, dtype=np.uint8)
    row = np.concatenate([tiles[0], gap, tiles[1], gap, tiles[2]], axis=1)
    row = np.repeat(np.repeat(row, 3, axis=0), 3, axis=1)
    Image.fromarray(row).save(out, optimize=True)
    parts = []
    for n in ("spiht", "canny-spiht"):
        parts.append(f"{n}: {bc.psnr(img[box], outs[n][0][box]):.2f} dB on the crop, "
                     f"{bc.psnr(img, outs[n][0]):.2f} dB on the image, edge-PSNR "
                     f"{masked_psnr(img, outs[n][0], edge_mask(img)):.2f} dB (stream mode {outs[n][1]})")
    opts = ", ".join(f"{k}={v!r}" for k, v in (options or {}).items()) or "default options"
    return (f"kodim{int(number):02d} {'gray' if mode == 'L' else 'colour'} at {rate} bpp ({budget} bytes), "
            f"canny-spiht with {opts}, crop "
            f"128x128 at ({y}, {x}), shown 3x: original / spiht / canny-spiht.  " + "; ".join(parts) + ".")


def cost_image(kodak: Path, size: str) -> np.ndarray:
    """The --cost / --stages image: kodim01 gray for ``768x512``, else the N x N gray mosaic."""
    if size == "768x512":
        return bc.load_image(str(kodak / "kodim01.png"), "L")
    n = int(size)
    tiles = [bc.load_image(str(kodak / f"kodim{i:02d}.png"), "L")[:512, :512] for i in range(1, 25)]
    img = np.zeros((n, n), dtype=np.uint8)
    k = 0
    for y in range(0, n, 512):
        for x in range(0, n, 512):
            img[y:y + 512, x:x + 512] = tiles[k % 24][: n - y, : n - x]
            k += 1
    return img


STAGES = (("spiht (plain stream)", None), ("Canny + tracing", "detect_contours"),
          ("side samples", "sample_contours"), ("contour flags", "contour_flags"),
          ("layer symbols + coding", "_symbols,encode"), ("base image + residual", "_residual"),
          ("SPIHT of the residual", None))


def stages(report: bc.Report, kodak: Path, sizes: list[str], rates: tuple, repeats: int) -> None:
    """Per-stage encode time of canny-spiht beside spiht's (see the module docstring)."""
    import collections

    import wavecodec
    from wavecodec.coders import _edge_layer as E
    from wavecodec.coders import canny_spiht as CS

    spent: dict[str, float] = collections.defaultdict(float)

    def timed(fn, label):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - t0
        return wrapper

    saved = []
    for label, names in STAGES:
        for name in (names or "").split(","):
            if name:
                mod = CS if name == "_residual" else E
                saved.append((mod, name, getattr(mod, name)))
                setattr(mod, name, timed(getattr(mod, name), label))
    spiht_codec = CS._SPIHT
    plain_fn = spiht_codec.encode_plans

    def encode_plans(pixels, *args, **kwargs):  # the residual is the float32 one
        label = STAGES[-1][0] if pixels.dtype == np.float32 else STAGES[0][0]
        return timed(plain_fn, label)(pixels, *args, **kwargs)

    spiht_codec.encode_plans = encode_plans
    cols, cells = [], []
    try:
        for size in sizes:
            img = cost_image(kodak, size)
            for rate in rates:
                budget = bc.budget_bytes(img.shape, rate)
                for codec in ("spiht", "canny-spiht"):
                    wavecodec.encode(img, codec, max_bytes=budget)
                t_spiht, total = [], 0.0
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    wavecodec.encode(img, "spiht", max_bytes=budget)
                    t_spiht.append(time.perf_counter() - t0)
                spent.clear()
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    data = wavecodec.encode(img, "canny-spiht", max_bytes=budget)
                    total += time.perf_counter() - t0
                per = {label: spent.get(label, 0.0) / repeats for label, _ in STAGES}
                per["other"] = total / repeats - sum(per.values())
                per["canny-spiht encode"] = total / repeats
                per["spiht encode (median)"] = statistics.median(t_spiht)
                cols.append(f"{size} {rate:g} bpp ({wavecodec.info(data).params.get('mode')})")
                cells.append(per)
                print(cols[-1], {k: round(1e3 * v, 1) for k, v in per.items()}, file=sys.stderr, flush=True)
    finally:
        spiht_codec.encode_plans = plain_fn
        for mod, name, fn in saved:
            setattr(mod, name, fn)
    labels = [label for label, _ in STAGES] + ["other", "canny-spiht encode", "spiht encode (median)"]
    rows = [[label] + [f"{1e3 * c[label]:.1f}" for c in cells] for label in labels]
    rows.append(["ratio"] + [f"{c['canny-spiht encode'] / c['spiht encode (median)']:.2f}" for c in cells])
    report(f"canny-spiht encode time by stage (ms per encode, mean of {repeats}; spiht: median of {repeats}), gray:")
    report()
    report(bc.md_table(["stage"] + cols, rows))
    report()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kodak", type=Path)
    ap.add_argument("--images", default="1-24", help="Kodak numbers, e.g. 1-6 or 1,3,5 (default 1-24)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--modes", default="L,RGB", help="Pillow modes: L (gray), RGB (colour)")
    ap.add_argument("--figure", metavar="N:MODE:RATE:Y:X", help="only write a crop figure (see figure())")
    ap.add_argument("--out", type=Path, default=Path("canny-crop.png"), help="PNG path for --figure")
    ap.add_argument("--options", default="", help="canny-spiht options for --figure and --cost, e.g. 'psnr_tolerance=0.1'")
    ap.add_argument("--codec", default="canny-spiht", choices=("canny-spiht", "canny-ecbp"),
                    help="--tune: the codec whose option sets are compared")
    ap.add_argument("--tune", metavar="SETS", help="only compare option sets, e.g. 'spacing=8;spacing=16' (gray)")
    ap.add_argument("--cost", action="store_true", help="only measure encode time and memory beside spiht")
    ap.add_argument("--stages", action="store_true", help="only time canny-spiht's encode by stage, beside spiht")
    ap.add_argument("--sizes", default="768x512,4096", help="--cost / --stages images: 768x512 (kodim01) or N (mosaic)")
    ap.add_argument("--repeats", type=int, default=5, help="--cost / --stages: timed encodes per cell")
    ap.add_argument("--ecbp", action="store_true", help="only compare canny-ecbp with ecbp, canny-spiht and spiht")
    ap.add_argument("--ecbp-timing", action="store_true", help="only time the four codecs of --ecbp on kodim01")
    ap.add_argument("--rates", help="bpp list for --tune / --cost / --ecbp, comma-separated (default "
                    f"{','.join(f'{r:g}' for r in TUNE_RATES)})")
    args = ap.parse_args(argv)
    if args.cost:
        rates = tuple(float(r) for r in args.rates.split(",")) if args.rates else (0.05, 0.5)
        cost(bc.Report(), args.kodak, args.sizes.split(","), rates, args.repeats, parse_options(args.options))
        return 0
    if args.ecbp_timing:
        rates = tuple(float(r) for r in args.rates.split(",")) if args.rates else (0.02, 0.05, 0.25)
        ecbp_timing(bc.Report(), args.kodak, args.modes.split(","), rates, args.repeats)
        return 0
    if args.stages:
        rates = tuple(float(r) for r in args.rates.split(",")) if args.rates else (0.02, 0.05, 0.25)
        stages(bc.Report(), args.kodak, args.sizes.split(","), rates, args.repeats)
        return 0
    if args.tune is not None:
        paths = [str(args.kodak / f"kodim{i:02d}.png") for i in parse_images(args.images)]
        rates = tuple(float(r) for r in args.rates.split(",")) if args.rates else TUNE_RATES
        tune(bc.Report(), paths, args.tune, args.jobs, rates, args.codec)
        return 0
    if args.figure:
        print(figure(args.kodak, args.figure, args.out, parse_options(args.options)))
        return 0
    numbers = parse_images(args.images)
    paths = [str(args.kodak / f"kodim{i:02d}.png") for i in numbers if (args.kodak / f"kodim{i:02d}.png").exists()]
    if not paths:
        print(f"no Kodak images {args.images} in {args.kodak}", file=sys.stderr)
        return 2
    modes = args.modes.split(",")
    if args.ecbp:
        rates = tuple(float(r) for r in args.rates.split(",")) if args.rates else ECBP_RATES
        report = bc.Report()
        report(f"canny-ecbp against ecbp, canny-spiht and spiht (default options), "
               f"{len(paths)} Kodak images; `python benchmarks/bench_canny.py "
               f"{' '.join(sys.argv[1:] if argv is None else argv)}`")
        report()
        import wavecodec

        crop = bc.load_image(paths[0], "RGB")[:128, :192]
        for name in ECBP_NAMES:  # compile once before the workers start (see warm_up)
            for img in (crop, crop[:, :, 0]):
                wavecodec.decode(wavecodec.encode(img, name, max_bytes=bc.budget_bytes(img.shape, 0.2)))
        for mode in modes:
            recs = [r for res in bc.run_pool(work_ecbp, [(p, mode, rates) for p in paths], args.jobs) for r in res]
            ecbp_tables(report, recs, {"L": "Gray", "RGB": "Colour"}[mode], len(paths), rates)
        return 0
    meta = bc._meta(argparse.Namespace(jobs=args.jobs, sections="canny"), paths, ["spiht-ac", "openjpeg"])
    report = bc.Report()
    t_start = time.perf_counter()
    report("# canny-spiht benchmark")
    report()
    report(f"Command: `python benchmarks/bench_canny.py {' '.join(sys.argv[1:] if argv is None else argv)}`; "
           f"date {meta['date']}; commit {meta['git_commit'][:10]}"
           f"{' (+ uncommitted changes in wavecodec/)' if meta['wavecodec_tree_dirty'] else ''}; "
           f"Python {meta['python']}, numpy {meta['numpy']}, numba {meta['numba']}, imagecodecs "
           f"{meta['imagecodecs']} ({meta['openjpeg']}); {meta['cpu_count']} CPUs; {args.jobs} worker processes.")
    report()
    report(f"Images: {len(paths)} Kodak images ({', '.join(Path(p).stem for p in paths)})"
           f"{'' if len(paths) == 24 else ' -- NOT the full 24-image set'}.  Codecs: canny-spiht (default options), "
           "spiht (default options: arithmetic-coded), openjpeg (J2K 9/7, level bisection to the budget).")
    report()
    report("Budget floor(r*h*w/8) bytes for the whole stream (container header included).  PSNR over all pixels "
           "(RGB channels together), MS-SSIM from wavecodec.metrics, edge-PSNR over a dilated Canny mask of the "
           "original (see the script's docstring).  Δ = canny-spiht minus spiht.  'edges used': images whose "
           "canny-spiht stream carries an edge layer (the others are plain SPIHT streams with a 1-byte mode flag).")
    report()
    warm_up(paths[0])
    all_recs = []
    for mode in modes:
        recs = [r for res in bc.run_pool(work, [(p, mode) for p in paths], args.jobs) for r in res]
        all_recs += recs
        tables(report, recs, {"L": "Gray", "RGB": "Colour"}[mode], len(paths))
    report("### Speed (all rate points, each codec timed in the same worker process)")
    report()
    speed(report, all_recs)
    report(f"Total wall time {time.perf_counter() - t_start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
