"""Train the initial context probabilities of the ``ecbp`` coder (as ``train_spiht_priors.py`` does for SPIHT).

Training images: scikit-image's bundled sample images only (the list of
``train_spiht_priors.py``; never the Kodak benchmark set), gray and colour.  Each
(image, rate) run contributes at most ``CAP`` decisions per context.  Two tables,
both part of the stream format (the variant byte of a stream names its table):

* ``PRIORS`` (variant byte 1, the first table; lossless streams): the images coded at
  0.05, 0.25 and 1 bpp and losslessly;
* ``LOSSY_PRIORS`` (variant byte 2, lossy streams from 2026-11-27): the images coded at
  0.02, 0.05, 0.1, 0.25 and 1 bpp, no lossless runs.  The lossless runs code every
  plane to the bottom, in the RCT and the integer 5/3, and their counts had pulled the
  first table away from what lossy streams meet: with this table `ecbp` gains
  +0.002 to +0.017 dB in gray and +0.010 to +0.053 dB in colour at 0.02-1 bpp on the
  24 Kodak images (docs/ecbp.md, "Context models").

The result is written to ``wavecodec/coders/_ecbp_priors.py``.

Usage::

    python benchmarks/train_ecbp_priors.py [--confidence 16] [--out wavecodec/coders/_ecbp_priors.py]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

from train_spiht_priors import capped, priors_lines, priors_module, training_images, training_runs  # noqa: E402
from wavecodec._kernels import ecbp as _k  # noqa: E402
from wavecodec.coders import ecbp as E  # noqa: E402

RATES = [0.05, 0.25, 1.0]  # and lossless: the first table
LOSSY_RATES = [0.02, 0.05, 0.1, 0.25, 1.0]  # no lossless run: the second table


def collect(images: list[np.ndarray], rates: list[float], *, lossless: bool = True) -> np.ndarray:
    """Decision counts per context (each run capped) of every training run at ``rates`` (and lossless)."""
    acc = np.zeros((_k.N_CONTEXTS, 2), dtype=np.float64)
    for q, levels, n_max, budget in training_runs(images, rates):
        if budget is None and not lossless:
            continue
        stats = np.zeros((_k.N_CONTEXTS, 2), dtype=np.int64)
        E.encode_coefficients(q, levels=levels, n_max=n_max, budget=budget, stats=stats, models=0,
                              estimate_error=False)
        acc += capped(stats)
    return acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--confidence", type=int, default=16)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "wavecodec/coders/_ecbp_priors.py"))
    args = ap.parse_args()
    images = training_images()
    acc = collect(images, RATES)
    lossy = collect(images, LOSSY_RATES, lossless=False)
    text = priors_module("Initial probabilities of the ecbp contexts", "train_ecbp_priors.py", acc, args.confidence)
    text = text.replace("``PRIORS[ctx]`` is P(bit = 0)", "``PRIORS[ctx]`` (the first table, variant byte 1) and\n"
                        "``LOSSY_PRIORS[ctx]`` (the second, variant byte 2; lossy streams) are P(bit = 0)")
    text += "\n\n" + "\n".join(priors_lines(lossy, "LOSSY_PRIORS")) + "\n"
    Path(args.out).write_text(text)
    for name, a in (("PRIORS", acc), ("LOSSY_PRIORS", lossy)):
        print(f"{name}: {len(a)} contexts ({int((a.sum(axis=1) > 0).sum())} seen)")
    print(f"wrote {args.out}, confidence {args.confidence}")

if __name__ == "__main__":
    main()
