#!/usr/bin/env python
"""From which payload budget does ``ecbp``'s subband KLT beat the ICT?  (``colour="auto"``'s rule.)

The subband KLT costs 24 bytes of side information (three quaternions) and decorrelates the
colour planes better than the fixed ICT.  For each size and rate this codes the 24 Kodak images
(RGB; ``--size N``: their top-left N x N crops, 0 for the whole images) with ``ecbp`` and
``colour="ict"``, then ``colour="subband-klt"``, at the same whole-stream budget
``floor(r*h*w/8)`` bytes, and prints the mean PSNR difference (over RGB) and on how many
images the subband KLT is better.

Usage::

    python benchmarks/study_sklt_budget.py --kodak ../shared/data/kodak --size 0 --rates 0.005,0.01,0.015,0.02,0.03
    python benchmarks/study_sklt_budget.py --kodak ../shared/data/kodak --size 256 --rates 0.1,0.2,0.3
    python benchmarks/study_sklt_budget.py --kodak ../shared/data/kodak --size 128 --rates 0.25,0.5,1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core as bc  # noqa: E402

import wavecodec  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kodak", type=Path, required=True)
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--rates", default="0.005,0.01,0.015,0.02,0.03")
    args = ap.parse_args(argv)
    images = [bc.load_image(str(args.kodak / f"kodim{i:02d}.png"), "RGB") for i in range(1, 25)]
    if args.size:
        images = [np.ascontiguousarray(img[: args.size, : args.size]) for img in images]
    print("| image size | bpp | budget (bytes) | subband KLT - ICT (dB, mean of 24) | KLT better on |")
    print("|---|---:|---:|---:|---:|")
    for rate in (float(r) for r in args.rates.split(",")):
        diffs = []
        for img in images:
            budget = bc.budget_bytes(img.shape, rate)
            ict = bc.psnr(img, wavecodec.decode(wavecodec.encode(img, "ecbp", max_bytes=budget, colour="ict")))
            klt = bc.psnr(img, wavecodec.decode(wavecodec.encode(img, "ecbp", max_bytes=budget,
                                                                 colour="subband-klt")))
            diffs.append(klt - ict)
        d = np.array(diffs)
        size = f"{images[0].shape[1]}x{images[0].shape[0]}" if args.size else "768x512"
        print(f"| {size} | {rate:g} | {bc.budget_bytes(images[0].shape, rate)} | {d.mean():+.3f} | "
              f"{int((d > 0).sum())}/24 |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
