"""Command-line interface: ``wavecodec encode|decode|info|codecs|demo|bench``.

Images are read and written through Pillow (PNG, PGM/PPM, TIFF, ...).  16-bit
grayscale PNG/TIFF/PGM files stay 16-bit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from . import __version__, codecs, decode, encode, get_codec, info
from ._container import MAX_SAMPLES
from .errors import ImageTooLargeError, WavecodecError


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as uint8/uint16 (H, W) or (H, W, 3)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
                return np.asarray(im, dtype=np.uint16)
            if im.mode == "I":
                a = np.asarray(im)
                if a.min() < 0 or a.max() > 65535:
                    raise WavecodecError(f"{path}: 32-bit samples outside 0..65535 are not supported")
                return a.astype(np.uint16)
            if im.mode in ("1", "L", "P", "LA", "PA") and im.mode != "P":
                return np.asarray(im.convert("L"))
            if im.mode == "P":
                im = im.convert("RGB")
            if im.mode != "RGB":
                im = im.convert("RGB")
            return np.asarray(im)
    except (OSError, ValueError) as exc:
        raise WavecodecError(f"cannot read image {path}: {exc}") from exc


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write a decoded image; the format follows the file extension."""
    from PIL import Image

    a = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
    if a.dtype == np.uint16:
        if a.ndim == 3:
            raise WavecodecError("16-bit colour images cannot be written through Pillow; use .npy")
        # native little-endian uint16 maps to mode "I;16" (passing mode= is refused by Pillow >= 11)
        a = np.ascontiguousarray(a, dtype="<u2")
    try:
        im = Image.fromarray(np.ascontiguousarray(a))
        im.save(path)
    except (OSError, ValueError, KeyError) as exc:
        raise WavecodecError(f"cannot write image {path}: {exc}") from exc


def _parse_option(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"codec option {text!r} must look like NAME=VALUE")
    key, value = text.split("=", 1)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    return key.strip(), parsed


def _load_array(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise WavecodecError(f"cannot read {path}: {exc}") from exc
    return read_image(path)


def cmd_encode(args: argparse.Namespace) -> int:
    image = _load_array(args.input)
    options = dict(args.option or [])
    t = time.perf_counter()
    data = encode(image, args.codec, bpp=args.bpp, max_bytes=args.max_bytes, lossless=args.lossless, **options)
    elapsed = time.perf_counter() - t
    Path(args.output).write_bytes(data)
    h, w = image.shape[:2]
    print(f"{args.input} -> {args.output}: {len(data)} bytes, {8 * len(data) / (h * w):.4f} bpp, {elapsed * 1000:.1f} ms")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    if args.codebook:
        from .coders import vq_dct  # shared codebooks travel outside the stream

        for path in args.codebook:
            vq_dct.load_codebook(path)
    data = Path(args.input).read_bytes()
    if args.bytes is not None:
        data = data[: args.bytes]
    try:
        image = decode(data, max_samples=args.max_samples, reduce=args.reduce)
    except ImageTooLargeError as exc:
        raise exc.with_hint(f"rerun with --max-samples {exc.samples}") from None
    if args.output.endswith(".npy"):
        np.save(args.output, image)
    else:
        write_image(args.output, image)
    print(f"{args.input} -> {args.output}: {image.shape} {image.dtype}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    try:
        print(info(Path(args.input).read_bytes(), max_samples=args.max_samples))
    except ImageTooLargeError as exc:
        raise exc.with_hint(f"rerun with --max-samples {exc.samples}") from None
    return 0


def _reduce(text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        k = -1
    if k < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer (k: 1/2**k of each side), got {text!r}")
    return k


def _max_samples(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer number of samples, got {text!r}")
    return n


_MAX_SAMPLES_HELP = (
    f"refuse streams that declare more than N samples (height*width*channels; default {MAX_SAMPLES} ="
    " 3*2**24, a 4096x4096 RGB image), a guard against decompression bombs; raise it to decode a larger"
    " trusted image (decoding takes up to about 41 bytes of memory per sample)"
)


def cmd_codecs(args: argparse.Namespace) -> int:
    for name, codec in codecs().items():
        caps = codec.capabilities
        flags = ", ".join(f for f, on in (("embedded", caps.embedded), ("lossless", caps.lossless), ("colour", caps.colour),
                                          ("reduce", codec.native_reduce)) if on)
        print(f"{name:12} {codec.description} [{flags}]")
        for opt in codec.options:
            print(f"    {opt.name}={opt.default!r}: {opt.doc}")
    from .plugins import unavailable

    for name, reason in unavailable().items():
        print(f"{name:12} (unavailable) {reason}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(codec=args.codec, rates=args.rates)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    return args.bench_func(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wavecodec", description="Wavelet image codecs (SPIHT, ...) with one embedded-bitstream container.")
    p.add_argument("--version", action="version", version=f"wavecodec {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("encode", help="compress an image file")
    e.add_argument("input", help="image file (PNG, PGM/PPM, TIFF, ...) or .npy array")
    e.add_argument("output", help="output stream file")
    e.add_argument("--codec", default="spiht", help="codec name (see `wavecodec codecs`)")
    rate = e.add_mutually_exclusive_group()
    rate.add_argument("--bpp", type=float, help="rate in bits per pixel")
    rate.add_argument("--max-bytes", type=int, help="rate as a byte budget")
    e.add_argument("--lossless", action="store_true", help="reversible coding (bit-exact)")
    e.add_argument("-o", "--option", action="append", type=_parse_option, metavar="NAME=VALUE",
                   help="codec option, e.g. -o variant=plain -o levels=5 (repeatable)")
    e.set_defaults(func=cmd_encode)

    d = sub.add_parser("decode", help="decompress a stream to an image file")
    d.add_argument("input")
    d.add_argument("output", help="image file (format from the extension) or .npy")
    d.add_argument("--bytes", type=int, help="decode only the first N bytes (embedded codecs)")
    d.add_argument("--codebook", action="append", metavar="PATH",
                   help="shared vq-dct codebook file the stream was encoded with (repeatable)")
    d.add_argument("--max-samples", type=_max_samples, default=MAX_SAMPLES, metavar="N", help=_MAX_SAMPLES_HELP)
    d.add_argument("--reduce", type=_reduce, default=0, metavar="K",
                   help="decode at 1/2**K of each side, ceil(H/2**K) x ceil(W/2**K) (native for the wavelet codecs:"
                        " only the coarse inverse levels run; other codecs average 2**K x 2**K blocks)")
    d.set_defaults(func=cmd_decode)

    i = sub.add_parser("info", help="describe a stream")
    i.add_argument("input")
    i.add_argument("--max-samples", type=_max_samples, default=MAX_SAMPLES, metavar="N",
                   help=f"the same limit as decode's --max-samples (default {MAX_SAMPLES})")
    i.set_defaults(func=cmd_info)

    c = sub.add_parser("codecs", help="list codecs, their capabilities and options")
    c.set_defaults(func=cmd_codecs)

    m = sub.add_parser("demo", help="encode scikit-image's camera and astronaut at several rates and print a table")
    m.add_argument("--codec", default="spiht")
    m.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.1, 0.25, 0.5, 1.0])
    m.set_defaults(func=cmd_demo)

    from .bench.cli import build_parser as build_bench_parser

    b = sub.add_parser("bench", help="rate-distortion benchmark of codecs on a folder of images (docs/bench.md)",
                       description="Rate-distortion benchmark: JSON (CompressAI format), BD-rate table, plots.")
    build_bench_parser(b)
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except WavecodecError as exc:
        print(f"wavecodec: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"wavecodec: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
