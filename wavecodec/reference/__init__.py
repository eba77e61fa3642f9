"""Plain-Python reference coders, for teaching and for testing the Numba kernels.

* :mod:`wavecodec.reference.spiht`: SPIHT (Said & Pearlman 1996, Sec. III), the
  LIP / LIS / LSP lists in the paper's order; bit-exact with ``variant="binary"``.
* :mod:`wavecodec.reference.ezw`: EZW (Shapiro 1993), dominant and subordinate
  passes, and IMP1EZW (Brahimi et al. 2017) as the same coder with the PT / NT
  symbol map; bit-exact with ``variant="plain"`` of ``ezw`` and ``imp1ezw``.

Each is short enough to read in one sitting, runs encoder and decoder through
the same code, and works on integer coefficients in the tree layout of
:mod:`wavecodec.transform`.  :func:`wavecodec.trace` shows them at work, pass by
pass.

>>> from wavecodec.reference import SHAPIRO_8X8, pack_bits, spiht
>>> bits = spiht.encode(SHAPIRO_8X8, levels=2)
>>> len(bits), pack_bits(bits)[:4].hex()
(356, 'b3081507')
"""

from __future__ import annotations

import numpy as np

from . import ezw, spiht
from ._common import Decision, pack_bits, unpack_bits

__all__ = ["spiht", "ezw", "Decision", "pack_bits", "unpack_bits", "SHAPIRO_8X8"]

#: The 8x8 wavelet-coefficient example of Shapiro (IEEE TSP 1993), used by Said & Pearlman too.
SHAPIRO_8X8 = np.array(
    [
        [63, -34, 49, 10, 7, 13, -12, 7],
        [-31, 23, 14, -13, 3, 4, 6, -1],
        [15, 14, 3, -12, 5, -7, 3, 9],
        [-9, -7, -14, 8, 4, -2, 3, 2],
        [-5, 9, -1, 47, 4, 6, -2, 2],
        [3, 0, -3, 2, 3, -2, 0, 4],
        [2, -3, 6, -4, 3, 6, 3, 6],
        [5, 11, 5, 6, 0, 3, -4, 4],
    ],
    dtype=np.int64,
)
SHAPIRO_8X8.flags.writeable = False
