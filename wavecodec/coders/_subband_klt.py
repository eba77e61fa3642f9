"""The subband KLT: a colour rotation per group of wavelet levels, chosen per image.

The fixed ICT decorrelates typical RGB images only roughly, and the correlation
between the colour planes differs between the coarse and the fine subbands (the
fine detail is more nearly gray than the smooth colours).  Since the colour and
the wavelet transforms are both linear, the wavelet transform can run on the RGB
planes and the colour transform after it, band by band: here one orthonormal 3x3
matrix per group of levels (the finest level, the next one, and everything
coarser with the LL band), the Karhunen-Loeve transform of the group's
synthesis-weighted coefficients (the principal axes of their 3x3 second-moment
matrix, largest first).  Related uses of a KLT for colour or spectral planes of a
wavelet coder: JPEG 2000 Part 2's multi-component transform; J. Lee, "Optimized
quadtree for Karhunen-Loeve transform in multispectral image coding", IEEE TIP
8(4), 1999.

Each rotation is stored as a quaternion ``(a, b, c, d)`` of four int16 in 1/2**14
(8 bytes a group).  Decoders rebuild the matrix from it with integer arithmetic
and one division per entry, so every machine gets the same matrix, which is
orthogonal to within rounding; its transpose is the inverse.  Encoders find the
principal axes by cyclic Jacobi rotations (only ``+ - * /`` and square roots:
correctly rounded on every machine, so the chosen quaternion is too).
"""

from __future__ import annotations

import math

import numpy as np

from .._kernels import colour as _colour
from ..errors import CorruptStreamError

N_GROUPS = _colour.N_GROUPS - 1  # rotations stored: groups 1..3
QUATERNION_ONE = 1 << 14  # a unit quaternion component, as stored
SIDE_BYTES = N_GROUPS * 4 * 2  # the quaternions in the parameter block
#: ``colour="auto"`` uses the subband KLT from this payload budget on (bytes; without a budget, from
#: this many pixels: full-quality streams take several bytes a pixel), where its side information is
#: at most 5% of the payload.  Measured against the ICT on the 24 Kodak images (mean PSNR over RGB):
#: -0.077 dB with 245-byte budgets (0.005 bpp), +0.013 dB with 491 bytes, +0.052 with 737, +0.063
#: with 983 (0.02 bpp), +0.09-0.21 dB at 0.1-1.5 bpp; on 256x256 and 128x128 crops +0.12 to +0.20 dB
#: with 512-2457-byte budgets (docs/ecbp.md, "Colour: the subband KLT").  Until 2026-11-27 this was
#: 2400 (the 24 bytes at most 1%), which left those low budgets to the ICT
MIN_BUDGET = 20 * SIDE_BYTES


def _jacobi_eigenvectors(a: list[list[float]]) -> tuple[list[float], list[list[float]]]:
    """Eigenvalues and eigenvectors (columns of ``v``) of a symmetric 3x3 matrix, by cyclic Jacobi
    rotations (Golub & Van Loan, Matrix Computations, Sec. 8.5), with a fixed sweep limit."""
    a = [row[:] for row in a]
    v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    for _ in range(32):
        off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2]
        scale = a[0][0] * a[0][0] + a[1][1] * a[1][1] + a[2][2] * a[2][2]
        if off <= 1e-30 * scale or off == 0.0:
            break
        for p, q in ((0, 1), (0, 2), (1, 2)):
            if a[p][q] == 0.0:
                continue
            theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q])
            t = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
            if theta < 0.0:
                t = -t
            c = 1.0 / math.sqrt(t * t + 1.0)
            s = t * c
            for k in range(3):  # a = a J (columns p, q)
                akp, akq = a[k][p], a[k][q]
                a[k][p] = c * akp - s * akq
                a[k][q] = s * akp + c * akq
            for k in range(3):  # a = J^T a (rows p, q)
                apk, aqk = a[p][k], a[q][k]
                a[p][k] = c * apk - s * aqk
                a[q][k] = s * apk + c * aqk
            for k in range(3):
                vkp, vkq = v[k][p], v[k][q]
                v[k][p] = c * vkp - s * vkq
                v[k][q] = s * vkp + c * vkq
    return [a[0][0], a[1][1], a[2][2]], v


def principal_axes(moments: np.ndarray) -> np.ndarray:
    """The rotation (3x3, rows = principal axes, largest second moment first, determinant +1) of a
    3x3 second-moment matrix; the first axis points to positive RGB sums (a luma-like plane)."""
    values, v = _jacobi_eigenvectors([[float(moments[i, j]) for j in range(3)] for i in range(3)])
    order = sorted(range(3), key=lambda k: (-values[k], k))
    rows = [[v[0][k], v[1][k], v[2][k]] for k in order]
    if rows[0][0] + rows[0][1] + rows[0][2] < 0.0:
        rows[0] = [-e for e in rows[0]]
    if max(rows[1], key=abs) < 0.0:
        rows[1] = [-e for e in rows[1]]
    r0, r1 = rows[0], rows[1]
    rows[2] = [r0[1] * r1[2] - r0[2] * r1[1], r0[2] * r1[0] - r0[0] * r1[2], r0[0] * r1[1] - r0[1] * r1[0]]
    return np.array(rows)


def quaternion(rotation: np.ndarray) -> tuple[int, int, int, int]:
    """The stored quaternion (int16 in 1/2**14, first non-zero component positive) of a rotation
    matrix (Shepperd's method: from the largest of the four squared components)."""
    m = rotation
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    squares = (1.0 + trace, 1.0 + m[0, 0] - m[1, 1] - m[2, 2], 1.0 - m[0, 0] + m[1, 1] - m[2, 2],
               1.0 - m[0, 0] - m[1, 1] + m[2, 2])
    k = max(range(4), key=lambda i: (squares[i], -i))
    r = math.sqrt(max(squares[k], 0.0)) * 2.0  # 4 * |component k|
    if k == 0:
        q = (r / 4.0, (m[2, 1] - m[1, 2]) / r, (m[0, 2] - m[2, 0]) / r, (m[1, 0] - m[0, 1]) / r)
    elif k == 1:
        q = ((m[2, 1] - m[1, 2]) / r, r / 4.0, (m[0, 1] + m[1, 0]) / r, (m[0, 2] + m[2, 0]) / r)
    elif k == 2:
        q = ((m[0, 2] - m[2, 0]) / r, (m[0, 1] + m[1, 0]) / r, r / 4.0, (m[1, 2] + m[2, 1]) / r)
    else:
        q = ((m[1, 0] - m[0, 1]) / r, (m[0, 2] + m[2, 0]) / r, (m[1, 2] + m[2, 1]) / r, r / 4.0)
    norm = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    stored = [int(round(e / norm * QUATERNION_ONE)) for e in q]
    if next(e for e in stored if e != 0) < 0:
        stored = [-e for e in stored]
    return tuple(stored)


def rotation(q: tuple[int, int, int, int]) -> np.ndarray:
    """The rotation matrix of a stored quaternion: integer numerators over ``a^2 + b^2 + c^2 + d^2``
    (exact up to the one rounding of each division, on every machine)."""
    a, b, c, d = (int(e) for e in q)
    n = a * a + b * b + c * c + d * d
    if n == 0:
        raise CorruptStreamError("subband KLT: a zero quaternion")
    num = [[a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
           [2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b)],
           [2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d]]
    return np.array([[num[i][j] / n for j in range(3)] for i in range(3)])


def fit(x: np.ndarray, rowlev: np.ndarray, collev: np.ndarray) -> tuple[tuple[int, int, int, int], ...]:
    """The stored quaternions of the KLT of each group of the weighted coefficients ``x`` (3, hp, wp)."""
    moments = _colour.group_products(x, rowlev, collev)
    return tuple(quaternion(principal_axes(moments[g])) for g in range(1, N_GROUPS + 1))


def matrices(quaternions: tuple, *, inverse: bool) -> np.ndarray:
    """The (N_GROUPS + 1, 3, 3) matrices :func:`wavecodec._kernels.colour.rotate_groups` takes
    (entry 0 unused): the rotations, or with ``inverse`` their transposes."""
    out = np.zeros((N_GROUPS + 1, 3, 3))
    out[0] = np.eye(3)
    for g, q in enumerate(quaternions, start=1):
        r = rotation(q)
        out[g] = r.T if inverse else r
    return np.ascontiguousarray(out)


def rotate(x: np.ndarray, rowlev: np.ndarray, collev: np.ndarray, quaternions: tuple, *, inverse: bool) -> None:
    """In place: each group's coefficients of ``x`` (3, rows, cols; a tree layout or its top-left
    corner) rotated into the KLT planes, or with ``inverse`` back into RGB."""
    _colour.rotate_groups(x, rowlev, collev, matrices(quaternions, inverse=inverse))
