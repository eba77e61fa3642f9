"""Train the initial context probabilities of the ``ecbp`` coder (as ``train_spiht_priors.py`` does for SPIHT).

Training images: scikit-image's bundled sample images only (the list of
``train_spiht_priors.py``; never the Kodak benchmark set), gray and colour, coded
at 0.05, 0.25 and 1 bpp and losslessly.  Each (image, rate) run contributes at most
``CAP`` decisions per context.  The result is written to
``wavecodec/coders/_ecbp_priors.py``; the table is part of the stream format.

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

from train_spiht_priors import capped, priors_module, training_images, training_runs  # noqa: E402
from wavecodec._kernels import ecbp as _k  # noqa: E402
from wavecodec.coders import ecbp as E  # noqa: E402

RATES = [0.05, 0.25, 1.0]


def collect(images: list[np.ndarray]) -> np.ndarray:
    acc = np.zeros((_k.N_CONTEXTS, 2), dtype=np.float64)
    for q, levels, n_max, budget in training_runs(images, RATES):
        stats = np.zeros((_k.N_CONTEXTS, 2), dtype=np.int64)
        E.encode_coefficients(q, levels=levels, n_max=n_max, budget=budget, stats=stats, priors=False,
                              estimate_error=False)
        acc += capped(stats)
    return acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--confidence", type=int, default=16)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "wavecodec/coders/_ecbp_priors.py"))
    args = ap.parse_args()
    acc = collect(training_images())
    Path(args.out).write_text(priors_module("Initial probabilities of the ecbp contexts", "train_ecbp_priors.py", acc,
                                            args.confidence))
    print(f"wrote {args.out}: {len(acc)} contexts ({int((acc.sum(axis=1) > 0).sum())} seen), confidence {args.confidence}")

if __name__ == "__main__":
    main()
