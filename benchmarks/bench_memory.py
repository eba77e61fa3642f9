#!/usr/bin/env python
"""Peak memory and time of encoding and decoding big images, beside SPERR and OpenJPEG.

Usage::

    python benchmarks/bench_memory.py [--kodak ../shared/data/kodak] [--sizes 512,1024,2048,4096,8192]
                                      [--rates 1,0.1,lossless] [--codecs spiht,ezw,imp1ezw,canny-spiht,sperr,openjpeg]
                                      [--colour-size 4096] [--json out.json]

Every measurement runs in a fresh Python process, so that one codec's memory
cannot hide in another's high-water mark: the process imports everything, builds
the test image (a mosaic of Kodak images, gray by ITU-R BT.601 luma, tiled and
cropped to ``size x size``; colour for ``--colour-size``), warms the codec up on
a 256x256 crop at the same rate (compiled kernels are not counted), then resets the kernel's peak-RSS
counter (``/proc/self/clear_refs``) and runs one encode or one decode.  Reported:
peak resident memory above the resident memory just before the call, in bytes
per sample (height x width x channels), and wall time.  The input image and the
decoded output belong to the caller: the output is counted (it is allocated
during the call), the input is not.

SPERR (gray only here: ``mode="bpp"`` takes one plane) gets the float64 copy of
the image it needs inside the measured call; OpenJPEG (``jpeg2k_encode``, J2K,
irreversible, one thread) runs at a fixed-PSNR quality level found once per size
to match the rate, and its rate is reported.  Both through imagecodecs.
The rate ``lossless`` (0 in ``--child``) codes losslessly: the wavecodec codecs
with ``lossless=True``, OpenJPEG reversible (5/3), SPERR not at all.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_KODAK = HERE.parent.parent / "shared" / "data" / "kodak"
WAVECODEC = ("spiht", "ezw", "imp1ezw", "canny-spiht")


def mosaic(kodak: Path, size: int, colour: bool) -> np.ndarray:
    """A ``size x size`` mosaic of the Kodak images (row-major, wrapping), built tile by tile."""
    from PIL import Image

    files = sorted(kodak.glob("kodim*.png"))
    if not files:
        raise SystemExit(f"no kodim*.png in {kodak}")
    out = np.empty((size, size, 3) if colour else (size, size), dtype=np.uint8)
    k = 0
    for r0 in range(0, size, 512):
        for c0 in range(0, size, 768):
            with Image.open(files[k % len(files)]) as im:
                rgb = np.asarray(im.convert("RGB"))
            k += 1
            if rgb.shape[0] > rgb.shape[1]:
                rgb = rgb.transpose(1, 0, 2)
            tile = rgb if colour else np.rint(rgb @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
            h = min(512, size - r0)
            w = min(768, size - c0)
            out[r0 : r0 + h, c0 : c0 + w] = tile[:h, :w]
    return out


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (Linux >= 4.0)
        return True
    except OSError:
        return False


def _peak() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(codec: str, op: str, size: int, bpp: float, colour: bool, kodak: Path, stream_path: str,
          knob: float | None) -> dict:
    """One measurement (in a fresh process)."""
    import wavecodec

    img = mosaic(kodak, size, colour)
    samples = img.size
    small = np.ascontiguousarray(img[:64, :64])
    crop = np.ascontiguousarray(img[:256, :256])  # big enough for canny-spiht's edge layer at 0.1 bpp
    lossless = bpp == 0
    if codec == "sperr":
        import imagecodecs as ic

        ic.sperr_decode(ic.sperr_encode(small.astype(np.float64), bpp, mode="bpp", numthreads=1))

        def encode():
            return bytes(ic.sperr_encode(img.astype(np.float64), bpp, mode="bpp", numthreads=1))

        def decode(s):
            return ic.sperr_decode(s)
    elif codec == "openjpeg":
        import imagecodecs as ic

        ic.jpeg2k_decode(ic.jpeg2k_encode(small, level=40.0, codecformat="J2K", reversible=False, numthreads=1))

        def encode():
            if lossless:
                return bytes(ic.jpeg2k_encode(img, codecformat="J2K", reversible=True, numthreads=1))
            return bytes(ic.jpeg2k_encode(img, level=float(knob), codecformat="J2K", reversible=False, numthreads=1))

        def decode(s):
            return ic.jpeg2k_decode(s, numthreads=1)
    else:
        rate = {"lossless": True} if lossless else {"bpp": bpp}
        wavecodec.decode(wavecodec.encode(crop, codec, **rate))  # every kernel of this rate's path compiled

        def encode():
            return wavecodec.encode(img, codec, **rate)

        def decode(s):
            return wavecodec.decode(s, max_samples=samples)
    stream = Path(stream_path).read_bytes() if op == "decode" else None
    exact = _reset_peak()
    base = _rss() if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.perf_counter()
    out = encode() if op == "encode" else decode(stream)
    seconds = time.perf_counter() - t
    peak = _peak()
    if op == "encode":
        Path(stream_path).write_bytes(out)
    nbytes = len(out) if op == "encode" else len(stream)
    return {"codec": codec, "op": op, "size": size, "colour": colour, "target_bpp": bpp,
            "bpp": 8.0 * nbytes / (size * size), "bytes_per_sample": (peak - base) / samples,
            "seconds": seconds, "peak_counter_reset": exact}


def run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def openjpeg_level(kodak: Path, size: int, bpp: float, colour: bool) -> float:
    """The fixed-PSNR level at which OpenJPEG's stream of the mosaic is closest to ``bpp`` (bisection)."""
    import imagecodecs as ic

    img = mosaic(kodak, size, colour)
    lo, hi = 20.0, 60.0
    for _ in range(8):
        mid = (lo + hi) / 2
        rate = 8.0 * len(ic.jpeg2k_encode(img, level=mid, codecformat="J2K", reversible=False, numthreads=1)) / (
            size * size)
        lo, hi = (mid, hi) if rate < bpp else (lo, mid)
    return (lo + hi) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kodak", type=Path, default=DEFAULT_KODAK)
    ap.add_argument("--sizes", default="512,1024,2048,4096,8192")
    ap.add_argument("--rates", default="1,0.1")
    ap.add_argument("--codecs", default="spiht,ezw,imp1ezw,canny-spiht,sperr,openjpeg")
    ap.add_argument("--colour-size", type=int, default=4096, help="colour rows at this size (0: none)")
    ap.add_argument("--json", type=Path, help="write every row to this file")
    ap.add_argument("--child", nargs=8, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        codec, op, size, bpp, colour, kodak, stream, knob = a.child
        print(json.dumps(child(codec, op, int(size), float(bpp), colour == "1", Path(kodak), stream,
                               None if knob == "-" else float(knob))))
        return
    codecs = a.codecs.split(",")
    rates = [0.0 if r == "lossless" else float(r) for r in a.rates.split(",")]
    cases = [(s, False) for s in map(int, a.sizes.split(","))]
    if a.colour_size:
        cases.append((a.colour_size, True))
    rows = []
    print(f"{'codec':12s} {'size':>11s} {'bpp':>6s}  {'encode B/sample':>15s} {'s':>7s}  {'decode B/sample':>15s} {'s':>7s}")
    with tempfile.TemporaryDirectory() as tmp:
        for size, colour in cases:
            for bpp in rates:
                for codec in codecs:
                    if codec == "sperr" and (colour or bpp == 0):
                        continue
                    knob = openjpeg_level(a.kodak, size, bpp, colour) if codec == "openjpeg" and bpp else None
                    stream = str(Path(tmp) / f"{codec}.bin")
                    common = [str(size), str(bpp), "1" if colour else "0", str(a.kodak), stream,
                              "-" if knob is None else str(knob)]
                    enc = run_child([codec, "encode", *common])
                    dec = run_child([codec, "decode", *common])
                    rows += [enc, dec]
                    label = f"{size}x{size}{' rgb' if colour else ''}"
                    print(f"{codec:12s} {label:>11s} {enc['bpp']:6.3f}  {enc['bytes_per_sample']:15.2f}"
                          f" {enc['seconds']:7.2f}  {dec['bytes_per_sample']:15.2f} {dec['seconds']:7.2f}", flush=True)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
