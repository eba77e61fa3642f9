#!/usr/bin/env python
"""Study: which training runs make the best initial context models for ``ecbp``'s lossy streams?

Usage::

    python benchmarks/study_ecbp_priors.py /work/shared/data/kodak [--images 2,4,6,...] [--rates 0.02,0.05,...]

``ecbp``'s context models start from a table of trained priors (:mod:`wavecodec.coders._ecbp_priors`).
Until 2026-11-27 there was one table, trained on scikit-image's sample images coded at 0.05, 0.25 and
1 bpp *and losslessly*. This study trains candidate tables on the same images and the same way
(:mod:`train_ecbp_priors`), then codes the Kodak images' lossy coefficients (the bit-plane front end,
quantiser step 0) with each table at each budget. It measures the squared error of the decoded
coefficients and prints the coefficient-domain PSNR gain of each table over ``spiht`` at the same
budget. It also prints the size of full-depth lossless streams (the integer 5/3 and the RCT).

Tables:

* ``first``: the production table of variant byte 1 (``PRIORS``);
* ``lossy5``: lossy runs at 0.02, 0.05, 0.1, 0.25 and 1 bpp, no lossless run (``LOSSY_PRIORS``,
  variant byte 2 since 2026-11-27);
* ``low3``: lossy runs at 0.02, 0.05 and 0.1 bpp only;
* ``lossless``: lossless runs only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_ecbp_priors import collect  # noqa: E402
from train_spiht_priors import training_images  # noqa: E402
from wavecodec import transform as T  # noqa: E402
from wavecodec._kernels import arith as _ac  # noqa: E402
from wavecodec.coders import _bitplane as B  # noqa: E402
from wavecodec.coders import _ecbp_priors as P  # noqa: E402
from wavecodec.coders import ecbp as E  # noqa: E402
from wavecodec.coders import spiht  # noqa: E402


def table(acc: np.ndarray) -> np.ndarray:
    """A priors table from decision counts, as ``train_spiht_priors.priors_lines`` makes it."""
    p0 = (acc[:, 0] + 1.0) / (acc.sum(axis=1) + 2.0)
    return np.clip(np.rint(p0 * _ac.PROB_ONE), _ac.PROB_MIN, _ac.PROB_ONE - _ac.PROB_MIN).astype(np.int32)


def candidate_tables() -> dict[str, np.ndarray]:
    images = training_images()
    return {
        "first": np.asarray(P.PRIORS),
        "lossy5": table(collect(images, [0.02, 0.05, 0.1, 0.25, 1.0], lossless=False)),
        "low3": table(collect(images, [0.02, 0.05, 0.1], lossless=False)),
        "lossless": table(collect(images, [])),  # training_runs with no rate: the lossless runs alone
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kodak", type=Path)
    ap.add_argument("--images", default="2,4,6,8,9,10,11,12,14,15,16,17,18,20,22,24")
    ap.add_argument("--rates", default="0.02,0.05,0.1,0.25,0.5,1")
    args = ap.parse_args()
    tables = candidate_tables()
    for mode in ("gray", "rgb"):
        data = []
        for n in [int(i) for i in args.images.split(",")]:
            img = np.asarray(Image.open(args.kodak / f"kodim{n:02d}.png").convert("RGB" if mode == "rgb" else "L"))
            pixels = img if img.ndim == 3 else img[:, :, None]
            h, w = pixels.shape[:2]
            levels = T.default_levels(h, w)
            q, quant = next(B.forward_coefficients(pixels, lossless=False, wavelet="cdf97", levels=levels,
                                                   bit_depth=8))
            [(ql, pl)] = B.forward_coefficients(pixels, lossless=True, wavelet="legall53", levels=levels, bit_depth=8)
            data.append((q.copy(), quant, levels, h * w, ql.copy(), pl))
        for bpp in [float(r) for r in args.rates.split(",")]:
            err = {"spiht": 0.0, **{name: 0.0 for name in tables}}
            for q, quant, levels, area, _, _ in data:
                budget = int(bpp * area / 8)
                x = q / (1 << quant.frac_bits)
                r = spiht.encode_coefficients(q, variant="ac", levels=levels, n_max=quant.n_max, budget=budget)
                d = spiht.decode_coefficients(r.payload, variant="ac", shape=q.shape, levels=levels, n_max=quant.n_max,
                                              frac_bits=quant.frac_bits, integer=False, recon=r.recon)
                err["spiht"] += float(((d - x) ** 2).sum())
                for name in tables:
                    r = E.encode_coefficients(q, levels=levels, n_max=quant.n_max, budget=budget,
                                              priors=tables[name])
                    d = E.decode_coefficients(r.payload, shape=q.shape, levels=levels, n_max=quant.n_max,
                                              frac_bits=quant.frac_bits, integer=False, recon=r.recon,
                                              priors=tables[name])
                    err[name] += float(((d - x) ** 2).sum())
            gains = " ".join(f"{name} {10 * np.log10(err['spiht'] / err[name]):+.3f}" for name in tables)
            print(f"{mode} {bpp:g} bpp, dB over spiht (coefficients): {gains}", flush=True)
        sizes = {name: 0 for name in tables}
        for _, _, levels, _, ql, pl in data:
            for name in tables:
                r = E.encode_coefficients(ql, levels=levels, n_max=pl.n_max, budget=None, priors=tables[name],
                                          estimate_error=False)
                sizes[name] += len(r.payload)
        print(f"{mode} lossless bytes: " + " ".join(f"{name} {v}" for name, v in sizes.items()), flush=True)


if __name__ == "__main__":
    main()
