#!/usr/bin/env python
"""How well the fractions of :func:`wavecodec.progress` follow the time, and what they cost.

Usage::

    python benchmarks/bench_progress.py [--image PATH] [--tile 3] [--codecs spiht,ezw,imp1ezw]
        [--rates 1,0.1,full,lossless] [--repeats 5]

Timeline: the image (default kodim01, 768x512 colour) tiled ``--tile`` x ``--tile`` is
encoded at each rate (bpp, ``full``: no budget, ``lossless``) and decoded, with a
callback that records ``(seconds, fraction)``.  For each run: the wall time, the number
of reports, and when the fraction first reached 25, 50 and 75 % as a share of the run's
time (a bar that follows the time exactly gives 0.25 0.50 0.75; a fraction that jumps
at the end gives values near 1).  These shares calibrate the driver's constants
(``ENCODE_FRONT_END_SHARE``, ``DECODE_CODING_SHARE`` in wavecodec/coders/_bitplane.py).

Cost: the median wall time of ``--repeats`` warm encodes and decodes of the untiled
image at 1 bpp without a callback and with a callback installed (compare the first
with an older tree with ``bench_coldstart.py --base``).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PIL import Image

import wavecodec

KODIM01 = "/work/shared/data/kodak/kodim01.png"


def timeline(run) -> tuple[float, list[tuple[float, float]]]:
    points: list[tuple[float, float]] = []
    start = time.perf_counter()
    with wavecodec.progress(lambda fraction, stage: points.append((time.perf_counter() - start, fraction))):
        result = run()
    return time.perf_counter() - start, points, result


def crossings(total: float, points: list[tuple[float, float]]) -> str:
    out = []
    for level in (0.25, 0.5, 0.75):
        t = next((t for t, f in points if f >= level), total)
        out.append(f"{t / total:.2f}")
    return " ".join(out)


def rate_args(rate: str) -> dict:
    if rate == "lossless":
        return {"lossless": True}
    if rate == "full":
        return {}
    return {"bpp": float(rate)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--image", default=KODIM01)
    p.add_argument("--tile", type=int, default=3)
    p.add_argument("--codecs", default="spiht,ezw,imp1ezw")
    p.add_argument("--rates", default="1,0.1,full,lossless")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    base = np.asarray(Image.open(args.image).convert("RGB"))
    big = np.ascontiguousarray(np.tile(base, (args.tile, args.tile, 1)))
    print(f"timeline: {big.shape[1]}x{big.shape[0]} colour; shares of the run's time at 25/50/75 %")
    print(f"{'codec':8} {'rate':>8} {'op':6} {'wall s':>7} {'reports':>7}  at 25/50/75 %")
    for codec in args.codecs.split(","):
        for rate in args.rates.split(","):
            wavecodec.decode(wavecodec.encode(base[:128, :128], codec, **rate_args(rate)))  # compiled/loaded
            total, points, data = timeline(lambda: wavecodec.encode(big, codec, **rate_args(rate)))
            print(f"{codec:8} {rate:>8} {'encode':6} {total:7.2f} {len(points):7d}  {crossings(total, points)}")
            total, points, _ = timeline(lambda: wavecodec.decode(data))
            print(f"{codec:8} {rate:>8} {'decode':6} {total:7.2f} {len(points):7d}  {crossings(total, points)}")
    print(f"\ncost: {base.shape[1]}x{base.shape[0]} colour at 1 bpp, median of {args.repeats} warm runs (ms)")
    for codec in args.codecs.split(","):
        data = wavecodec.encode(base, codec, bpp=1.0)
        row = []
        for installed in (False, True):
            enc, dec = [], []
            for _ in range(args.repeats):
                with wavecodec.progress(lambda f, s: None) if installed else _nothing():
                    t = time.perf_counter()
                    wavecodec.encode(base, codec, bpp=1.0)
                    enc.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    wavecodec.decode(data)
                    dec.append(time.perf_counter() - t)
            row.append(f"{statistics.median(enc) * 1e3:6.1f} {statistics.median(dec) * 1e3:6.1f}")
        print(f"{codec:8} no callback enc/dec {row[0]}   callback enc/dec {row[1]}")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


if __name__ == "__main__":
    main()
