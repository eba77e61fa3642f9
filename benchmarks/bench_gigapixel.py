#!/usr/bin/env python
"""A gigapixel gray image in a Zarr array, coded chunk by chunk by wavecodec, through Dask.

Usage::

    python benchmarks/bench_gigapixel.py [--size 32768] [--chunk 2048] [--codec spiht] [--bpp 1.0]
        [--workers 2] [--memory-limit 3GB] [--scheduler tcp://HOST:8786]
        [--store PATH_OR_URL] [--keep] [--kodak DIR] [--window 5000] [--out results.json]

The image is a ``size x size`` uint8 mosaic that never exists whole in any process: the chunk
``(i, j)`` is made from its index alone (``make_chunk``), by pasting 512x512 tiles cut at seeded
offsets from gray Kodak images (``--kodak``, default ``../shared/data/kodak`` beside the
repository if it exists; scikit-image's sample images otherwise), each turned and flipped at
random.  So any worker can make any chunk again, to check what it reads back.

For each coding (lossless, then ``--bpp`` bits per pixel of each chunk), the script

1. creates a Zarr v3 array with ``size x size`` pixels in ``chunk x chunk`` chunks, serializer
   ``wavecodec.storage.zarr3.<Codec>(...)``;
2. **write**: ``to_zarr`` of a Dask array with one task per chunk (make the chunk, code it,
   store it);
3. **read**: ``from_zarr`` of the stored array, one task per chunk that decodes it, makes the
   original chunk again and returns the chunk's squared error and largest absolute error (a few
   numbers: the image is never gathered);
4. **window**: reads a ``window x window`` block at an offset that crosses chunk borders into
   the client, through the cluster, and compares it with the original;
5. measures the bytes stored, the peak resident memory of each worker during each step
   (``VmHWM``, reset through ``/proc/self/clear_refs`` before each step, Linux; elsewhere a
   sampling thread in each worker, every 50 ms) and the CPU time the workers spent in it (on a
   machine shared with other work, wall times grow and CPU times stay).

Before the timed steps every worker codes and decodes a small chunk with both codings, so the
times exclude compiling the Numba kernels (or loading them from the cache): that time is reported
as ``warm-up``.

The cluster: a ``distributed.LocalCluster`` of ``--workers`` processes with one thread each and
``--memory-limit`` each, or, with ``--scheduler ADDRESS``, the running cluster at that address
(``dask scheduler`` on one machine, ``dask worker ADDRESS`` on each machine).  Then ``--store``
must be a place every worker reaches: a shared file system path, or an fsspec URL
(``s3://bucket/prefix``, ...) with the fsspec package for it installed everywhere.  Two arrays
are written under it, ``lossless.zarr`` and ``bpp<rate>.zarr``; the default store is a fresh
temporary directory, removed at the end unless ``--keep``.

Prints a Markdown table and writes everything as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_KODAK = REPO.parent / "shared" / "data" / "kodak"
TILE = 512
SEED = 20240614


# --------------------------------------------------------------------------- the mosaic


def load_sources(kodak: str | Path | None = None) -> tuple[list[np.ndarray], str]:
    """Gray uint8 images (each at least TILE x TILE) the mosaic is cut from, and their origin."""
    sources: list[np.ndarray] = []
    if kodak is not None and Path(kodak).is_dir():
        from PIL import Image

        for path in sorted(Path(kodak).glob("kodim*.png")):
            with Image.open(path) as im:
                sources.append(np.ascontiguousarray(np.asarray(im.convert("L"))))
        if sources:
            return sources, f"{len(sources)} Kodak images ({kodak}), gray"
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.util import img_as_ubyte

    for name in ("camera", "astronaut", "moon", "brick", "grass", "gravel", "cell", "retina",
                 "hubble_deep_field", "immunohistochemistry"):
        img = getattr(data, name)()
        if img.ndim == 3:
            img = img_as_ubyte(rgb2gray(img))
        if min(img.shape) >= TILE:
            sources.append(np.ascontiguousarray(img, dtype=np.uint8))
    return sources, f"{len(sources)} scikit-image sample images, gray"


def make_chunk(sources: list[np.ndarray], i: int, j: int, chunk: int) -> np.ndarray:
    """The chunk (i, j) of the mosaic: chunk x chunk uint8, a function of (i, j) alone.

    TILE x TILE tiles cut from the sources at offsets drawn from a generator seeded with
    (SEED, i, j, chunk), each rotated by a multiple of 90 degrees and maybe flipped.
    """
    rng = np.random.default_rng([SEED, i, j, chunk])
    out = np.empty((chunk, chunk), np.uint8)
    for y in range(0, chunk, TILE):
        for x in range(0, chunk, TILE):
            src = sources[int(rng.integers(len(sources)))]
            oy = int(rng.integers(src.shape[0] - TILE + 1))
            ox = int(rng.integers(src.shape[1] - TILE + 1))
            tile = np.rot90(src[oy:oy + TILE, ox:ox + TILE], int(rng.integers(4)))
            if rng.integers(2):
                tile = tile[:, ::-1]
            h, w = min(TILE, chunk - y), min(TILE, chunk - x)
            out[y:y + h, x:x + w] = tile[:h, :w]
    return out


def make_block(sources: list[np.ndarray], i: int, j: int, chunk: int, h: int, w: int) -> np.ndarray:
    """The chunk (i, j) cut to h x w (the chunks at the right and bottom edges of the image)."""
    return make_chunk(sources, i, j, chunk)[:h, :w]


def make_window(sources: list[np.ndarray], y0: int, x0: int, h: int, w: int, chunk: int) -> np.ndarray:
    """The mosaic's pixels [y0:y0+h, x0:x0+w], made from the chunks under them."""
    out = np.empty((h, w), np.uint8)
    for i in range(y0 // chunk, (y0 + h - 1) // chunk + 1):
        for j in range(x0 // chunk, (x0 + w - 1) // chunk + 1):
            c = make_chunk(sources, i, j, chunk)
            ys, xs = max(y0, i * chunk), max(x0, j * chunk)
            ye, xe = min(y0 + h, (i + 1) * chunk), min(x0 + w, (j + 1) * chunk)
            out[ys - y0:ye - y0, xs - x0:xe - x0] = c[ys - i * chunk:ye - i * chunk, xs - j * chunk:xe - j * chunk]
    return out


def check_block(block: np.ndarray, sources: list[np.ndarray], i: int, j: int, chunk: int) -> np.ndarray:
    """[squared error, largest absolute error, pixels] of a decoded block against the original."""
    orig = make_block(sources, i, j, chunk, *block.shape)
    diff = block.astype(np.int32) - orig
    return np.array([float(np.dot(diff.ravel(), diff.ravel())), float(np.abs(diff).max()), float(diff.size)])


def psnr(sse: float, n: float, peak: float = 255.0) -> float:
    return float("inf") if sse == 0 else float(10 * np.log10(peak * peak * n / sse))


def window_origin(size: int, chunk: int, window: int) -> tuple[int, int, int]:
    """(y0, x0, side) of a window that crosses chunk borders (side <= size)."""
    side = min(window, size)
    y0 = max(0, min(size - side, size // 2 - side // 2 + chunk // 3))
    x0 = max(0, min(size - side, size // 3 + chunk // 5))
    return y0, x0, side


# --------------------------------------------------------------------------- on the workers


def _warm_up(codec_name: str, configs: list[dict[str, Any]]) -> float:
    """Code and decode a small chunk with each coding: compiles, or loads, the kernels."""
    from wavecodec.storage import zarr3

    t = time.perf_counter()
    img = (np.add.outer(np.arange(128), np.arange(128)) % 251).astype(np.uint8)
    for cfg in configs:
        codec = zarr3.CODECS[codec_name](**cfg).numcodec
        codec.decode(codec.encode(img))
    return time.perf_counter() - t


def _reset_peak(dask_worker: Any = None) -> int:
    """Reset this process's peak resident set; returns the resident set now, in bytes."""
    import psutil

    rss = int(psutil.Process().memory_info().rss)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        with open("/proc/self/status") as f:
            if "VmHWM" in f.read():
                return rss
    except OSError:
        pass
    # no VmHWM: a thread samples the resident set
    state = getattr(dask_worker, "_gigapixel_peak", None)
    if state is None:
        state = {"peak": rss, "stop": threading.Event()}

        def sample() -> None:
            proc = psutil.Process()
            while not state["stop"].wait(0.05):
                state["peak"] = max(state["peak"], proc.memory_info().rss)

        threading.Thread(target=sample, daemon=True, name="gigapixel-rss").start()
        if dask_worker is not None:
            dask_worker._gigapixel_peak = state
    state["peak"] = rss
    return rss


def _read_peak(dask_worker: Any = None) -> int:
    """This process's peak resident set since the last _reset_peak, in bytes."""
    state = getattr(dask_worker, "_gigapixel_peak", None)
    if state is not None:
        return int(state["peak"])
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no peak memory")


# --------------------------------------------------------------------------- the client


def zarr_codec_name(codec: str) -> str:
    """'spiht' or 'canny-spiht' -> the Zarr codec name 'wavecodec_spiht', 'wavecodec_canny_spiht'."""
    return codec if codec.startswith("wavecodec_") else "wavecodec_" + codec.replace("-", "_")


def store_url(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


def store_bytes(url: str) -> tuple[int, int]:
    """(bytes in the chunk files, bytes in all files) of a Zarr v3 array at a path or fsspec URL."""
    if "://" in url:
        import fsspec

        fs, root = fsspec.core.url_to_fs(url)
        sizes = fs.du(root, total=False)
        chunks = sum(s for p, s in sizes.items() if "/c/" in p[len(root.rstrip("/")):])
        return int(chunks), int(sum(sizes.values()))
    total = chunks = 0
    for dirpath, _, files in os.walk(url):
        for name in files:
            size = os.path.getsize(os.path.join(dirpath, name))
            total += size
            rel = os.path.relpath(os.path.join(dirpath, name), url)
            if rel.startswith("c" + os.sep):
                chunks += size
    return chunks, total


def remove_store(url: str) -> None:
    if "://" in url:
        import fsspec

        fs, root = fsspec.core.url_to_fs(url)
        if fs.exists(root):
            fs.rm(root, recursive=True)
    else:
        shutil.rmtree(url, ignore_errors=True)


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process so far."""
    import psutil

    t = psutil.Process().cpu_times()
    return float(t.user + t.system)


class Peaks:
    """Per step: the peak resident set of every worker, and the CPU time of all workers."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __enter__(self) -> Peaks:
        self.start = self.client.run(_reset_peak)
        self.cpu0 = self.client.run(_cpu_seconds)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.peak = self.client.run(_read_peak)
        self.cpu = {w: t - self.cpu0.get(w, 0.0) for w, t in self.client.run(_cpu_seconds).items()}

    def summary(self) -> dict[str, Any]:
        return {"start": self.start, "peak": self.peak, "max_peak": max(self.peak.values()),
                "cpu_s": self.cpu, "total_cpu_s": sum(self.cpu.values())}


def run_coding(client: Any, sources: list[np.ndarray], sources_f: Any, args: argparse.Namespace, label: str,
               cfg: dict[str, Any], url: str) -> dict[str, Any]:
    """Write, read back and read a window of one array coded with ``cfg``; returns the measures."""
    import dask
    import dask.array as da
    import zarr
    from wavecodec.storage import zarr3

    size, chunk = args.size, args.chunk
    mp = size * size / 1e6
    res: dict[str, Any] = {"coding": label, "config": cfg, "store": url}
    remove_store(url)
    # fsspec's local file system (file://) makes no directories unless asked; object stores have none
    options = {"auto_mkdir": True} if url.startswith("file://") else None
    z = zarr.create_array(url, shape=(size, size), chunks=(chunk, chunk), dtype="uint8", storage_options=options,
                          serializer=zarr3.CODECS[args.codec](**cfg), compressors=None, fill_value=0)

    # the mosaic, one task per chunk (the sources are a scattered future, on every worker)
    bounds = [(k * chunk, min(size, (k + 1) * chunk)) for k in range((size + chunk - 1) // chunk)]
    blocks = [[da.from_delayed(dask.delayed(make_block, pure=True)(sources_f, i, j, chunk, ye - ys, xe - xs),
                               shape=(ye - ys, xe - xs), dtype=np.uint8)
               for j, (xs, xe) in enumerate(bounds)] for i, (ys, ye) in enumerate(bounds)]
    mosaic = da.block(blocks)

    # write: to_zarr regroups the blocks to "array.chunk-size" (128 MiB by default): keep one chunk a task
    log(f"{label}: writing {len(bounds) ** 2} chunks")
    with Peaks(client) as mem, dask.config.set({"array.chunk-size": chunk * chunk}):
        t = time.perf_counter()
        mosaic.to_zarr(z)
        res["write_s"] = time.perf_counter() - t
    res["write_mem"] = mem.summary()
    res["write_mps"] = mp / res["write_s"]
    res["chunk_bytes"], res["store_bytes"] = store_bytes(url)
    res["bpp"] = res["chunk_bytes"] * 8 / (size * size)

    # read the whole array: decode + compare, per chunk, on the workers
    log(f"{label}: reading back")
    stored = da.from_zarr(url)
    assert stored.chunksize == (min(chunk, size),) * 2, stored.chunksize
    checks = [dask.delayed(check_block)(blk, sources_f, i, j, chunk)
              for (i, j), blk in np.ndenumerate(stored.to_delayed())]
    with Peaks(client) as mem:
        t = time.perf_counter()
        stats = np.array(dask.compute(*checks))
        res["read_s"] = time.perf_counter() - t
    res["read_mem"] = mem.summary()
    res["read_mps"] = mp / res["read_s"]
    sse, maxerr, n = float(stats[:, 0].sum()), float(stats[:, 1].max()), float(stats[:, 2].sum())
    res.update(sse=sse, max_abs_error=maxerr, pixels=n, psnr=psnr(sse, n), exact=sse == 0)

    # a window across chunk borders, into the client
    y0, x0, side = window_origin(size, chunk, args.window)
    log(f"{label}: window {side}x{side} at ({y0}, {x0})")
    with Peaks(client) as mem:
        t = time.perf_counter()
        win = stored[y0:y0 + side, x0:x0 + side].compute()
        res["window_s"] = time.perf_counter() - t
    res["window_mem"] = mem.summary()
    ref = make_window(sources, y0, x0, side, side, chunk)
    d = win.astype(np.int32) - ref
    res["window"] = {"y0": y0, "x0": x0, "side": side,
                     "chunks": ((y0 + side - 1) // chunk - y0 // chunk + 1)
                     * ((x0 + side - 1) // chunk - x0 // chunk + 1),
                     "psnr": psnr(float(np.dot(d.ravel(), d.ravel())), d.size), "max_abs_error": int(np.abs(d).max())}
    res["window_mps"] = side * side / 1e6 / res["window_s"]
    return res


_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f} s] {msg}", file=sys.stderr, flush=True)


def fmt_mem(b: float) -> str:
    return f"{b / 2**20:,.0f} MiB"


def table(results: dict[str, Any]) -> str:
    rows = results["codings"]
    size = results["size"]
    head = ["", *[r["coding"] for r in rows]]
    lines = [
        ("write (make + code + store)", [f"{r['write_s']:.1f} s, {r['write_mps']:.2f} MP/s" for r in rows]),
        ("read whole array (decode + compare)", [f"{r['read_s']:.1f} s, {r['read_mps']:.2f} MP/s" for r in rows]),
        *[(f"read window {r['window']['side']}x{r['window']['side']} ({r['window']['chunks']} chunks)",
           [f"{r['window_s']:.2f} s, {r['window_mps']:.2f} MP/s" for r in rows]) for r in rows[:1]],
        ("worker CPU time: write, read", [f"{r['write_mem']['total_cpu_s']:.0f} s, {r['read_mem']['total_cpu_s']:.0f} s"
                                           for r in rows]),
        ("stored (chunk files)", [f"{r['chunk_bytes'] / 2**20:,.1f} MiB, {r['bpp']:.3f} bpp" for r in rows]),
        ("quality", [("exact" if r["exact"] else f"PSNR {r['psnr']:.2f} dB, max error {r['max_abs_error']:.0f}")
                     for r in rows]),
        ("peak worker memory: write", [fmt_mem(r["write_mem"]["max_peak"]) for r in rows]),
        ("peak worker memory: read", [fmt_mem(r["read_mem"]["max_peak"]) for r in rows]),
        ("peak worker memory: window", [fmt_mem(r["window_mem"]["max_peak"]) for r in rows]),
    ]
    out = [f"{size}x{size} gray uint8 ({size * size / 1e6:,.0f} MP), {results['chunk']}x{results['chunk']} chunks, "
           f"codec {results['codec']}, {results['cluster']}",
           "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join([name, *cells]) + " |" for name, cells in lines]
    out += ["", "warm-up (kernels compiled or loaded) per worker: "
            + ", ".join(f"{v:.1f} s" for v in results["warm_up_s"].values())]
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=32768, help="image side in pixels (default 32768: 1 gigapixel)")
    p.add_argument("--chunk", type=int, default=2048, help="Zarr chunk side (default 2048)")
    p.add_argument("--codec", default="spiht", help="wavecodec codec of the chunks (default spiht)")
    p.add_argument("--bpp", type=float, default=1.0, help="rate of the lossy coding, bits per pixel of a chunk")
    p.add_argument("--codings", default="lossless,lossy", help="which codings to run (default lossless,lossy)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    p.add_argument("--memory-limit", default="3GB", help="LocalCluster memory limit per worker (default 3GB)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786): no LocalCluster")
    p.add_argument("--store", help="directory or fsspec URL for the arrays (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the arrays")
    p.add_argument("--kodak", default=str(DEFAULT_KODAK), help="Kodak directory for the mosaic tiles")
    p.add_argument("--window", type=int, default=5000, help="side of the window read (default 5000)")
    p.add_argument("--out", help="write the results as JSON here")
    args = p.parse_args(argv)
    if args.size < 1 or args.chunk < 1:
        p.error("--size and --chunk must be positive")
    if args.scheduler and not args.store:
        p.error("--scheduler needs --store: a directory or URL that every worker can reach")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import dask
    import distributed
    import numcodecs
    import zarr

    import wavecodec
    from wavecodec.storage import zarr3

    args = parse_args(argv)
    args.codec = zarr_codec_name(args.codec)
    if args.codec not in zarr3.CODECS:
        raise SystemExit(f"--codec must be one of {sorted(c.removeprefix('wavecodec_') for c in zarr3.CODECS)}")
    codings = {"lossless": {"lossless": True}, "lossy": {"bpp": args.bpp}}
    names = {"lossless": "lossless", "lossy": f"{args.bpp:g} bpp"}
    wanted = [c.strip() for c in args.codings.split(",") if c.strip()]
    if not wanted or set(wanted) - set(codings):
        raise SystemExit("--codings takes lossless and/or lossy")

    sources, source_desc = load_sources(args.kodak)

    tmp = None
    base = args.store
    if base is None:
        tmp = tempfile.mkdtemp(prefix="wavecodec-gigapixel-")
        base = tmp
    cluster = None
    try:
        if args.scheduler:
            client = distributed.Client(args.scheduler)
            cluster_desc = f"cluster at {args.scheduler}"
        else:
            cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                               memory_limit=args.memory_limit, processes=True,
                                               dashboard_address=None)
            client = distributed.Client(cluster)
            cluster_desc = (f"LocalCluster: {args.workers} worker processes x 1 thread, "
                            f"memory limit {args.memory_limit} each")
        with client:
            if __name__ != "__main__":
                # imported (tests, another script): the tasks name this module's functions, which the
                # workers import, so send them the file (run as a script, the functions go by value)
                client.upload_file(__file__)
            workers = client.scheduler_info()["workers"]
            log(f"{len(workers)} workers; warming up")
            cfgs = [codings[c] for c in wanted]
            warm = client.run(_warm_up, args.codec, cfgs)
            log(f"{len(client.scheduler_info()['workers'])} workers; sending the {source_desc}")
            [sources_f] = client.scatter([sources], broadcast=True, hash=False)  # one future: the list
            results: dict[str, Any] = {
                "date": datetime.datetime.now().isoformat(timespec="seconds"),
                "argv": sys.argv if argv is None else ["bench_gigapixel.py", *argv],
                "size": args.size, "chunk": args.chunk, "codec": args.codec, "cluster": cluster_desc,
                "workers": {a: {"nthreads": w.get("nthreads"), "memory_limit": w.get("memory_limit")}
                            for a, w in workers.items()},
                "sources": source_desc, "warm_up_s": warm,
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version()},
                "versions": {"wavecodec": getattr(wavecodec, "__version__", "?"), "dask": dask.__version__,
                             "distributed": distributed.__version__, "zarr": zarr.__version__,
                             "numcodecs": numcodecs.__version__, "numpy": np.__version__},
                "codings": [],
            }
            for c in wanted:
                tag = "lossless" if c == "lossless" else f"bpp{args.bpp:g}"
                url = store_url(base, f"{tag}.zarr")
                results["codings"].append(run_coding(client, sources, sources_f, args, names[c], codings[c], url))
    finally:
        if cluster is not None:
            cluster.close()
        if not args.keep:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            elif args.store is not None:
                for c in wanted:
                    tag = "lossless" if c == "lossless" else f"bpp{args.bpp:g}"
                    remove_store(store_url(args.store, f"{tag}.zarr"))
    print(table(results))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, default=str))
    return results


if __name__ == "__main__":
    main()
