"""Command-line interface: ``wavecodec encode|decode|info|extract|compare|codecs|demo|bench``.

Image files go in and out without loss (:mod:`wavecodec._image_files`): 8- and 16-bit
gray and colour PNG and TIFF, PGM/PPM and the other Pillow formats, ``.npy``.  An
alpha channel is refused unless ``--drop-alpha``.  stdout carries the results; notices
(kernel compilation, the progress line, a rate beyond what the image needs) go to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from . import __version__, codecs, decode, encode, get_codec, info, progress_span
from . import progress as wavecodec_progress
from ._container import MAX_SAMPLES
from ._image_files import is_stream, read_image, write_image
from .errors import ImageTooLargeError, InvalidArgumentError, TruncatedStreamError, WavecodecError

__all__ = ["main", "build_parser", "read_image", "write_image"]


def _parse_option(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"codec option {text!r} must look like NAME=VALUE")
    key, value = text.split("=", 1)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    return key.strip(), parsed


def cmd_encode(args: argparse.Namespace) -> int:
    image = read_image(args.input, drop_alpha=args.drop_alpha)
    options = dict(args.option or [])
    t = time.perf_counter()
    with _feedback(args, f"encoding {args.input} with {args.codec}", args.codec):
        data = encode(image, args.codec, bpp=args.bpp, max_bytes=args.max_bytes, lossless=args.lossless, **options)
    elapsed = time.perf_counter() - t
    Path(args.output).write_bytes(data)
    h, w = image.shape[:2]
    print(f"{args.input} -> {args.output}: {len(data)} bytes, {8 * len(data) / (h * w):.4f} bpp, {elapsed * 1000:.1f} ms")
    _note_rate_beyond_need(args, image, data)
    return 0


def _note_rate_beyond_need(args: argparse.Namespace, image: np.ndarray, data: bytes) -> None:
    """Say so on stderr when the rate asked for is more than the image needs (the stream stopped short of it).

    An embedded codec fills its budget unless it has coded everything (its full-quality
    or lossless stream); any codec's budget at or above the uncompressed size is more
    than a lossless stream needs.
    """
    h, w = image.shape[:2]
    if args.bpp is not None:
        budget, asked = math.floor(args.bpp * h * w / 8), f"--bpp {args.bpp:g}"
    elif args.max_bytes is not None:
        budget, asked = args.max_bytes, f"--max-bytes {args.max_bytes}"
    else:
        return
    if len(data) >= budget:
        return
    stream = info(data)
    codec = get_codec(args.codec)
    uncompressed = h * w * (image.size // (h * w)) * stream.bit_depth / 8
    if not (codec.capabilities.embedded or budget >= uncompressed):
        return
    what = "lossless (bit-exact)" if stream.lossless else "full-quality"
    hint = ""
    if not stream.lossless and codec.capabilities.lossless:
        hint = "; add --lossless for a bit-exact stream"
    elif not stream.lossless:
        hint = f" ({args.codec} has no lossless mode)"
    print(f"wavecodec: note: {asked} allows {budget} bytes, more than this image needs: the {what} {args.codec}"
          f" stream is {len(data)} bytes ({stream.bpp():.4f} bpp){hint}", file=sys.stderr)


def _bound_codec(data: bytes, args: argparse.Namespace):
    """The stream's codec bound to the ``-o NAME=VALUE`` decode options (e.g. a vq-dct shared
    codebook: ``-o codebook=PATH``), or None without options."""
    if not args.option:
        return None
    return get_codec(info(data, max_samples=args.max_samples).codec, **dict(args.option))


def cmd_decode(args: argparse.Namespace) -> int:
    data = Path(args.input).read_bytes()
    if args.bytes is not None:
        data = data[: args.bytes]
    try:
        codec = info(data, max_samples=args.max_samples).codec
        with _feedback(args, f"decoding {args.input} ({codec})", codec):
            image = decode(data, max_samples=args.max_samples, reduce=args.reduce,
                           codec=_bound_codec(data, args))
    except ImageTooLargeError as exc:
        raise exc.with_hint(f"rerun with --max-samples {exc.samples}") from None
    write_image(args.output, image)
    print(f"{args.input} -> {args.output}: {image.shape} {image.dtype}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    try:
        print(info(Path(args.input).read_bytes(), max_samples=args.max_samples))
    except ImageTooLargeError as exc:
        raise exc.with_hint(f"rerun with --max-samples {exc.samples}") from None
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    data = Path(args.input).read_bytes()
    try:
        stream = info(data, max_samples=args.max_samples)
    except ImageTooLargeError as exc:
        raise exc.with_hint(f"rerun with --max-samples {exc.samples}") from None
    codec = get_codec(stream.codec)
    extensions = tuple(getattr(codec, "file_extensions", ()))
    if not extensions:
        others = ", ".join(f"{n} ({c.file_extensions[0]})" for n, c in codecs().items() if getattr(c, "file_extensions", ()))
        raise InvalidArgumentError(
            f"{args.input} is a {stream.codec} stream, which has no file format but wavecodec's own; extract works on"
            f" streams of {others or 'the standard-codec adapters'}; use `wavecodec decode` to get the image"
        )
    if Path(args.output).suffix.lower() not in extensions:
        raise InvalidArgumentError(
            f"OUT: a {stream.codec} stream holds a {codec.file_format} file: name the output with"
            f" {' or '.join(extensions)}, not {Path(args.output).name!r}"
        )
    if stream.truncated:
        raise TruncatedStreamError(
            f"{args.input} is truncated ({stream.payload_present} of {stream.payload_size} payload bytes): its"
            f" {codec.file_format} file is incomplete"
        )
    payload = data[stream.header_size: stream.header_size + stream.payload_size]
    Path(args.output).write_bytes(payload)
    print(f"{args.input} -> {args.output}: {len(payload)} bytes, {codec.file_format}"
          f" ({stream.header_size} bytes of wavecodec header left out)")
    return 0


def _compare_input(path: str, max_samples: int, drop_alpha: bool) -> tuple[np.ndarray | None, bytes | None, object]:
    """``(image, None, None)`` for an image file or .npy; ``(None, data, info)`` for a stream (decoded later)."""
    if Path(path).suffix.lower() != ".npy" and is_stream(path):
        data = Path(path).read_bytes()
        try:
            return None, data, info(data, max_samples=max_samples)
        except ImageTooLargeError as exc:
            raise exc.with_hint(f"rerun with --max-samples {exc.samples}") from None
    return read_image(path, drop_alpha=drop_alpha), None, None


def cmd_compare(args: argparse.Namespace) -> int:
    from .metrics import ms_ssim, psnr

    inputs = [_compare_input(path, args.max_samples, args.drop_alpha) for path in (args.a, args.b)]
    streams = [stream for _, _, stream in inputs]
    images = []
    with _feedback(args, f"comparing {args.a} and {args.b}", "") as feedback:
        for k, (image, data, stream) in enumerate(inputs):
            if data is not None:
                feedback.notice.label = stream.codec  # the codec whose kernels a compile would be for
                with progress_span(k / len(inputs), (k + 1) / len(inputs)):  # one bar over both decodes
                    image = decode(data, max_samples=args.max_samples, codec=_bound_codec(data, args))
            images.append(image)
    a, b = (x[:, :, 0] if x.ndim == 3 and x.shape[2] == 1 else x for x in images)
    if a.shape != b.shape:
        raise InvalidArgumentError(f"B: {args.b} is {b.shape}, A: {args.a} is {a.shape}; compare needs the same shape")
    if a.dtype != b.dtype:
        raise InvalidArgumentError(f"B: {args.b} has {b.dtype} samples, A: {args.a} has {a.dtype}")
    depths = [stream.bit_depth for stream in streams if stream is not None]
    bits = max(depths) if depths else 8 * a.dtype.itemsize  # a 12-bit stream's PSNR has peak 4095
    peak = float((1 << bits) - 1)
    value = psnr(a, b, data_range=peak)
    similarity = ms_ssim(a, b, data_range=peak)
    peak_note = "" if bits == 8 else f" (peak {int(peak)}, {bits}-bit)"
    print(f"PSNR     {value:.2f} dB{peak_note}" if math.isfinite(value) else "PSNR     inf (identical)")
    print(f"MS-SSIM  {similarity:.4f}")
    for path, stream in zip((args.a, args.b), streams):
        if stream is not None:
            size = stream.header_size + stream.payload_present
            print(f"bpp      {stream.bpp():.4f} ({path}: {stream.codec}, {size} bytes)")
    return 0


def _int_at_least(low: int, what: str):
    """An argparse type: an int of at least ``low``, else an error saying ``what`` it must be."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = low - 1
        if n < low:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return n

    return parse


_positive_bytes = _int_at_least(1, "a positive integer number of bytes (a prefix length)")
_reduce = _int_at_least(0, "a non-negative integer (k: 1/2**k of each side)")
_max_samples = _int_at_least(1, "a positive integer number of samples")


_MAX_SAMPLES_HELP = (
    f"refuse streams that declare more than N samples (height*width*channels; default {MAX_SAMPLES} ="
    " 3*2**24, a 4096x4096 RGB image), a guard against decompression bombs; raise it to decode a larger"
    " trusted image (lossy SPIHT/EZW/IMP1EZW decoding keeps about the output plus 8 bytes per sample"
    " resident: docs/memory.md)"
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

    with _feedback(args, "demo", args.codec, progress=False):
        run_demo(codec=args.codec, rates=args.rates)
    return 0


class _feedback:
    """The compile notice and (on a TTY, or with --progress) the progress bar, around one run;
    the bar is a :func:`wavecodec.progress` callback for the encodes and decodes inside."""

    def __init__(self, args: argparse.Namespace, label: str, codec: str, *, progress: bool = True):
        from ._feedback import CompileNotice, Progress

        wanted = getattr(args, "progress", None)
        enabled = progress and (wanted if wanted is not None else sys.stderr.isatty())
        self.progress = Progress(label, enabled=bool(enabled))
        self.notice = CompileNotice(codec, progress=self.progress)
        self._reports = wavecodec_progress(self.progress.update) if enabled else None

    def __enter__(self) -> "_feedback":
        self.progress.__enter__()
        self.notice.__enter__()
        if self._reports is not None:
            self._reports.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._reports is not None:
            self._reports.__exit__(*exc)
        self.notice.__exit__(*exc)
        self.progress.__exit__(*exc)


def cmd_bench(args: argparse.Namespace) -> int:
    # the notice covers compilations in this process (worker processes compile on their own)
    with _feedback(args, "bench", "the benchmarked codecs", progress=False):
        return args.bench_func(args)


def _progress_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="a progress bar (fraction done and elapsed time) on stderr once a run lasts over 2 s"
                             " (default: only on a terminal)")


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
    e.add_argument("--drop-alpha", action="store_true",
                   help="code an image with an alpha channel without it (otherwise refused: codecs take 1 or 3 channels)")
    _progress_flag(e)
    e.set_defaults(func=cmd_encode)

    d = sub.add_parser("decode", help="decompress a stream to an image file")
    d.add_argument("input")
    d.add_argument("output", help="image file (format from the extension) or .npy")
    d.add_argument("--bytes", type=_positive_bytes, metavar="N",
                   help="decode only the first N bytes, N >= 1 (embedded codecs; a prefix must hold the header)")
    d.add_argument("-o", "--option", action="append", type=_parse_option, metavar="NAME=VALUE",
                   help="state the stream's codec needs from outside the stream, bound to it for decoding, e.g."
                        " -o codebook=PATH for a vq-dct stream coded with a shared codebook (repeatable)")
    d.add_argument("--max-samples", type=_max_samples, default=MAX_SAMPLES, metavar="N", help=_MAX_SAMPLES_HELP)
    d.add_argument("--reduce", type=_reduce, default=0, metavar="K",
                   help="decode at 1/2**K of each side, ceil(H/2**K) x ceil(W/2**K) (native for the wavelet codecs:"
                        " only the coarse inverse levels run; other codecs average 2**K x 2**K blocks)")
    _progress_flag(d)
    d.set_defaults(func=cmd_decode)

    i = sub.add_parser("info", help="describe a stream")
    i.add_argument("input")
    i.add_argument("--max-samples", type=_max_samples, default=MAX_SAMPLES, metavar="N",
                   help=f"the same limit as decode's --max-samples (default {MAX_SAMPLES})")
    i.set_defaults(func=cmd_info)

    x = sub.add_parser("extract", help="write a standard codec's own file (.jpg, .j2k, .webp, .avif, .jxl) from its stream",
                       description="Write the payload of a stream made by a standard-codec adapter (jpeg, jpeg2000,"
                                   " webp, avif, jpegxl) as that codec's own file, readable by any viewer.")
    x.add_argument("input", help="a wavecodec stream of an adapter codec")
    x.add_argument("output", help="the file to write; its extension must match the codec (e.g. .jpg for jpeg)")
    x.add_argument("--max-samples", type=_max_samples, default=MAX_SAMPLES, metavar="N",
                   help=f"the same limit as decode's --max-samples (default {MAX_SAMPLES})")
    x.set_defaults(func=cmd_extract)

    q = sub.add_parser("compare", help="PSNR and MS-SSIM between two images or streams (and bpp of the streams)",
                       description="Compare A and B, each an image file, a .npy array or a wavecodec stream (decoded):"
                                   " prints PSNR, MS-SSIM and, for each stream, its bits per pixel.")
    q.add_argument("a", metavar="A", help="reference: image file, .npy or stream")
    q.add_argument("b", metavar="B", help="test: image file, .npy or stream")
    q.add_argument("--drop-alpha", action="store_true", help="compare the gray/colour planes of images with alpha")
    q.add_argument("-o", "--option", action="append", type=_parse_option, metavar="NAME=VALUE",
                   help="as decode's -o: state a stream's codec needs from outside the stream (e.g. -o codebook=PATH)")
    q.add_argument("--max-samples", type=_max_samples, default=MAX_SAMPLES, metavar="N",
                   help=f"the same limit as decode's --max-samples (default {MAX_SAMPLES})")
    _progress_flag(q)
    q.set_defaults(func=cmd_compare)

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
