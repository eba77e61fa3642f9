"""Benchmark harness: every codec on one rate-distortion scale (``wavecodec bench`` / ``python -m wavecodec.bench``).

See ``docs/bench.md``.  The pieces are importable: :func:`run_bench` with a
:class:`BenchConfig`, :func:`bd_rate` / :func:`bd_psnr`, :func:`parse_codecs`.
"""

from .bjontegaard import BDOverlapWarning, bd_overlap, bd_psnr, bd_rate
from .published import load_references
from .harness import BenchConfig, CodecSpec, aggregate, make_tasks, parse_codecs, run_bench, run_task

__all__ = ["bd_rate", "bd_psnr", "bd_overlap", "BDOverlapWarning", "load_references", "BenchConfig", "CodecSpec", "parse_codecs", "run_bench", "run_task", "make_tasks",
           "aggregate", "main", "build_parser"]


def build_parser(parser=None):
    from .cli import build_parser as _build

    return _build(parser)


def main(argv=None) -> int:
    from .cli import main as _main

    return _main(argv)
