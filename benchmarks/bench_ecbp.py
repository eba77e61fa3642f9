"""Issue 17's figures for `ecbp` in one command: each criterion's target beside what it measures.

    python benchmarks/bench_ecbp.py /path/to/kodak --out benchmarks/results_ecbp

What it runs (everything in this one process tree, the anchors in the same run):

1. Kodak colour (criterion 2): ``wavecodec.bench`` in RGB on ``spiht``, ``ecbp`` and
   ``jpeg2000`` (OpenJPEG through imagecodecs, rate-matched) at 0.1-1 bpp, with the published
   bmshj2018 curves of ``benchmarks/reference/published-kodak-rd.csv``, payload bpp (what the
   published figures count): BD-PSNR of ecbp against spiht (target >= +0.7 dB) and against
   bmshj2018-hyperprior (target >= 0).
2. Kodak gray (criterion 3): the same harness in gray at 0.1-1 bpp: BD-rate of ecbp against
   jpeg2000 (target <= -11%); then at 0.02 and 0.05 bpp the mean PSNR gain of ecbp over spiht
   (target >= +0.5 dB at each rate), and beside it that of ``canny-ecbp`` (ecbp with
   canny-spiht's edge layer, the library's best at those rates).
3. Time (criterion 4): kodim01 (768x512) at 1 bpp, gray and colour, CPU seconds of encode and
   decode, median of ``--repeats`` runs of each codec alternately in one process, as a ratio to
   spiht (target <= 3).
4. Memory (criterion 4 with issue 14's bound): peak bytes per sample of encode and decode, each
   in a fresh process (``bench_memory.py``'s child), on a gray mosaic of ``--memory-size`` and
   a colour one of ``--colour-size`` at 1 and 0.1 bpp (targets <= 12 and <= 16).

The rate-distortion runs keep their per-image results under ``--out`` (``colour/``, ``gray/``)
and resume from them, as ``wavecodec bench`` does; ``criteria.json`` and ``criteria.md`` hold
the table printed at the end (``--parts`` runs some parts again; the others keep the figures
``criteria.json`` has from an earlier run into the same ``--out``).  ``--images N`` runs the rate-distortion part on the first N
images only (a quick check; the targets speak of all 24).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from wavecodec.bench.bjontegaard import bd_rate  # noqa: E402
from wavecodec.bench.harness import BenchConfig, parse_codecs, run_bench  # noqa: E402
from wavecodec.bench.published import load_references  # noqa: E402

PUBLISHED = HERE / "reference" / "published-kodak-rd.csv"
HYPERPRIOR = "compressai-bmshj2018-hyperprior_mse_cpu"
FACTORIZED = "compressai-bmshj2018-factorized_mse_cpu"
COLOUR_RATES = [0.1, 0.15, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0]
GRAY_RATES = [0.1, 0.15, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0]
LOW_RATES = [0.02, 0.05]


def _bench(dataset: Path, out: Path, mode: str, codecs: str, rates: list[float], anchor: str, *, images: int | None,
           jobs: int, references: list | None = None) -> dict:
    cfg = BenchConfig(dataset=dataset, codecs=parse_codecs(codecs), rates=rates, modes=[mode], out=out, images=images,
                      anchor=anchor, jobs=jobs, progress=False, plots=False, msssim=False,
                      references=references or [], rate_basis="payload")
    return run_bench(cfg, log=lambda line: print("   ", line))["modes"][mode]


def colour_figures(dataset: Path, out: Path, images: int | None, jobs: int) -> dict:
    refs = load_references([PUBLISHED], [HYPERPRIOR, FACTORIZED])
    mode = _bench(dataset, out / "colour", "rgb", "spiht,ecbp,jpeg2000", COLOUR_RATES,
                  "spiht,bmshj2018-hyperprior", images=images, jobs=jobs, references=refs)
    bd = mode["bd"]
    return {"bd_psnr_vs_spiht_db": bd["spiht"]["ecbp"]["bd_psnr_db"],
            "bd_rate_vs_spiht_percent": bd["spiht"]["ecbp"]["bd_rate_percent"],
            "bd_psnr_vs_hyperprior_db": bd["bmshj2018-hyperprior"]["ecbp"]["bd_psnr_db"],
            "spiht_bd_psnr_vs_hyperprior_db": bd["bmshj2018-hyperprior"]["spiht"]["bd_psnr_db"],
            "images": mode["curves"]["ecbp"]["params"]["n_images"]}


def gray_figures(dataset: Path, out: Path, images: int | None, jobs: int) -> dict:
    mode = _bench(dataset, out / "gray", "gray", "spiht,ecbp,jpeg2000", GRAY_RATES, "jpeg2000",
                  images=images, jobs=jobs)
    bd = mode["bd"]["jpeg2000"]
    low = _bench(dataset, out / "gray", "gray", "spiht,ecbp,canny-ecbp", LOW_RATES, "spiht", images=images,
                 jobs=jobs)
    curves = low["curves"]
    metric = low["metric"]

    def gains_of(codec: str) -> dict:
        out = {}
        for rate in LOW_RATES:  # per-rate mean PSNR, codec minus spiht (both reach these rates on every image)
            ie, isp = curves[codec]["params"]["target_bpp"], curves["spiht"]["params"]["target_bpp"]
            if rate in ie and rate in isp:
                out[str(rate)] = (curves[codec]["results"][metric][ie.index(rate)]
                                  - curves["spiht"]["results"][metric][isp.index(rate)])
        return out

    gains = gains_of("ecbp")
    # the same BD-rate on the gray run's curves computed here too, as a cross-check of the harness
    e, j = mode["curves"]["ecbp"]["results"], mode["curves"]["jpeg2000"]["results"]
    check = bd_rate(j["bpp-payload"], j[mode["metric"]], e["bpp-payload"], e[mode["metric"]])
    return {"bd_rate_vs_jpeg2000_percent": bd["ecbp"]["bd_rate_percent"],
            "spiht_bd_rate_vs_jpeg2000_percent": bd["spiht"]["bd_rate_percent"],
            "bd_rate_check_percent": check, "low_rate_psnr_gain_db": gains,
            "low_rate_psnr_gain_db_canny_ecbp": gains_of("canny-ecbp"),
            "images": mode["curves"]["ecbp"]["params"]["n_images"]}


def time_figures(dataset: Path, repeats: int) -> dict:
    import wavecodec
    from PIL import Image

    rgb = np.asarray(Image.open(dataset / "kodim01.png").convert("RGB"))
    gray = np.asarray(Image.open(dataset / "kodim01.png").convert("L"))
    figures = {}
    for name, img in (("gray", gray), ("rgb", rgb)):
        streams = {c: wavecodec.encode(img, c, bpp=1.0) for c in ("spiht", "ecbp")}  # compiles first
        for s in streams.values():
            wavecodec.decode(s)
        cpu = {(c, op): [] for c in streams for op in ("encode", "decode")}
        for _ in range(repeats):
            for c in streams:
                t = time.process_time()
                streams[c] = wavecodec.encode(img, c, bpp=1.0)
                cpu[c, "encode"].append(time.process_time() - t)
                t = time.process_time()
                wavecodec.decode(streams[c])
                cpu[c, "decode"].append(time.process_time() - t)
        for op in ("encode", "decode"):
            e, s = statistics.median(cpu["ecbp", op]), statistics.median(cpu["spiht", op])
            figures[f"{name}_{op}"] = {"ecbp_s": e, "spiht_s": s, "ratio": e / s}
    return figures


def memory_figures(dataset: Path, size: int, colour_size: int) -> dict:
    import bench_memory as bm

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        stream = str(Path(tmp) / "ecbp.bin")
        for colour, side in ((False, size), (True, colour_size)):
            for bpp in (1.0, 0.1):
                row = {}
                for op in ("encode", "decode"):  # the decode reads the stream the encode wrote
                    rec = bm.run_child(["ecbp", op, str(side), str(bpp), str(int(colour)), str(dataset), stream, "-"])
                    row[op] = rec["bytes_per_sample"]
                figures[f"{side}{' rgb' if colour else ''} {bpp:g} bpp"] = row
    return figures


def criteria(figs: dict) -> list[tuple[str, str, str, bool]]:
    rows = []
    c = figs.get("colour")
    if c:
        rows.append(("2 colour: BD-PSNR vs spiht (0.1-1 bpp, payload)", ">= +0.70 dB", f"{c['bd_psnr_vs_spiht_db']:+.2f} dB",
                     c["bd_psnr_vs_spiht_db"] >= 0.7))
        rows.append(("2 colour: BD-PSNR vs bmshj2018-hyperprior", ">= 0 dB", f"{c['bd_psnr_vs_hyperprior_db']:+.2f} dB",
                     c["bd_psnr_vs_hyperprior_db"] >= 0))
    g = figs.get("gray")
    if g:
        rows.append(("3 gray: BD-rate vs jpeg2000 (OpenJPEG, 0.1-1 bpp)", "<= -11%", f"{g['bd_rate_vs_jpeg2000_percent']:+.2f}%",
                     g["bd_rate_vs_jpeg2000_percent"] <= -11))
        for rate, gain in g["low_rate_psnr_gain_db"].items():
            rows.append((f"3 gray: PSNR gain over spiht at {rate} bpp", ">= +0.50 dB", f"{gain:+.2f} dB", gain >= 0.5))
        for rate, gain in g.get("low_rate_psnr_gain_db_canny_ecbp", {}).items():  # (added later: absent before)
            rows.append((f"3 gray: PSNR gain over spiht at {rate} bpp, canny-ecbp (ecbp + edge layer)", ">= +0.50 dB",
                         f"{gain:+.2f} dB", gain >= 0.5))
    t = figs.get("time")
    if t:
        for key, v in t.items():
            rows.append((f"4 time: kodim01 {key.replace('_', ' ')} at 1 bpp, / spiht", "<= 3x", f"{v['ratio']:.2f}x",
                         v["ratio"] <= 3))
    m = figs.get("memory")
    if m:
        for key, v in m.items():
            bound = 12 if key.endswith(" 1 bpp") else 16
            for op in ("encode", "decode"):
                rows.append((f"4 memory: {op} {key}, bytes per sample", f"<= {bound}", f"{v[op]:.1f}", v[op] <= bound))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kodak", type=Path, help="folder of kodim01.png ... kodim24.png")
    ap.add_argument("--out", type=Path, default=Path("bench-ecbp"))
    ap.add_argument("--images", type=int, help="rate-distortion on the first N images only (quick check)")
    ap.add_argument("--jobs", type=int, default=0, help="worker processes of the rate-distortion runs (0: one per CPU)")
    ap.add_argument("--repeats", type=int, default=9, help="timed runs per codec and operation")
    ap.add_argument("--memory-size", type=int, default=2048)
    ap.add_argument("--colour-size", type=int, default=1024)
    ap.add_argument("--parts", default="colour,gray,time,memory", help="which parts to run (comma-separated)")
    args = ap.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"colour", "gray", "time", "memory"}
    if unknown:
        ap.error(f"unknown --parts {sorted(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "criteria.json"
    figs: dict = {}
    if saved.exists():  # the parts not run now keep their figures from an earlier run into --out
        figs = json.loads(saved.read_text()).get("figures", {})
    if "colour" in parts:
        print("colour rate-distortion (criterion 2)")
        figs["colour"] = colour_figures(args.kodak, args.out, args.images, args.jobs)
    if "gray" in parts:
        print("gray rate-distortion (criterion 3)")
        figs["gray"] = gray_figures(args.kodak, args.out, args.images, args.jobs)
    if "time" in parts:
        print("time (criterion 4)")
        figs["time"] = time_figures(args.kodak, args.repeats)
    if "memory" in parts:
        print("memory (criterion 4)")
        figs["memory"] = memory_figures(args.kodak, args.memory_size, args.colour_size)
    rows = criteria(figs)
    width = max(len(r[0]) for r in rows) if rows else 10
    lines = ["| criterion | target | measured | met |", "|---|---|---|---|"]
    lines += [f"| {name} | {target} | {value} | {'yes' if ok else 'no'} |" for name, target, value, ok in rows]
    print()
    for name, target, value, ok in rows:
        print(f"{name:{width}s}  {target:>12s}  {value:>10s}  {'met' if ok else 'NOT met'}")
    saved.write_text(json.dumps({"figures": figs, "images": args.images}, indent=1) + "\n")
    (args.out / "criteria.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
