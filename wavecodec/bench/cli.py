"""Command line of the benchmark harness."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from .published import load_references
from .harness import MODES, RATE_BASES, BenchConfig, parse_codecs, run_bench

DEFAULT_RATES = "0.02,0.05,0.1,0.25,0.5,0.75,1.0"


def _rates(text: str) -> list[float]:
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--rates must be comma-separated numbers, got {text!r}") from None
    if not rates or any(not r > 0 for r in rates):
        raise argparse.ArgumentTypeError("--rates must be positive bits per pixel")
    return sorted(set(rates))


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    modes = ["rgb" if m in ("color", "colour") else m for m in modes]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise argparse.ArgumentTypeError(f"--modes: choose from gray, rgb (colour), got {text!r}")
    return modes


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="python -m wavecodec.bench",
                                          description="Rate-distortion benchmark of wavecodec and external codecs.")
    p.add_argument("dataset", nargs="?", default=os.environ.get("WAVECODEC_KODAK"),
                   help="folder of images (e.g. the 24 Kodak PNGs); default: $WAVECODEC_KODAK")
    p.add_argument("--codecs", default="all",
                   help="comma-separated codec specs name[:option=value...], e.g. "
                        "'spiht,spiht:variant=binary,ezw,jpeg2000,jpeg,webp,avif,jpegxl,sperr'; 'all' = every registered"
                        " codec except compressai (default)")
    p.add_argument("--rates", type=_rates, default=_rates(DEFAULT_RATES), help=f"target bpp list (default {DEFAULT_RATES})")
    p.add_argument("--modes", type=_modes, default=list(MODES), help="gray,rgb (default both)")
    p.add_argument("--images", type=int, default=None, help="use only the first N images (sorted by name)")
    p.add_argument("--anchor", default=None,
                   help="label(s) of the BD-rate/BD-PSNR anchor curve(s), comma-separated, measured or published, e.g."
                        " 'jpeg2000,bmshj2018-factorized' (default jpeg2000 if listed, else the first codec)")
    p.add_argument("--reference", action="append", default=[], metavar="FILE",
                   help="published rate-distortion points to overlay: a CompressAI result JSON (results/image/kodak/*.json)"
                        " or a CSV source,name,bpp,psnr_rgb,ms_ssim_rgb (benchmarks/reference/published-kodak-rd.csv);"
                        " repeatable")
    p.add_argument("--reference-curves", default=None, metavar="NAMES",
                   help="comma-separated sources or names of the --reference curves to keep (default: all of them)")
    p.add_argument("--rate-basis", choices=RATE_BASES, default=None,
                   help="bpp of the BD figures, plots and table cells: 'container' (whole stream) or 'payload' (the"
                        " codec's own bytes, as published figures count them); default payload with --reference,"
                        " else container")
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="output folder (default bench-results)")
    p.add_argument("--jobs", type=int, default=0, help="worker processes (default: one per CPU; 1 = serial)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://host:port: run on that cluster")
    p.add_argument("--no-resume", dest="resume", action="store_false", help="recompute tasks whose results exist")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no tqdm progress bar")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="skip the matplotlib plots")
    p.add_argument("--no-msssim", dest="msssim", action="store_false", help="skip MS-SSIM (faster)")
    p.set_defaults(bench_func=run_from_args)
    return p


def run_from_args(args: argparse.Namespace) -> int:
    if not args.dataset:
        print("wavecodec bench: error: give the image folder (or set $WAVECODEC_KODAK)", file=sys.stderr)
        return 2
    if args.images is not None and args.images < 1:
        print("wavecodec bench: error: --images must be >= 1", file=sys.stderr)
        return 2
    try:
        specs = parse_codecs(args.codecs)
    except (ValueError, KeyError) as exc:
        print(f"wavecodec bench: error: {exc}", file=sys.stderr)
        return 2
    try:
        select = [s.strip() for s in args.reference_curves.split(",") if s.strip()] if args.reference_curves else None
        if select and not args.reference:
            raise ValueError("--reference-curves needs --reference FILE")
        references = load_references(args.reference, select)
    except ValueError as exc:
        print(f"wavecodec bench: error: {exc}", file=sys.stderr)
        return 2
    labels = [s.label for s in specs] + [r.name for r in references]
    anchor = args.anchor or ("jpeg2000" if "jpeg2000" in labels else labels[0])
    for a in (x.strip() for x in anchor.split(",")):
        if a not in labels:
            print(f"wavecodec bench: error: --anchor {a!r} is not one of the curves {labels}", file=sys.stderr)
            return 2
    cfg = BenchConfig(dataset=Path(args.dataset), codecs=specs, rates=args.rates, modes=args.modes, out=args.out,
                      images=args.images, anchor=anchor, jobs=args.jobs, scheduler=args.scheduler,
                      resume=args.resume, progress=args.progress, plots=args.plots, msssim=args.msssim,
                      references=references, rate_basis=args.rate_basis)
    try:
        run_bench(cfg)
    except FileNotFoundError as exc:
        print(f"wavecodec bench: error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.bench_func(args)
