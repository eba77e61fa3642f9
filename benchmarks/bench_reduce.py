#!/usr/bin/env python
"""Reduced-resolution decoding: time and memory of ``wavecodec.decode(stream, reduce=k)``.

Usage::

    python benchmarks/bench_reduce.py [KODAK_DIR] [--size 2048] [--bpp 1.0] [--prefix 20000]
                                      [--reduce 0,1,2,3] [--repeats 5] [--codec spiht]

Images: a ``size x size`` mosaic of 512x512 centre crops of the Kodak images in
``KODAK_DIR`` (default ``../shared/data/kodak`` beside the repository, if it
exists; scikit-image's colour images otherwise), in colour and as grey (Pillow's
``convert("L")`` weights).  Each is coded once at ``--bpp``; the complete stream
and its first ``--prefix`` bytes are decoded with every ``reduce``.

Every (image, stream, reduce) runs in a fresh interpreter that first decodes a
64x64 stream of the same codec (loads the compiled kernels), then:

* time: the best of ``--repeats`` decodes, wall clock (``time.perf_counter``)
  and CPU (``time.process_time``: less sensitive to other load on the machine);
* ``rss``: the process's peak resident set during the decodes (``VmHWM`` after
  resetting it through ``/proc/self/clear_refs``, Linux) minus its resident set
  before them: the peak memory a decode adds to a warm interpreter;
* ``traced``: the peak of ``tracemalloc`` during one more decode (NumPy's
  allocations, also those made for the kernels; not Numba's internal ones).

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_KODAK = REPO.parent / "shared" / "data" / "kodak"


def mosaic(kodak: Path | None, size: int) -> tuple[np.ndarray, str]:
    """A size x size x 3 uint8 mosaic of 512x512 centre crops, and where they came from."""
    tiles = []
    if kodak is not None and kodak.is_dir():
        from PIL import Image

        for path in sorted(kodak.glob("kodim*.png")):
            with Image.open(path) as im:
                tiles.append(np.asarray(im.convert("RGB")))
        source = f"Kodak ({kodak})"
    if not tiles:
        from skimage import data

        tiles = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.immunohistochemistry()]
        source = "scikit-image astronaut, coffee, chelsea, rocket, immunohistochemistry"
    n = size // 512 + (size % 512 != 0)
    out = np.zeros((n * 512, n * 512, 3), dtype=np.uint8)
    for t in range(n * n):
        img = tiles[t % len(tiles)]
        h, w = img.shape[:2]
        th, tw = min(512, h), min(512, w)
        crop = img[(h - th) // 2:(h - th) // 2 + th, (w - tw) // 2:(w - tw) // 2 + tw]
        r, c = divmod(t, n)
        out[r * 512:r * 512 + th, c * 512:c * 512 + tw] = crop
    return np.ascontiguousarray(out[:size, :size]), source


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(path: str, reduce: int, repeats: int, codec: str, colour: bool) -> None:
    """Runs in a fresh interpreter: decode the stream in ``path``; print JSON."""
    import tracemalloc

    import wavecodec

    warm = np.zeros((64, 64, 3) if colour else (64, 64), dtype=np.uint8)
    warm[::3] = 200
    wavecodec.decode(wavecodec.encode(warm, codec, bpp=1.0), reduce=reduce)  # load the kernels
    data = Path(path).read_bytes()
    # peak RSS of this process from here on: reset the high-water mark (Linux clear_refs 5), read VmHWM
    # (ru_maxrss would carry the parent's peak over the fork)
    rss0 = _status_kib("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = wavecodec.decode(data, reduce=reduce)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        del out
    rss = _status_kib("VmHWM") - rss0
    tracemalloc.start()
    out = wavecodec.decode(data, reduce=reduce)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"time": min(times), "cpu": min(cpu), "rss_kib": rss, "traced": peak,
                      "shape": list(out.shape)}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("kodak", nargs="?", default=str(DEFAULT_KODAK))
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--bpp", type=float, default=1.0)
    p.add_argument("--prefix", type=int, default=20000)
    p.add_argument("--reduce", default="0,1,2,3")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--codec", default="spiht")
    p.add_argument("--child", nargs=4, metavar=("STREAM", "REDUCE", "REPEATS", "COLOUR"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        path, k, reps, colour = args.child
        child(path, int(k), int(reps), args.codec, colour == "1")
        return

    import wavecodec
    from PIL import Image

    rgb, source = mosaic(Path(args.kodak), args.size)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    ks = [int(k) for k in args.reduce.split(",")]
    print(f"codec {args.codec}, {args.size}x{args.size} mosaic of 512x512 crops of {source};"
          f" best of {args.repeats} decodes, fresh interpreter per row\n")
    print("| image | stream | reduce | output | wall ms | CPU ms | CPU vs full | rss MiB | traced MiB |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, img in (("gray", gray), ("colour", rgb)):
            t = time.perf_counter()
            data = wavecodec.encode(img, args.codec, bpp=args.bpp)
            print(f"<!-- {name}: encoded {len(data)} bytes in {time.perf_counter() - t:.1f} s -->", file=sys.stderr)
            for label, stream in ((f"{args.bpp:g} bpp ({len(data) // 1000} kB)", data),
                                  (f"{args.prefix // 1000} kB prefix", data[: args.prefix])):
                path = Path(tmp) / "s.wvc"
                path.write_bytes(stream)
                full = None
                for k in ks:
                    cmd = [sys.executable, __file__, "--codec", args.codec, "--child", str(path), str(k),
                           str(args.repeats), "1" if img.ndim == 3 else "0"]
                    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                    if k == 0 or full is None:
                        full = res["cpu"]
                    shape = "x".join(str(s) for s in res["shape"])
                    print(f"| {name} | {label} | {k} | {shape} | {1000 * res['time']:.0f} | {1000 * res['cpu']:.0f} |"
                          f" {res['cpu'] / full:.2f} | {res['rss_kib'] / 1024:.0f} | {res['traced'] / 2**20:.0f} |",
                          flush=True)


if __name__ == "__main__":
    main()
