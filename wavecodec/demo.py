"""The quick-start job: code scikit-image's sample images at several rates and print a table."""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from . import decode, encode
from .metrics import ms_ssim, psnr


def sample_images() -> dict[str, np.ndarray]:
    """scikit-image's ``camera`` (512x512 gray) and ``astronaut`` (512x512 RGB)."""
    from skimage import data

    return {"camera": data.camera(), "astronaut": data.astronaut()}


BITPLANE_CODECS = ("spiht", "ezw", "imp1ezw")  # codecs with the "ac" and "plain" variants


def run_demo(codec: str = "spiht", rates: Sequence[float] = (0.05, 0.1, 0.25, 0.5, 1.0),
             variants: Sequence[str] = ("ac", "plain")) -> list[dict]:
    """Encode each sample image at each rate, decode, and print bpp, PSNR, MS-SSIM and times.

    The bit-plane codecs run once per entropy-coding variant in ``variants``; the
    others once.
    """
    if codec not in BITPLANE_CODECS:
        variants = (None,)
    rows = []
    print(f"{'image':10} {'codec':14} {'target':>7} {'bpp':>7} {'PSNR dB':>8} {'MS-SSIM':>8} {'enc ms':>7} {'dec ms':>7}")
    for name, img in sample_images().items():
        for variant in variants:
            opts = {"variant": variant} if variant is not None else {}
            label = f"{codec}-{variant}" if opts else codec
            for bpp in rates:
                t0 = time.perf_counter()
                data = encode(img, codec, bpp=bpp, **opts)
                t1 = time.perf_counter()
                out = decode(data)
                t2 = time.perf_counter()
                row = {
                    "image": name, "codec": label, "target_bpp": bpp, "bpp": 8 * len(data) / (img.shape[0] * img.shape[1]),
                    "psnr": psnr(img, out), "ms_ssim": ms_ssim(img, out), "encode_s": t1 - t0, "decode_s": t2 - t1,
                }
                rows.append(row)
                print(f"{name:10} {label:14} {bpp:7.3f} {row['bpp']:7.4f} {row['psnr']:8.2f} {row['ms_ssim']:8.4f}"
                      f" {1000 * row['encode_s']:7.1f} {1000 * row['decode_s']:7.1f}")
    print("(times include Numba compilation on the very first call of a fresh install)")
    return rows
