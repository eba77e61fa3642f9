"""The edge layer of canny-spiht: Canny contours, their chain codes, grey values
sampled on both sides of each contour, and the smooth base image inpainted from them.

Pipeline (encoder):

1. :func:`detect_contours`: Canny edges of the luminance (``skimage.feature.canny``),
   split into 8-connected chains (:func:`wavecodec._kernels.edges.trace_chains`);
   chains shorter than ``min_length`` are dropped.
2. :func:`sample_contours`: for every contour pixel the two pixels ``offset`` steps
   along the normal; the grey values there are fitted by a piecewise-linear
   function of the position along the contour with knots every ``spacing``
   pixels (hat-weighted means), quantised with step ``quant_step``.
3. :func:`encode` writes it all losslessly (chain code: start, length, first
   direction, then turns; sample levels as differences along the contour),
   entropy-coded with canonical Huffman codes (the paper) or the shared adaptive
   arithmetic coder.

Decoder (and encoder, identically): :func:`decode` then :func:`base_image`,
homogeneous-diffusion inpainting of the side values (:func:`wavecodec._kernels.edges.inpaint`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from .. import transform as T
from .._kernels import arith as _ac
from .._kernels import edges as _k

ENTROPY = ("huffman", "arith")


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])`` without the loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    firsts = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) + np.repeat(np.asarray(starts, dtype=np.int64) - firsts, lengths)


@dataclass
class Contours:
    """Contours of an edge map: ``lengths`` (n,), pixel rows/columns concatenated."""

    lengths: np.ndarray
    ys: np.ndarray
    xs: np.ndarray

    @property
    def count(self) -> int:
        return int(self.lengths.shape[0])

    def starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64) if self.count else np.zeros(0, np.int64)

    def subset(self, keep: np.ndarray) -> "Contours":
        """The contours whose indices are in ``keep`` (in that order)."""
        keep = np.asarray(keep, dtype=np.int64)
        if keep.size == 0:
            return Contours(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32))
        idx = _ranges(self.starts()[keep], self.lengths[keep])
        return Contours(self.lengths[keep].copy(), self.ys[idx], self.xs[idx])


@dataclass
class EdgeLayer:
    """Contours plus the quantised side levels (n_points, 2, planes) and how to read them."""

    contours: Contours
    levels: np.ndarray
    spacing: int
    offset: int
    step: int  # quantiser step in sample units
    n_levels: int
    # per contour: the value the contour pixels themselves take (0: left to the diffusion,
    # 1: the side-0 values, 2: the side-1 values); a Canny pixel lies on one side of the step
    pixel_side: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.pixel_side is None:
            self.pixel_side = np.zeros(self.contours.count, dtype=np.int64)

    def knots_per_contour(self) -> np.ndarray:
        return n_samples(self.contours.lengths, self.spacing)

    def subset(self, keep: np.ndarray) -> "EdgeLayer":
        """The layer restricted to the contours ``keep`` (in that order)."""
        keep = np.asarray(keep, dtype=np.int64)
        ns = self.knots_per_contour()
        idx = _ranges((np.cumsum(ns) - ns)[keep], ns[keep])
        return EdgeLayer(self.contours.subset(keep), self.levels[idx], self.spacing, self.offset, self.step,
                         self.n_levels, self.pixel_side[keep].copy())


def n_samples(lengths: np.ndarray, spacing: int) -> np.ndarray:
    """:func:`wavecodec._kernels.edges.n_samples` of every contour length."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.where(lengths <= 1, 1, (lengths - 2) // spacing + 2)


# =============================================================================== detection


def luminance(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) samples -> float luminance (ITU-R BT.601 weights for colour)."""
    p = pixels.astype(np.float64)
    if p.shape[2] == 3:
        return 0.299 * p[:, :, 0] + 0.587 * p[:, :, 1] + 0.114 * p[:, :, 2]
    return p[:, :, 0]


def canny_map(pixels: np.ndarray, bit_depth: int, sigma: float, low: float, high: float) -> np.ndarray:
    """Canny edge map (uint8, 1 = edge) of the luminance; thresholds as fractions of the sample range.

    :func:`wavecodec._kernels.edges.canny`: the steps of ``skimage.feature.canny`` in one
    float32 kernel (faster, and about 10 bytes a pixel instead of about 50; the edge maps
    differ in a few pixels on Kodak).
    """
    h, w, c = pixels.shape
    if min(h, w) < 3:
        return np.zeros((h, w), dtype=np.uint8)
    scale = np.float32(1.0 / float((1 << bit_depth) - 1))
    if c == 3:  # the luminance in float32 (a quarter of the float64 image's memory)
        lum = pixels[:, :, 0].astype(np.float32)
        lum *= np.float32(0.299)
        for p, weight in ((1, 0.587), (2, 0.114)):
            lum += np.float32(weight) * pixels[:, :, p].astype(np.float32)
    else:
        lum = pixels[:, :, 0].astype(np.float32)
    lum *= scale
    return _k.canny(lum, sigma, low, high)


def detect_contours(pixels: np.ndarray, bit_depth: int, *, sigma: float, low: float, high: float,
                    min_length: int) -> Contours:
    """Canny contours of at least ``min_length`` pixels, longest first."""
    edge = canny_map(pixels, bit_depth, sigma, low, high)
    lengths, ys, xs = _k.trace_chains(edge)
    c = Contours(lengths, ys, xs)
    keep = np.flatnonzero(lengths >= max(1, min_length))
    keep = keep[np.argsort(-lengths[keep], kind="stable")]
    return c.subset(keep)


# =============================================================================== samples


def _knots(contours: Contours, spacing: int):
    """Per contour pixel: its global index of the sample knot before it (a), after it (b),
    and the interpolation weight t of b; plus the number of knots per contour."""
    lengths = contours.lengths
    ns = n_samples(lengths, spacing)
    if contours.count == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0), ns
    pix_contour = np.repeat(np.arange(contours.count), lengths)
    pix_start = np.repeat(contours.starts(), lengths)
    i = np.arange(lengths.sum()) - pix_start  # index along the contour
    L = lengths[pix_contour]
    n_c = ns[pix_contour]
    k = np.minimum(i // spacing, np.maximum(n_c - 2, 0))
    pos_a = k * spacing
    pos_b = np.minimum((k + 1) * spacing, L - 1)
    span = pos_b - pos_a
    t = np.where(span > 0, (i - pos_a) / np.maximum(span, 1), 0.0)
    knot_start = np.concatenate([[0], np.cumsum(ns)[:-1]])[pix_contour]
    a = knot_start + k
    b = knot_start + np.minimum(k + 1, n_c - 1)
    return a, b, t, ns


def _normals(ty: np.ndarray, tx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The unit 8-neighbour normals (ny, nx) of tangents (ty, tx) (see :func:`side_constraints`)."""
    ty = np.asarray(ty, dtype=np.float64)
    tx = np.asarray(tx, dtype=np.float64)
    norm = np.sqrt(ty * ty + tx * tx)
    lone = norm == 0.0
    safe = np.where(lone, 1.0, norm)
    ny = np.where(lone, 0, np.clip(np.rint(tx / safe * 1.2), -1, 1)).astype(np.int64)
    nx = np.where(lone, 1, np.clip(np.rint(-ty / safe * 1.2), -1, 1)).astype(np.int64)
    return ny, nx


# the normals of the tangents of an 8-connected contour, (ty + 2) * 5 + (tx + 2) -> (ny, nx)
_NORMALS = _normals(np.repeat(np.arange(-2, 3), 5), np.tile(np.arange(-2, 3), 5))


def side_constraints(lengths: np.ndarray, ys: np.ndarray, xs: np.ndarray, offset: int, h: int,
                     w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels on both sides of every contour pixel: the contour normal (rounded to a
    unit 8-neighbour step) times ``offset``.  Returns (sy, sx) of shape (n_pixels, 2),
    -1 where the side pixel falls outside the image.

    The tangent at pixel ``i`` runs from its predecessor to its successor on the
    contour (the pixel itself at an end); a lone pixel gets the normal (0, 1).  The
    normal ``(tx, -ty) / |t|`` is scaled by 1.2 and rounded half to even to -1, 0, 1
    (so sqrt(2)/2 rounds to 1).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n_pix = ys.shape[0]
    sy = np.full((n_pix, 2), -1, dtype=np.int64)
    sx = np.full((n_pix, 2), -1, dtype=np.int64)
    if n_pix == 0:
        return sy, sx
    starts = np.cumsum(lengths) - lengths
    cid = np.repeat(np.arange(lengths.shape[0]), lengths)
    i = np.arange(n_pix) - starts[cid]
    a = starts[cid] + np.where(i > 0, i - 1, i)
    b = starts[cid] + np.where(i < lengths[cid] - 1, i + 1, i)
    y = ys.astype(np.int64)
    x = xs.astype(np.int64)
    ty = y[b] - y[a]
    tx = x[b] - x[a]
    if ty.size and max(np.abs(ty).max(), np.abs(tx).max()) <= 2:  # 8-connected: a table of the 25 tangents
        cell = (ty + 2) * 5 + (tx + 2)
        ny, nx = _NORMALS[0][cell], _NORMALS[1][cell]
    else:
        ny, nx = _normals(ty, tx)
    for side, sgn in ((0, 1), (1, -1)):
        yy = y + sgn * offset * ny
        xx = x + sgn * offset * nx
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        sy[inside, side] = yy[inside]
        sx[inside, side] = xx[inside]
    return sy, sx


def _geometry(contours: Contours, spacing: int, offset: int, h: int, w: int):
    """:func:`_knots` and :func:`side_constraints` of ``contours``: (a, b, t, ns, sy, sx), the same
    values, from one pass of :func:`wavecodec._kernels.edges.contour_geometry` (the NumPy forms
    when a tangent is not one of an 8-connected contour's)."""
    lengths = np.asarray(contours.lengths, dtype=np.int64)
    n_pix = int(contours.ys.shape[0])
    ns = n_samples(lengths, spacing)
    a = np.empty(n_pix, dtype=np.int64)
    b = np.empty(n_pix, dtype=np.int64)
    t = np.empty(n_pix)
    sy = np.empty((n_pix, 2), dtype=np.int64)
    sx = np.empty((n_pix, 2), dtype=np.int64)
    if n_pix and _k.contour_geometry(np.ascontiguousarray(contours.ys, dtype=np.int32),
                                     np.ascontiguousarray(contours.xs, dtype=np.int32), lengths, int(spacing),
                                     int(offset), int(h), int(w), _NORMALS[0], _NORMALS[1], a, b, t, sy, sx):
        return a, b, t, ns, sy, sx
    a, b, t, ns = _knots(contours, spacing)
    sy, sx = side_constraints(lengths, contours.ys, contours.xs, offset, h, w)
    return a, b, t, ns, sy, sx


def quant_params(step8: int, bit_depth: int) -> tuple[int, int]:
    """Quantiser step in sample units (``step8`` is given for 8-bit samples) and the level count."""
    step = step8 << (bit_depth - 8) if bit_depth >= 8 else max(1, step8 >> (8 - bit_depth))
    return step, ((1 << bit_depth) - 1) // step + 1


#: contour pixels per part of :func:`sample_contours` (whole contours; bounds its temporaries)
SAMPLE_CHUNK = 1 << 16


def sample_contours(pixels: np.ndarray, bit_depth: int, contours: Contours, *, spacing: int, offset: int,
                    step8: int, flags: bool = True) -> EdgeLayer:
    """Quantised side levels of every knot: hat-weighted least-squares-like means of the
    samples at the side pixels of the contour pixels around the knot; with ``flags`` also the
    contour-pixel flags (:func:`contour_flags`; else all 0, for a caller that sets them only
    on the contours it keeps).

    Computed for parts of about :data:`SAMPLE_CHUNK` contour pixels (whole contours) at a
    time: every knot and flag depends on its own contour only, so the results are those
    of one pass over all contours, with per-pixel temporaries of a part's size (all at
    once, they were about 150 bytes per contour pixel, and the allocator kept most of
    it after they were freed)."""
    step, n_levels = quant_params(step8, bit_depth)
    lengths = contours.lengths
    ns = n_samples(lengths, spacing)
    knot_start = np.concatenate([[0], np.cumsum(ns)]).astype(np.int64)
    pix_start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    layer = EdgeLayer(contours, np.zeros((int(knot_start[-1]), 2, pixels.shape[2]), dtype=np.int32), spacing,
                      offset, step, n_levels)
    i0 = 0
    while i0 < contours.count:
        i1 = max(i0 + 1, int(np.searchsorted(pix_start, pix_start[i0] + SAMPLE_CHUNK, side="right")) - 1)
        i1 = min(i1, contours.count)
        part = EdgeLayer(Contours(lengths[i0:i1], contours.ys[pix_start[i0]:pix_start[i1]],
                                  contours.xs[pix_start[i0]:pix_start[i1]]),
                         layer.levels[knot_start[i0]:knot_start[i1]], spacing, offset, step, n_levels)
        geometry = _geometry(part.contours, spacing, offset, pixels.shape[0], pixels.shape[1])
        _sample_levels(pixels, part, geometry)  # into layer.levels (part.levels is a view)
        if flags:
            layer.pixel_side[i0:i1] = _pixel_sides(pixels, part, geometry[:4])
        i0 = i1
    return layer


def contour_flags(pixels: np.ndarray, layer: EdgeLayer) -> np.ndarray:
    """Per contour: the value its own pixels take (0: left to the diffusion, 1: side 0's, 2: side
    1's), the one closest to the pixels of ``pixels`` on the contour (a Canny pixel lies on
    one side of the step)."""
    h, w = pixels.shape[:2]
    return _pixel_sides(pixels, layer, _geometry(layer.contours, layer.spacing, layer.offset, h, w)[:4])


def _sample_levels(pixels: np.ndarray, layer: EdgeLayer, geometry: tuple) -> None:
    """The knot levels of ``layer`` (written into ``layer.levels``) from the pixels beside its
    contours (``geometry``: :func:`_geometry` of its contours)."""
    contours = layer.contours
    nc = pixels.shape[2]
    a, b, t, ns, sy, sx = geometry
    n_points = int(ns.sum())
    if contours.count == 0:
        return
    wa = 1.0 - t
    wsum = np.maximum(np.bincount(a, wa, n_points) + np.bincount(b, t, n_points), 1e-9)
    for side in range(2):
        ok = sy[:, side] >= 0
        # a side pixel outside the image: use the contour pixel itself
        yy = np.where(ok, sy[:, side], contours.ys)
        xx = np.where(ok, sx[:, side], contours.xs)
        vals = pixels[yy, xx].astype(np.float64)  # (n_pix, nc)
        for p in range(nc):
            s = np.bincount(a, wa * vals[:, p], n_points) + np.bincount(b, t * vals[:, p], n_points)
            layer.levels[:, side, p] = np.clip(np.rint(s / wsum / layer.step), 0, layer.n_levels - 1)


def _pixel_sides(pixels: np.ndarray, layer: EdgeLayer, knots: tuple) -> np.ndarray:
    """:func:`contour_flags` with the layer's :func:`_knots`."""
    contours = layer.contours
    if contours.count == 0:
        return np.zeros(0, dtype=np.int64)
    a, b, t, _ = knots
    # the side whose interpolated values match the contour pixels best, or the diffusion
    # (approximated here by the mean of the two sides)
    own = pixels[contours.ys, contours.xs].astype(np.float64)  # (n_pix, nc)
    side_vals = [_interpolate(layer, a, b, t, side) for side in range(2)]
    pix_contour = np.repeat(np.arange(contours.count), contours.lengths)
    errs = []
    for cand in (0.5 * (side_vals[0] + side_vals[1]), side_vals[0], side_vals[1]):
        errs.append(np.bincount(pix_contour, ((cand - own) ** 2).sum(axis=1), contours.count))
    return np.argmin(np.stack(errs), axis=0).astype(np.int64)


def _interpolate(layer: EdgeLayer, a: np.ndarray, b: np.ndarray, t: np.ndarray, side: int) -> np.ndarray:
    """Dequantised side values at every contour pixel (n_pix, planes), linear between knots."""
    values = layer.levels[:, side, :].astype(np.float64) * layer.step
    return (1.0 - t)[:, None] * values[a] + t[:, None] * values[b]


#: images of at most this many samples are inpainted in one band (:func:`band_rows`)
BAND_SAMPLES = 1 << 21


def band_rows(h: int, w: int, nc: int) -> int:
    """Rows per band of :func:`base_bands`: the whole image up to :data:`BAND_SAMPLES` samples,
    else an eighth of it, at least 256 rows (each band sweeps 96 more rows, its overlap with
    the next: about 5% more time at 8192 rows, 10% at 4096, for 1.3-1.5 bytes per sample
    instead of 10 of a whole full-size level)."""
    return h if h * w * nc <= BAND_SAMPLES else max(256, -(-h // 8))


def base_bands(layer: EdgeLayer, h: int, w: int, nc: int, *, iterations: int = 24, rows: int | None = None):
    """The base image of :func:`base_image` as bands of rows: yields ``(r0, r1, block)``, ``block``
    (r1 - r0, W, C) float64 (a view, valid until the next band) for ``r0 .. r1 - 1``, top to
    bottom, ``rows`` rows each (default :func:`band_rows`).  Bit for bit the rows of
    :func:`base_image`, in memory for the half-size level and one band
    (:func:`wavecodec._kernels.edges.inpaint_bands`)."""
    pixels, total = _known_values(layer, h, w, nc)
    for r0, r1, band in _k.inpaint_bands(pixels, total, h, w, iterations,
                                          band_rows(h, w, nc) if rows is None else rows,
                                          mapped=h * w * nc > BAND_SAMPLES):
        yield r0, r1, band.transpose(1, 2, 0)


def _known_values(layer: EdgeLayer, h: int, w: int, nc: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixels the layer writes (sorted flat indices) and their values (C, n): the knot values
    interpolated along each contour at its side pixels (and at the contour pixels as the flag
    says), the mean where a pixel is written several times."""
    c = layer.contours
    if c.count == 0:
        return np.zeros(0, np.int64), np.zeros((nc, 0))
    a, b, t, _, sy, sx = _geometry(c, layer.spacing, layer.offset, h, w)
    values = layer.levels.astype(np.float64) * layer.step
    # the written pixels: (flat index, value per plane) in this order: side 0, side 1, then the
    # contour pixels that take side 0's and side 1's values
    pix_side = np.repeat(layer.pixel_side, c.lengths)
    writes = []
    for side in range(2):
        ok = sy[:, side] >= 0
        flat = (sy[ok, side] * w + sx[ok, side]).astype(np.int64)
        writes.append((flat, [(1.0 - t[ok]) * values[a[ok], side, p] + t[ok] * values[b[ok], side, p]
                              for p in range(nc)]))
    del sy, sx
    for side in range(2):
        sel = pix_side == side + 1
        if sel.any():
            v = _interpolate(layer, a[sel], b[sel], t[sel], side)
            writes.append((c.ys[sel].astype(np.int64) * w + c.xs[sel], [v[:, p] for p in range(nc)]))
    # mean per written pixel, summed group by group as bincount over the whole image did (the
    # same additions in the same order, so the same bits), on the written pixels only
    pixels, inverse = np.unique(np.concatenate([f for f, _ in writes]), return_inverse=True)
    n = pixels.shape[0]
    count = np.zeros(n)
    total = np.zeros((nc, n))
    pos = 0
    for flat, vals in writes:
        idx = inverse[pos:pos + flat.shape[0]]
        pos += flat.shape[0]
        count += np.bincount(idx, minlength=n)
        for p in range(nc):
            total[p] += np.bincount(idx, vals[p], n)
    total /= count
    return pixels, total


def base_image(layer: EdgeLayer, h: int, w: int, nc: int, *, iterations: int = 24) -> np.ndarray:
    """Smooth image (H, W, C) float64 inpainted from the side values of the layer.

    The knot values are interpolated linearly along each contour and written to
    the side pixels (a pixel hit several times gets the mean); everything else is
    filled by homogeneous diffusion.  Without contours: all zeros.  (The whole
    image; :func:`base_bands` gives its rows band by band, in less memory.)
    """
    image = np.empty((h, w, nc))
    for r0, r1, block in base_bands(layer, h, w, nc, iterations=iterations):
        image[r0:r1] = block
    return image


add_narrowed_rows = _k.add_narrowed_rows


def base_image_reduced(layer: EdgeLayer, h: int, w: int, nc: int, reduce: int, *,
                       rows: int | None = None) -> np.ndarray:
    """``transform.block_mean(base_image(layer, h, w, nc), reduce)``, bit for bit, without the
    full-size base image: the bands of :func:`base_bands` (``rows`` rows, default
    :func:`band_rows`, rounded up to a multiple of the block height) start on multiples of
    the block height, so each block's rows lie in one band and are summed there as in the
    whole image (rows first, then columns, the same additions in the same order)."""
    block = 1 << min(int(reduce), max(h, w).bit_length())
    rows = -(-(band_rows(h, w, nc) if rows is None else rows) // block) * block
    if block <= 1 or rows >= h:
        return T.block_mean(base_image(layer, h, w, nc), reduce)
    hr, wr = T.reduced_shape(h, w, reduce)
    out = np.empty((hr, wr, nc))
    cols = np.arange(0, w, block)
    width = (np.minimum(cols + block, w) - cols).astype(np.float64)
    for r0, r1, band in base_bands(layer, h, w, nc, rows=rows):
        starts = np.arange(0, r1 - r0, block)
        height = (np.minimum(starts + block, r1 - r0) - starts).astype(np.float64)
        sums = np.add.reduceat(np.add.reduceat(np.ascontiguousarray(band), starts, axis=0), cols, axis=1)
        sums /= (height[:, None] * width[None, :])[:, :, None]
        out[r0 // block : r0 // block + starts.size] = sums
    return out


# =============================================================================== coding


def _symbols(layer: EdgeLayer):
    """Chain-code and sample symbols in coding order: starts, first directions, turn ranks,
    zigzagged level differences along the contour (first knot: from n_levels // 2)."""
    c = layer.contours
    starts = c.starts()
    y0 = c.ys[starts].astype(np.int64) if c.count else np.zeros(0, np.int64)
    x0 = c.xs[starts].astype(np.int64) if c.count else np.zeros(0, np.int64)
    dy = np.diff(c.ys.astype(np.int64))
    dx = np.diff(c.xs.astype(np.int64))
    # direction of each step inside a contour (steps across contour boundaries are dropped)
    table = np.full((3, 3), -1, dtype=np.int64)
    table[_k.DY + 1, _k.DX + 1] = np.arange(8)
    inside = np.ones(dy.shape[0], dtype=bool)
    if c.count > 1:
        inside[(starts[1:] - 1)] = False
    d = np.where(inside, table[np.clip(dy, -1, 1) + 1, np.clip(dx, -1, 1) + 1], -1)
    # d[i]: the step from pixel i to pixel i + 1 of the same contour (-1 at a contour's last pixel)
    first = np.where(c.lengths > 1, d[np.minimum(starts, max(d.shape[0] - 1, 0))] if d.size else 0, 0).astype(np.int64)
    both = inside[:-1] & inside[1:]  # two consecutive steps of one contour: a turn, in contour order
    turns = _k.TURN_RANK[(d[1:][both] - d[:-1][both]) & 7].astype(np.int64)
    return y0, x0, first, turns, sample_symbols(layer)


def sample_symbols(layer: EdgeLayer) -> np.ndarray:
    """The zigzagged level differences along each contour (first knot: from ``n_levels // 2``),
    in coding order: the last part of :func:`_symbols`."""
    c = layer.contours
    ns = n_samples(c.lengths, layer.spacing)
    lev = layer.levels.astype(np.int64)
    pred = np.empty_like(lev)
    if lev.shape[0]:
        pred[1:] = lev[:-1]
        knot_starts = np.concatenate([[0], np.cumsum(ns)[:-1]])
        pred[knot_starts] = layer.n_levels // 2
    diff = lev - pred
    return np.where(diff >= 0, 2 * diff, -2 * diff - 1).reshape(-1)


def huffman_lengths(freq: np.ndarray, max_len: int = _k.MAX_CODE_LENGTH) -> np.ndarray:
    """Huffman code lengths for symbol frequencies (0 for unused symbols), at most ``max_len``.

    A single used symbol gets a 1-bit code.  Lengths over ``max_len`` (rare: only
    for very skewed counts) are avoided by flattening the counts and rebuilding.
    """
    freq = np.asarray(freq, dtype=np.int64)
    used = np.flatnonzero(freq)
    lengths = np.zeros(freq.shape[0], dtype=np.int64)
    if used.size == 0:
        return lengths
    if used.size == 1:
        lengths[used[0]] = 1
        return lengths
    f = freq.astype(np.float64)
    while True:
        heap = [(f[s], int(s), (int(s),)) for s in used]  # (weight, tie-break, symbols)
        heapq.heapify(heap)
        depth = {int(s): 0 for s in used}
        while len(heap) > 1:
            w1, t1, s1 = heapq.heappop(heap)
            w2, t2, s2 = heapq.heappop(heap)
            for s in s1 + s2:
                depth[s] += 1
            heapq.heappush(heap, (w1 + w2, min(t1, t2), s1 + s2))
        for s, dep in depth.items():
            lengths[s] = dep
        if lengths.max() <= max_len:
            return lengths
        f[used] = np.sqrt(f[used]) + 1.0


def _eg_fields(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exp-Golomb codes of order ``k`` of ``values`` >= 0 as (value, n_bits) fields:
    ``v = value + 2**k`` written MSB-first after ``bit_length(v) - 1 - k`` zeros."""
    v = np.asarray(values, dtype=np.int64) + (1 << k)
    nbits = np.frexp(v.astype(np.float64))[1].astype(np.int64)  # bit_length, exact below 2**53
    return v, 2 * nbits - 1 - k


def _unary_fields(symbols: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Truncated unary codes: ``s`` zeros then a one, or ``n_bins`` zeros for ``s == n_bins``."""
    last = symbols >= n_bins
    return np.where(last, 0, 1).astype(np.int64), np.where(last, n_bins, symbols + 1).astype(np.int64)


def _field_bits(value: np.ndarray, nbits: np.ndarray, ctx: np.ndarray, step: np.ndarray):
    """Expand fields into decisions: field ``f`` gives ``nbits[f]`` bits of ``value[f]``, most
    significant first, the ``j``-th in context ``ctx[f] + step[f] * j``."""
    nbits = nbits.astype(np.int64)
    total = int(nbits.sum())
    f = np.repeat(np.arange(nbits.shape[0]), nbits)
    j = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(nbits) - nbits, nbits)
    bits = (value[f] >> (nbits[f] - 1 - j)) & 1
    return bits.astype(np.int64), (ctx[f] + step[f] * j).astype(np.int64)


def encode(layer: EdgeLayer, n_planes: int, h: int, w: int, entropy: str, symbols: tuple | None = None) -> bytes:
    """The edge layer as bytes; ``entropy`` is 'huffman' or 'arith' (``symbols``: :func:`_symbols`
    of the layer when the caller has them, e.g. to try both coders).

    Layout: [Huffman mode: 8 + 16 code lengths, 4 bits each] number of contours
    (Exp-Golomb k=4), then per contour: start row and column (raw bits), length-1
    (Exp-Golomb k=3), the contour-pixel side (0 / 10 / 11), first direction (3 bits),
    ``length-2`` turn symbols, and the sample residual symbols (``n_samples`` points
    x 2 sides x planes; symbols >= ESCAPE carry an Exp-Golomb k=0 remainder).
    Symbols are canonical Huffman codes (raw bits) or, with the arithmetic coder,
    truncated unary bins in contexts of their own (turns: by the class of the
    previous turn; residuals: by plane); the other fields have one context each.

    The bit sequence is laid out with NumPy as fields (value, bit count, context,
    context step per bit) in stream order and expanded to bits; in Huffman mode the
    bits are packed as they are, otherwise arithmetic-coded by
    :func:`wavecodec._kernels.edges.arith_encode`.  (It used to be a Numba kernel
    that emitted bit by bit; compiling it cost about 3 s on first use.)
    """
    y0, x0, first, turns, zig = _symbols(layer) if symbols is None else symbols
    huff = entropy == "huffman"
    c = layer.contours
    n = c.count
    lengths = c.lengths.astype(np.int64)
    side = layer.pixel_side.astype(np.int64)
    zig = zig.astype(np.int64)
    n_pix = int(lengths.sum())
    capacity = 64 + 8 * n + 2 * n_pix + 8 * zig.shape[0] + 2 * int(np.sum(np.maximum(zig - _k.ESCAPE, 0) > 0)) * 8
    raw = _k._CTX_RAW
    n_turns = np.maximum(lengths - 2, 0)  # turn symbols per contour
    n_res = np.where(lengths <= 1, 1, (lengths - 2) // layer.spacing + 2) * 2 * n_planes  # n_samples x sides x planes

    # symbols: Huffman codes, or unary bins whose context advances with the bin
    sym = np.minimum(zig, _k.ESCAPE)
    plane = np.arange(zig.shape[0]) % max(n_planes, 1)
    if huff:
        dir_lens = huffman_lengths(np.bincount(turns, minlength=_k.N_DIR_SYMBOLS))
        res_lens = huffman_lengths(np.bincount(sym, minlength=_k.N_RES_SYMBOLS))
        dir_codes = _k.canonical_codes(dir_lens)
        res_codes = _k.canonical_codes(res_lens)
        turn_v, turn_n = dir_codes[turns], dir_lens[turns]
        turn_ctx = turn_step = np.zeros(turns.shape[0], np.int64)
        res_v, res_n = res_codes[sym], res_lens[sym]
        res_ctx = res_step = np.zeros(sym.shape[0], np.int64)
    else:
        turn_v, turn_n = _unary_fields(turns, 7)
        # context of a turn: the class (0: straight, 1: +-45 degrees, 2: sharper) of the
        # previous turn of the same contour, class 0 for the first
        cls = np.where(turns == 0, 0, np.where(turns <= 2, 1, 2))
        prev = np.concatenate([[0], cls[:-1]]).astype(np.int64)
        turn_starts = (np.cumsum(n_turns) - n_turns)[n_turns > 0]
        prev[turn_starts] = 0
        turn_ctx = _k._CTX_DIR + 7 * prev
        turn_step = np.ones(turns.shape[0], np.int64)
        res_v, res_n = _unary_fields(sym, _k.ESCAPE)
        res_ctx = _k._CTX_RES + _k.ESCAPE * np.minimum(plane, 2)
        res_step = np.ones(sym.shape[0], np.int64)
    esc_v, esc_n = _eg_fields(np.maximum(zig - _k.ESCAPE, 0), 0)
    esc_n = np.where(sym == _k.ESCAPE, esc_n, 0)

    # per contour: 6 header fields, its turns, then (symbol, escape) per residual
    count_v, count_n = _eg_fields(np.array([n]), 4)
    len_v, len_n = _eg_fields(lengths - 1, 3)
    one = np.ones(n, np.int64)
    head_v = np.stack([y0, x0, len_v, (side > 0).astype(np.int64), np.maximum(side - 1, 0), first], axis=1)
    head_n = np.stack([one * _k.bits_for(h), one * _k.bits_for(w), len_n, one, (side > 0).astype(np.int64),
                       np.where(lengths > 1, 3, 0)], axis=1)
    head_ctx = np.broadcast_to(raw + np.array([_k._RAW_POS, _k._RAW_POS, _k._RAW_COUNT, _k._RAW_SIDE,
                                               _k._RAW_SIDE + 1, _k._RAW_DIR]), (n, 6))
    block = 6 + n_turns + 2 * n_res
    block_start = np.cumsum(block) - block
    contour_of_turn = np.repeat(np.arange(n), n_turns)
    turn_pos = block_start[contour_of_turn] + 6 + np.arange(turns.shape[0]) - (np.cumsum(n_turns) - n_turns)[contour_of_turn]
    contour_of_res = np.repeat(np.arange(n), n_res)
    res_rank = np.arange(zig.shape[0]) - (np.cumsum(n_res) - n_res)[contour_of_res]
    res_pos = block_start[contour_of_res] + 6 + n_turns[contour_of_res] + 2 * res_rank
    n_fields = int(block.sum())
    value = np.zeros(n_fields, np.int64)
    nbits = np.zeros(n_fields, np.int64)
    ctx = np.zeros(n_fields, np.int64)
    step = np.zeros(n_fields, np.int64)
    head_pos = (block_start[:, None] + np.arange(6)[None, :]).reshape(-1)
    for pos, v, nb, cx, st in ((head_pos, head_v.reshape(-1), head_n.reshape(-1), head_ctx.reshape(-1), 0),
                               (turn_pos, turn_v, turn_n, turn_ctx, turn_step),
                               (res_pos, res_v, res_n, res_ctx, res_step),
                               (res_pos + 1, esc_v, esc_n, raw + _k._RAW_ESC, 0)):
        value[pos] = v
        nbits[pos] = nb
        ctx[pos] = cx
        step[pos] = st
    # stream header: [the 24 code lengths,] the contour count
    pre_v = np.concatenate([dir_lens, res_lens, count_v]) if huff else count_v
    pre_n = np.concatenate([np.full(_k.N_DIR_SYMBOLS + _k.N_RES_SYMBOLS, 4), count_n]) if huff else count_n
    pre_ctx = np.concatenate([np.zeros(_k.N_DIR_SYMBOLS + _k.N_RES_SYMBOLS, np.int64), [raw + _k._RAW_COUNT]]) \
        if huff else np.array([raw + _k._RAW_COUNT])
    bits, ctxs = _field_bits(np.concatenate([pre_v, value]), np.concatenate([pre_n, nbits]),
                             np.concatenate([pre_ctx, ctx]), np.concatenate([np.zeros(pre_n.shape[0], np.int64), step]))
    if huff:
        bits = bits[: 8 * capacity]  # the raw writer's budget (never reached: the capacity is generous)
        return np.packbits(bits.astype(np.uint8)).tobytes()
    out = np.zeros(capacity, dtype=np.uint8)
    probs, counts = _ac.new_models(_k.N_CONTEXTS)
    n_bytes = _k.arith_encode(bits, ctxs, out, np.zeros(_ac.STATE_SIZE, np.int64), probs, counts)
    return out[: int(n_bytes)].tobytes()


def decode(data: bytes, *, h: int, w: int, n_planes: int, entropy: str, spacing: int, offset: int, step: int,
           n_levels: int) -> EdgeLayer:
    """Inverse of :func:`encode` for a possibly truncated or corrupt layer (complete contours only)."""
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    if buf.size == 0:
        buf = np.zeros(1, dtype=np.uint8)
    huff = entropy == "huffman"
    tables = _k.huffman_tables(buf, len(data)) if huff else None
    if huff and tables is None:
        return EdgeLayer(Contours(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32)),
                         np.zeros((0, 2, n_planes), np.int32), spacing, offset, step, n_levels, np.zeros(0, np.int64))
    cnt, syms = tables if huff else (np.zeros((2, _k.MAX_CODE_LENGTH + 1), np.int64), np.zeros((2, _k.N_RES_SYMBOLS), np.int64))
    probs, counts = _ac.new_models(_k.N_CONTEXTS)
    n, per_contour, n_pix, n_pts, pixels = _k.decode_layer(
        huff, buf, len(data), h, w, _k.bits_for(h), _k.bits_for(w), n_planes, spacing, n_levels, h * w,
        np.zeros(_ac.STATE_SIZE, np.int64), probs, counts, cnt, syms, np.zeros((2, n_planes), np.int64))
    contours = Contours(per_contour[:n, 0].copy(), pixels[:n_pix, 0].copy(), pixels[:n_pix, 1].copy())
    levels = pixels[:n_pts, 2:].reshape(n_pts, 2, n_planes).copy()
    return EdgeLayer(contours, levels, spacing, offset, step, n_levels, per_contour[:n, 1].copy())
