#!/usr/bin/env python
"""vq-dct benchmark: codebook designs and optimisers at equal rate, beside SPIHT and OpenJPEG.

Usage::

    python benchmarks/bench_vq.py /work/shared/data/kodak [--images 1-4] [--jobs 2]
        [--iterations 10] [--population 8] [--out benchmarks/results_vq.md]
        [--plot docs/vq-convergence.png]

For every image and rate, in one run: plain VQ with nearest-neighbour coding
(``assignment="nearest"``): k-means (``design="kmeans"``), adaptive incremental LBG
(``optimizer="none"``) and LBG + FPARA with the paper's fitness (PSNR of the
nearest-neighbour coding); then the entropy-constrained assignment
(``assignment="rd"``, the codec's default): its rate design alone ("LBG + RD
assignment", no optimiser: the ablation that shows what the optimisers add), and
LBG + FPA, LBG + ROA, LBG + FPARA, which tune codebook and rate weight together;
then SPIHT (arithmetic-coded) and OpenJPEG (rate-matched by bisection, from
bench_core).  Every vq-dct stream goes through ``wavecodec.encode`` / ``decode``
with the same byte budget floor(bpp * h * w / 8) (codebook and header included),
the same block size (4x4), k (10) and index coder; all methods start from the
same AILBG codebook (memoised in a ``vq_dct.DesignCache`` bound to the codec object,
``wavecodec.get_codec("vq-dct", design_cache=...)``, so it is designed once per image and rate) and k-means gets the codebook size that AILBG reached.  The
optimisers run a fixed budget of ``--iterations`` x ``--population`` fitness
evaluations (plus one Lloyd step per iteration), seed 0.

Also measured: the time to train a 256-codeword codebook on a 768x512 image
(kodim01, gray, 4x4, k = 16 and k = 10; median of 3, wall and CPU), and the
optimisers' convergence on one image (plot).
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

import wavecodec  # noqa: E402
from wavecodec.coders import vq_dct as V  # noqa: E402
from wavecodec.metrics import psnr  # noqa: E402

GRAY_RATES = (0.05, 0.1, 0.25, 0.5)
COLOUR_RATES = (0.1, 0.25)
VQ_METHODS = {  # label -> encode options (LBG first: its encode time includes the AILBG design)
    "incremental LBG": dict(design="ailbg", optimizer="none", assignment="nearest"),
    "k-means VQ": dict(design="kmeans", optimizer="none", assignment="nearest"),
    "LBG + FPARA, nearest (paper)": dict(design="ailbg", optimizer="fpara", assignment="nearest"),
    "LBG + RD assignment": dict(design="ailbg", optimizer="none", assignment="rd"),
    "LBG + FPA": dict(design="ailbg", optimizer="fpa", assignment="rd"),
    "LBG + ROA": dict(design="ailbg", optimizer="roa", assignment="rd"),
    "LBG + FPARA": dict(design="ailbg", optimizer="fpara", assignment="rd"),
}
OPTIMISED = ("LBG + FPARA, nearest (paper)", "LBG + RD assignment", "LBG + FPA", "LBG + ROA", "LBG + FPARA")
ANCHORS = ("SPIHT (ac)", "OpenJPEG")


def parse_images(spec: str, root: Path) -> list[Path]:
    """'1-4,7' -> kodim01..04, kodim07."""
    numbers: list[int] = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            numbers += list(range(int(a), int(b) + 1))
        else:
            numbers.append(int(part))
    return [root / f"kodim{n:02d}.png" for n in numbers]


def work(task: tuple) -> list[dict]:
    """All methods on one image at all rates of one mode (runs in a pool worker)."""
    path, mode, rates, iterations, population = task
    img = bc.load_image(str(path), "L" if mode == "gray" else "RGB")
    rows = []
    codec = wavecodec.get_codec("vq-dct", design_cache=V.DesignCache())  # designs shared by the methods
    for rate in rates:
        budget = bc.budget_bytes(img.shape, rate)
        for label, opts in VQ_METHODS.items():
            t0, c0 = time.perf_counter(), time.process_time()
            data = codec.encode(img, max_bytes=budget, iterations=iterations, population=population, seed=0,
                                **opts)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            info = wavecodec.info(data)
            rows.append(dict(image=path.name, mode=mode, rate=rate, method=label, bytes=len(data),
                             bpp=8 * len(data) / (img.shape[0] * img.shape[1]),
                             psnr=psnr(img, wavecodec.decode(data)), seconds=seconds, cpu=cpu,
                             sizes=info.params["codebook_sizes"], k=info.params["vector_dimensions"]))
        data = wavecodec.encode(img, "spiht", max_bytes=budget)
        rows.append(dict(image=path.name, mode=mode, rate=rate, method="SPIHT (ac)", bytes=len(data),
                         bpp=8 * len(data) / (img.shape[0] * img.shape[1]), psnr=psnr(img, wavecodec.decode(data))))
        _, data = bc.openjpeg_find_level(img, budget)
        rows.append(dict(image=path.name, mode=mode, rate=rate, method="OpenJPEG", bytes=len(data),
                         bpp=8 * len(data) / (img.shape[0] * img.shape[1]), psnr=psnr(img, bc._j2k_decode(data))))
    return rows


def rate_table(report: bc.Report, rows: list[dict], mode: str, rates) -> None:
    rows = [r for r in rows if r["mode"] == mode]
    n_images = len({r["image"] for r in rows})
    label = "grayscale" if mode == "gray" else "colour (PSNR over RGB)"
    report(f"\n### {label}, mean PSNR (dB) over {n_images} images\n")
    header = [f"{label.split(' ')[0]}, bpp"] + [str(r) for r in rates]
    table = []
    means = {}
    for method in list(VQ_METHODS) + list(ANCHORS):
        cells = [method]
        for rate in rates:
            vals = [r["psnr"] for r in rows if r["method"] == method and r["rate"] == rate]
            means[method, rate] = statistics.fmean(vals)
            cells.append(bc._fmt(means[method, rate]))
        table.append(cells)
    report(bc.md_table(header, table))
    report("")
    gain_rows = []
    images = sorted({r["image"] for r in rows})
    psnr_of = {(r["image"], r["rate"], r["method"]): r["psnr"] for r in rows}
    pairs = [(m, "incremental LBG") for m in OPTIMISED] + [(m, "LBG + RD assignment") for m in OPTIMISED[2:]]
    for method, base in pairs:
        cells = [f"{method} minus {base}"]
        for rate in rates:
            d = np.array([psnr_of[i, rate, method] - psnr_of[i, rate, base] for i in images])
            cells.append(f"{d.mean():+.3f} / {d.min():+.3f} / {d.max():+.3f}; "
                         f"{int((d > 1e-9).sum())}, {int((np.abs(d) <= 1e-9).sum())}, {int((d < -1e-9).sum())}")
        gain_rows.append(cells)
    report(bc.md_table(["PSNR difference (dB): mean / min / max; images better, equal, worse"]
                       + [str(r) for r in rates], gain_rows))
    report("")
    detail = []
    for rate in rates:
        sizes = [r["sizes"][0] for r in rows if r["rate"] == rate and r["method"] == "incremental LBG"]
        sizes_rd = [r["sizes"][0] for r in rows if r["rate"] == rate and r["method"] == "LBG + FPARA"]
        enc = {m: statistics.median(r["seconds"] for r in rows if r["rate"] == rate and r["method"] == m)
               for m in VQ_METHODS}
        bpps = [r["bpp"] for r in rows if r["rate"] == rate and r["method"] in VQ_METHODS]
        detail.append([str(rate), f"{min(sizes)}-{max(sizes)} (median {int(statistics.median(sizes))})",
                       f"{min(sizes_rd)}-{max(sizes_rd)} (median {int(statistics.median(sizes_rd))})",
                       f"{max(bpps):.4f}", " / ".join(f"{enc[m]:.1f}" for m in VQ_METHODS)])
    report(bc.md_table(["bpp", "luma codebook size N, plain LBG", "coded luma N, LBG + FPARA",
                        "largest vq-dct rate (bpp)",
                        "median encode s (wall): " + " / ".join(VQ_METHODS)
                        + " (the first of each assignment includes the design the later ones share)"], detail))


def training_time(report: bc.Report, path: Path) -> dict:
    img = bc.load_image(str(path), "L").astype(np.float64)
    out = {}
    rows = []
    for k in (16, 10):
        vec, dropped, r, c = V.block_vectors(img, 4, k)
        ts = V.TrainingSet(vec, float(dropped.sum()), 255.0, r * c * 16)
        V.ailbg(V.TrainingSet(vec[:500], 0.0, 255.0, 500 * 16), 4)  # compile outside the timing
        walls, cpus = [], []
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            cb = V.ailbg(ts, 256)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        assign, dist, sse = V._assign(vec, cb)
        out[k] = (statistics.median(walls), statistics.median(cpus), cb.shape[0], ts.psnr(sse))
        rows.append([str(k), str(cb.shape[0]), f"{out[k][0]:.2f}", f"{out[k][1]:.2f}", f"{out[k][3]:.2f}"])
    report(f"\n### Training a 256-codeword codebook ({path.name}, 768x512 gray, 4x4 blocks, AILBG)\n")
    report(bc.md_table(["k", "codewords", "median wall s (3 runs)", "median CPU s", "PSNR of the codebook (dB)"],
                       rows))
    return out


def convergence_plot(report: bc.Report, path: Path, rate: float, iterations: int, population: int,
                     plot: str | None) -> None:
    img = bc.load_image(str(path), "L").astype(np.float64)
    budget = bc.budget_bytes(img.shape, rate) - 40
    histories, starts = {}, {}
    cache = V.DesignCache()
    common = dict(block=4, k=10, budget=budget, size=None, design="ailbg", iterations=iterations,
                  population=population, seed=0, step=2.0, peak=255.0, gray=True, cache=cache)
    lbg = V.encode_plane(img, optimizer="none", assignment="nearest", **common).psnr_final
    for method in ("fpa", "roa", "fpara"):
        res = V.encode_plane(img, optimizer=method, **common)
        histories[method] = res.optimizer
        starts[method] = res.psnr_start
    start = starts["fpara"]
    report(f"\n### Optimiser convergence ({path.name} gray, {rate} bpp, population {population},"
           f" {iterations} iterations; fitness = PSNR of the plane as coded within the budget,"
           " rate-weighted assignment)\n")
    rows = [[m.upper(), f"{lbg:.3f}", f"{start:.3f}", f"{r.best_fitness:.3f}", f"{r.best_fitness - start:+.3f}",
             str(r.evaluations)] for m, r in histories.items()]
    report(bc.md_table(["optimiser", "plain LBG PSNR", "LBG + RD assignment (start)", "final PSNR",
                        "optimiser's gain", "fitness evaluations"], rows))
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
        for m, r in histories.items():
            ax.plot(np.arange(len(r.history)), r.history - start, marker="o", ms=3, label=m.upper())
        ax.set_xlabel("iteration")
        ax.set_ylabel("best PSNR minus start (dB)")
        ax.set_title(f"vq-dct codebook refinement, {path.name}, {rate} bpp")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot)
        report(f"\nConvergence plot: `{plot}`.")


def sweep(report: bc.Report, kodak: Path, images: str) -> None:
    """The k / block-size sweep of docs/vq-dct.md (gray, optimizer none, luma budget
    floor(bpp*H*W/8) - 40 bytes)."""
    configs = [(4, 3), (4, 6), (4, 10), (4, 16), (8, 10), (8, 20), (8, 40)]
    rows = []
    for path in parse_images(images, kodak):
        img = bc.load_image(str(path), "L").astype(np.float64)
        for rate in GRAY_RATES:
            cells = [str(rate), path.stem]
            for block, k in configs:
                if block == 8 and rate > 0.25:
                    cells.append("")
                    continue
                res = V.encode_plane(img, block=block, k=k, budget=int(rate * img.size / 8) - 40, size=None,
                                     design="ailbg", optimizer="none", iterations=0, population=8, seed=0,
                                     step=2.0, peak=255.0, assignment="nearest")
                cells.append(f"{res.psnr_final:.2f}")
            rows.append(cells)
    report(bc.md_table(["bpp", "image"] + [f"{b}x{b}, k = {k}" for b, k in configs], rows))


def share_sweep(report: bc.Report, kodak: Path, images: str) -> None:
    """Colour, optimizer none: PSNR over RGB for each fixed chroma share and for
    chroma_share="auto" (docs/vq-dct.md, "Colour budget")."""
    shares = list(V.CHROMA_SHARES) + ["auto"]
    paths = parse_images(images, kodak)
    for rate in COLOUR_RATES:
        rows, means, seconds = [], {s: [] for s in shares}, {s: 0.0 for s in shares}
        for path in paths:
            img = bc.load_image(str(path), "RGB")
            cells = [path.stem]
            for share in shares:
                t0 = time.perf_counter()
                data = wavecodec.encode(img, "vq-dct", bpp=rate, optimizer="none", chroma_share=share)
                seconds[share] += time.perf_counter() - t0
                value = psnr(img, wavecodec.decode(data))
                means[share].append(value)
                cells.append(f"{value:.2f}")
            rows.append(cells)
        rows.append(["mean"] + [f"{statistics.fmean(means[s]):.3f}" for s in shares])
        rows.append(["encode s (all images)"] + [f"{seconds[s]:.0f}" for s in shares])
        report(f"\n### colour, {rate} bpp, optimizer none: PSNR over RGB (dB) by chroma share\n")
        report(bc.md_table(["image"] + [str(s) for s in shares], rows))


SPEED_RATES = (0.05, 0.1, 0.25, 0.5)


def speed(image: Path, repeat: int, modes: str) -> None:
    """Encode time with the default options (FPARA on) at each rate of :data:`SPEED_RATES`:
    median wall and CPU seconds of ``repeat`` encodes (after one untimed encode that loads
    the Numba cache), PSNR and bytes.  Runs on whichever ``wavecodec`` is importable
    (PYTHONPATH), so the same command times a base revision's worktree."""
    print(f"wavecodec {Path(wavecodec.__file__).parent}, {image.name}, {repeat} encodes per point", flush=True)
    wavecodec.encode(bc.load_image(str(image), "L")[:64, :64], "vq-dct", bpp=0.5)  # load compiled kernels
    print("| mode | bpp | median wall s | median CPU s | PSNR (dB) | bytes |\n|---|---|---|---|---|---|", flush=True)
    for mode in modes.split(","):
        img = bc.load_image(str(image), "L" if mode == "gray" else "RGB")
        for rate in SPEED_RATES:
            walls, cpus = [], []
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                data = wavecodec.encode(img, "vq-dct", bpp=rate)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
            print(f"| {mode} | {rate} | {statistics.median(walls):.2f} | {statistics.median(cpus):.2f} |"
                  f" {psnr(img, wavecodec.decode(data)):.3f} | {len(data)} |", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kodak", type=Path)
    ap.add_argument("--images", default="1-24", help="image numbers, e.g. 1-4 or 1,5,9 (default 1-24)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--population", type=int, default=8)
    ap.add_argument("--no-colour", action="store_true")
    ap.add_argument("--out", default=None, help="also write the Markdown report here")
    ap.add_argument("--plot", default=None, help="convergence plot (PNG)")
    ap.add_argument("--plot-image", default="kodim23.png")
    ap.add_argument("--commit", default=None, help="commit to print (when run from a snapshot outside git)")
    ap.add_argument("--sweep", action="store_true", help="only the k / block-size sweep (docs/vq-dct.md)")
    ap.add_argument("--share-sweep", action="store_true",
                    help="only the chroma-share comparison (docs/vq-dct.md, Colour budget)")
    ap.add_argument("--speed", metavar="IMAGE", default=None,
                    help="only the encode-time table: default options, 0.05-0.5 bpp, on this image of the folder"
                         " (e.g. kodim01.png); hold /tmp/measuring.lock while it runs")
    ap.add_argument("--repeat", type=int, default=3, help="--speed: encodes per point (median)")
    ap.add_argument("--modes", default="gray,colour", help="--speed: gray, colour or both")
    args = ap.parse_args(argv)
    if args.speed:
        speed(args.kodak / args.speed, args.repeat, args.modes)
        return 0
    paths = parse_images(args.images, args.kodak)
    report = bc.Report()
    if args.sweep:
        sweep(report, args.kodak, args.images)
        return 0
    if args.share_sweep:
        share_sweep(report, args.kodak, args.images)
        return 0
    t_start = time.perf_counter()
    import platform
    import subprocess

    commit = args.commit
    if commit is None:
        try:
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                    cwd=Path(__file__).resolve().parent).stdout.strip() or "unknown"
        except OSError:
            commit = "unknown"
    report(f"# vq-dct benchmark\n\nCommand: `python benchmarks/bench_vq.py {args.kodak} --images {args.images}"
           f" --jobs {args.jobs} --iterations {args.iterations} --population {args.population}`  ")
    report(f"Commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()},"
           f" {len(paths)} images.  Optimiser budget: {args.population} individuals x {args.iterations} iterations"
           f" (+1 Lloyd step per iteration), seed 0; block 4x4, k = 10, codebook step 2.")
    tasks = [(p, "gray", GRAY_RATES, args.iterations, args.population) for p in paths]
    if not args.no_colour:
        tasks += [(p, "colour", COLOUR_RATES, args.iterations, args.population) for p in paths]
    results = [row for rows in bc.run_pool(work, tasks, args.jobs) for row in rows]
    rate_table(report, results, "gray", GRAY_RATES)
    if not args.no_colour:
        rate_table(report, results, "colour", COLOUR_RATES)
    training_time(report, paths[0])
    plot_path = args.kodak / args.plot_image
    convergence_plot(report, plot_path if plot_path.exists() else paths[0], 0.25, args.iterations,
                     args.population, args.plot)
    report(f"\nTotal run time {time.perf_counter() - t_start:.0f} s.")
    if args.out:
        Path(args.out).write_text("\n".join(report.parts) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
