"""Colour rotations of wavelet coefficients by group of levels (the subband KLT), in Numba.

Both kernels work on the three planes of a tree layout ``x[k, i, j]`` (float64,
3 x hp x wp) and find the group of a coefficient from the level maps of
:func:`wavecodec.coders._bitplane.level_maps`: ``group = min(rowlev[i], collev[j],
N_GROUPS - 1)`` (1: the finest level, 2: the next, 3: every coarser level and the
LL band; 0 is unused).  The policy (how the rotations are chosen, stored and
checked) is in :mod:`wavecodec.coders._subband_klt`.

Every sum and product is written out in a fixed order (no reassociation, no
fused multiply-add), so that encoders and decoders on any machine compute the
same values.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel, python_array_kernel

N_GROUPS = 4  # group indices 0..3; 0 is unused


@kernel
def group_products(x, rowlev, collev):
    """``out[g, a, b]``: the sum of ``x[a, i, j] * x[b, i, j]`` over the coefficients of group ``g``
    (a (N_GROUPS, 3, 3) float64 array), summed in raster order."""
    out = np.zeros((N_GROUPS, 3, 3))
    _, hp, wp = x.shape
    for i in range(hp):
        rl = rowlev[i]
        for j in range(wp):
            g = min(rl, collev[j], N_GROUPS - 1)
            v0 = x[0, i, j]
            v1 = x[1, i, j]
            v2 = x[2, i, j]
            out[g, 0, 0] += v0 * v0
            out[g, 0, 1] += v0 * v1
            out[g, 0, 2] += v0 * v2
            out[g, 1, 1] += v1 * v1
            out[g, 1, 2] += v1 * v2
            out[g, 2, 2] += v2 * v2
    for g in range(N_GROUPS):
        out[g, 1, 0] = out[g, 0, 1]
        out[g, 2, 0] = out[g, 0, 2]
        out[g, 2, 1] = out[g, 1, 2]
    return out


@python_array_kernel
def rotate_groups(x, rowlev, collev, matrices):
    """In place: ``x[:, i, j] = matrices[g] @ x[:, i, j]`` for every coefficient, ``g`` its group.

    ``x`` may be the top-left corner of a tree layout (reduced-resolution decoding):
    ``rowlev``/``collev`` then still give its rows' and columns' levels.
    """
    _, ho, wo = x.shape
    for i in range(ho):
        rl = rowlev[i]
        for j in range(wo):
            g = min(rl, collev[j], N_GROUPS - 1)
            v0 = x[0, i, j]
            v1 = x[1, i, j]
            v2 = x[2, i, j]
            x[0, i, j] = matrices[g, 0, 0] * v0 + matrices[g, 0, 1] * v1 + matrices[g, 0, 2] * v2
            x[1, i, j] = matrices[g, 1, 0] * v0 + matrices[g, 1, 1] * v1 + matrices[g, 1, 2] * v2
            x[2, i, j] = matrices[g, 2, 0] * v0 + matrices[g, 2, 1] * v1 + matrices[g, 2, 2] * v2
