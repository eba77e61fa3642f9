#!/usr/bin/env python
"""What-if study for a canny-spiht format decision (issue 15): fewer inpainting sweeps.

The base image's inpainting is part of canny-spiht's format: the encoder and the decoder run
the same cascadic multigrid, with ``iterations`` SOR iterations at full size (24) and twice
that on the coarser levels.  At 4096x4096 and 0.02 bpp the encoder codes two edge-layer
candidates, each an inpainting of about 0.5 s, and takes about 4x ``spiht``'s time (the
target is 3x).  This script measures what a stream variant with fewer iterations would give:
it patches the default of :func:`wavecodec.coders._edge_layer.base_bands` (encoder and
decoder alike, in this process only; no stream it writes is a valid canny-spiht stream of
today's format unless ``iterations`` is 24) and reports, per setting:

* Kodak gray (24 images, ``--kodak``; ``--colour``: RGB, PSNR over the three channels) and,
  with ``--phantom SIZE``, scikit-image's Shepp-Logan phantom resized to SIZE x SIZE
  (piecewise constant: the content an edge layer is for): mean PSNR and edge-PSNR
  (``bench_canny.py``'s mask) of canny-spiht's default choice at each rate, and how many
  images used the edge layer;
* the encode time of a ``--size`` mosaic at ``--mosaic-bpp`` against ``spiht``'s (CPU seconds,
  median of ``--repeats``, alternating).

Usage::

    python benchmarks/study_canny_iterations.py --kodak ../shared/data/kodak [--iterations 24,16,12,8]
        [--rates 0.02,0.05,0.1] [--colour] [--phantom 1024] [--size 4096] [--mosaic-bpp 0.02] [--repeats 3]

``--size 0`` skips the mosaic.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

import wavecodec
from wavecodec.coders import _edge_layer as E

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_canny import edge_mask, masked_psnr  # noqa: E402
from bench_memory import mosaic  # noqa: E402


def set_iterations(n: int) -> None:
    """The inpainting's full-size iterations for everything this process encodes and decodes."""
    E.base_bands.__kwdefaults__["iterations"] = n
    E.base_image.__kwdefaults__["iterations"] = n


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 10 * np.log10(255.0**2 / mse) if mse > 0 else float("inf")


def image_row(images: list, masks: list, rates: list[float]) -> list[tuple[float, float, int]]:
    """Per rate: mean PSNR, mean edge-PSNR (``bench_canny``'s dilated Canny mask) and the number
    of images whose stream has an edge layer."""
    out = []
    for bpp in rates:
        values, edge_values, edges = [], [], 0
        for img, mask in zip(images, masks):
            data = wavecodec.encode(img, "canny-spiht", bpp=bpp)
            edges += wavecodec.info(data).params["mode"] == "edges+spiht"
            decoded = wavecodec.decode(data)
            values.append(psnr(img, decoded))
            edge_values.append(masked_psnr(img, decoded, mask))
        out.append((float(np.mean(values)), float(np.mean(edge_values)), edges))
    return out


def phantom(size: int) -> np.ndarray:
    """scikit-image's Shepp-Logan phantom (piecewise constant, 400x400) resized to ``size`` (bilinear)."""
    from skimage import data, transform

    img = data.shepp_logan_phantom()
    if size != img.shape[0]:
        img = transform.resize(img, (size, size), order=1)
    return np.round(img * 255).astype(np.uint8)


def cpu(f) -> float:
    t = time.process_time()
    f()
    return time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kodak", type=Path, default=HERE.parent.parent / "shared" / "data" / "kodak")
    ap.add_argument("--iterations", default="24,16,12,8")
    ap.add_argument("--rates", default="0.02,0.05,0.1")
    ap.add_argument("--colour", action="store_true", help="the Kodak images in RGB instead of gray")
    ap.add_argument("--phantom", type=int, default=0,
                    help="also the Shepp-Logan phantom resized to this size (0: not)")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--mosaic-bpp", type=float, default=0.02)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    settings = [int(x) for x in args.iterations.split(",")]
    rates = [float(x) for x in args.rates.split(",")]
    files = sorted(args.kodak.glob("kodim*.png"))
    if not files:
        raise SystemExit(f"no kodim*.png in {args.kodak}")
    kind = "colour" if args.colour else "gray"
    sets = {f"Kodak {kind}": [np.asarray(Image.open(f).convert("RGB" if args.colour else "L")) for f in files]}
    if args.phantom:
        sets[f"phantom {args.phantom}^2"] = [phantom(args.phantom)]
    masks = {name: [edge_mask(img) for img in images] for name, images in sets.items()}
    big = mosaic(args.kodak, args.size, False) if args.size else None

    rows = []
    for n in settings:
        set_iterations(n)
        cells = {name: image_row(images, masks[name], rates) for name, images in sets.items()}
        ratio = []
        if big is not None:
            wavecodec.encode(big[:256, :256], "canny-spiht", bpp=args.mosaic_bpp)
            for _ in range(args.repeats):
                t_spiht = cpu(lambda: wavecodec.encode(big, "spiht", bpp=args.mosaic_bpp))
                t_canny = cpu(lambda: wavecodec.encode(big, "canny-spiht", bpp=args.mosaic_bpp))
                ratio.append((t_canny, t_spiht))
        rows.append((n, cells, ratio))
        print(f"iterations {n}: done", file=sys.stderr)
    set_iterations(24)

    head = "| full-size iterations | " + " | ".join(f"{name} {r} bpp: dB / edge dB (edge streams)"
                                                  for name in sets for r in rates)
    head += f" | {args.size}^2 at {args.mosaic_bpp} bpp: canny s / spiht s (ratio) |" if big is not None else " |"
    print(head)
    print("|---" * (1 + len(sets) * len(rates) + (big is not None)) + "|")
    for n, cells, ratio in rows:
        out = [f"{db:.3f} / {edb:.3f} ({k}/{len(sets[name])})" for name in sets for db, edb, k in cells[name]]
        if ratio:
            tc = statistics.median(t for t, _ in ratio)
            ts = statistics.median(s for _, s in ratio)
            out.append(f"{tc:.2f} / {ts:.2f} ({statistics.median(t / s for t, s in ratio):.2f}x)")
        print(f"| {n} | " + " | ".join(out) + " |")


if __name__ == "__main__":
    main()
