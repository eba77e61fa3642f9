"""Numba kernels of the canny-spiht edge layer: contour tracing, the decoder of the
contours' bit stream (canonical Huffman or adaptive arithmetic), the arithmetic
coding of the encoder's bit sequence and the Laplace inpainting sweeps.  Plain
arrays in and out; the policy is in :mod:`wavecodec.coders._edge_layer`.

These loops are per pixel / per bit with data-dependent control flow (tracing a
chain, decoding a variable-length code, Gauss-Seidel sweeps), which NumPy cannot
vectorise; in Numba they take milliseconds on a 768x512 image.

Cold start (issue 13): the layer used to compile 8.5 s of kernels on first use.
What it cost, measured with Numba's compile events, and what replaced it:

* the encoder's symbol-by-symbol kernels (a bit writer inlining the arithmetic
  coder, called from helpers for bit fields, Exp-Golomb codes and symbols, each
  compiled and re-optimised in its callers): the encoder now lays out its bit
  sequence with NumPy (:func:`wavecodec.coders._edge_layer.encode`), and only the
  arithmetic coding of that sequence is a kernel (:func:`arith_encode`);
* array slice assignments and copies in :func:`decode_layer` (they compile
  Numba's broadcasting code, with its error messages built from strings), builtin
  ``min``/``max``, ``np.round`` and a list of arrays in the inpainting: plain loops
  and conditional expressions, the growth copies as loops, slicing of the results
  and the inpainting pyramid in Python;
* the decoder's bit reader inlined in two helpers: now one call site
  (:func:`_get`), reused by the field readers;
* the side-pixel geometry (a per-pixel loop with ``np.round``) is NumPy code in
  :mod:`wavecodec.coders._edge_layer`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import arith as _ac
from .pages import list_buffer, zeroed_buffer

# 8-neighbour steps, counter-clockwise from east: direction d moves by (DY[d], DX[d]).
DY = np.array([0, -1, -1, -1, 0, 1, 1, 1], dtype=np.int64)
DX = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)
# Relative turn r = (d - previous d) mod 8 -> symbol (rank by expected frequency) and back.
TURN_RANK = np.array([0, 1, 3, 5, 7, 6, 4, 2], dtype=np.int64)
RANK_TURN = np.array([0, 1, 7, 2, 6, 3, 5, 4], dtype=np.int64)

N_DIR_SYMBOLS = 8
# Constant arguments of the helpers go through _I: a bare literal makes Numba compile a
# version of the callee for each constant it is called with (Literal[int] types).
_I = np.int64
# trace_chains: the 4-neighbours are tried before the diagonals
_TRACE_ORDER = np.array([0, 2, 4, 6, 1, 3, 5, 7], dtype=np.int64)
ESCAPE = 15  # sample residual symbols 0..14 are coded directly, >= 15 as ESCAPE + Exp-Golomb remainder
N_RES_SYMBOLS = ESCAPE + 1
MAX_CODE_LENGTH = 15
# arithmetic-coder contexts
_CTX_DIR = 0  # 7 bins x 3 previous-turn classes
_CTX_RES = 21  # 15 bins x 3 plane classes
_CTX_RAW = _CTX_RES + ESCAPE * 3  # raw fields: 4 contexts (count/length, position, first direction, escape)
N_CONTEXTS = _CTX_RAW + 6
_RAW_COUNT, _RAW_POS, _RAW_DIR, _RAW_ESC, _RAW_SIDE = 0, 1, 2, 3, 4  # _RAW_SIDE uses 2 contexts


# =============================================================================== tracing


@njit(cache=True)
def trace_chains_kernel(edge, seen, ys, xs, lengths, fwd_y, fwd_x, bwd_y, bwd_x):
    """Split a thin edge map (uint8, 1 = edge) into 8-connected pixel chains.

    Raster scan; each unvisited edge pixel seeds a chain, which is extended
    forwards and then backwards (4-neighbours preferred over diagonals, in a fixed
    order) through unvisited edge pixels.  Returns (lengths, ys, xs): the chains'
    pixels concatenated, each chain ordered from one end to the other, into ``ys``,
    ``xs`` and ``lengths`` (int32, int32, int64, one entry per edge pixel), and
    returns the number of chains.  ``seen`` (uint8, zeros, shape of ``edge``) and
    ``fwd_y``, ``fwd_x``, ``bwd_y``, ``bwd_x`` (int32, one per edge pixel) are
    scratch.  The buffers come from :func:`trace_chains`: allocations and slice
    copies in the kernel would compile Numba's array constructors with it.
    """
    h, w = edge.shape
    n_chains = 0
    pos = 0
    for y0 in range(h):
        for x0 in range(w):
            if edge[y0, x0] == 0 or seen[y0, x0] != 0:
                continue
            seen[y0, x0] = 1
            for sweep in range(2):
                cy, cx = y0, x0
                n = 0
                while True:
                    found = False
                    for k in range(8):
                        d = _TRACE_ORDER[k]
                        ny = cy + DY[d]
                        nx = cx + DX[d]
                        if 0 <= ny < h and 0 <= nx < w and edge[ny, nx] != 0 and seen[ny, nx] == 0:
                            seen[ny, nx] = 1
                            cy, cx = ny, nx
                            found = True
                            break
                    if not found:
                        break
                    if sweep == 0:
                        fwd_y[n] = cy
                        fwd_x[n] = cx
                    else:
                        bwd_y[n] = cy
                        bwd_x[n] = cx
                    n += 1
                if sweep == 0:
                    n_fwd = n
                else:
                    n_bwd = n
            # chain = reversed backward part, seed, forward part
            for i in range(n_bwd):
                ys[pos] = bwd_y[n_bwd - 1 - i]
                xs[pos] = bwd_x[n_bwd - 1 - i]
                pos += 1
            ys[pos] = y0
            xs[pos] = x0
            pos += 1
            for i in range(n_fwd):
                ys[pos] = fwd_y[i]
                xs[pos] = fwd_x[i]
                pos += 1
            lengths[n_chains] = n_bwd + 1 + n_fwd
            n_chains += 1
    return n_chains




def trace_chains(edge):
    """Chains of the edge map ``edge`` (see :func:`trace_chains_kernel`): (lengths, ys, xs)."""
    edge = np.ascontiguousarray(edge, dtype=np.uint8)
    n_edge = int(np.count_nonzero(edge))
    ys, xs, fy, fx, by, bx = (np.empty(n_edge, dtype=np.int32) for _ in range(6))
    lengths = np.empty(n_edge, dtype=np.int64)
    n_chains = trace_chains_kernel(edge, np.zeros(edge.shape, dtype=np.uint8), ys, xs, lengths, fy, fx, by, bx)
    return lengths[:n_chains].copy(), ys, xs


@njit(cache=True, error_model="numpy")  # no zero-division checks: its loops vectorise
def canny_kernel(lum, weights, norm_y, norm_x, low, high, ring, smooth, mag_ring, flags):
    """Canny edges of ``lum`` (float32, H x W) into ``flags`` (uint8: 1 = edge, else 0).

    The steps of ``skimage.feature.canny`` (what the encoder used before), in one pass
    over float32 arrays: Gaussian smoothing with the 1-D kernel ``weights`` along both
    axes, zero outside the image and divided by the kernel mass inside it (``norm_y``,
    ``norm_x``: scikit-image's "bleed-over" correction); Sobel gradients (``[-1, 0, 1]``
    times ``[1, 2, 1]``, borders mirrored); non-maximum suppression along the gradient
    direction with linear interpolation between the two pixels it passes (the outermost
    rows and columns are never edges); hysteresis: the local maxima with magnitude of at
    least ``low`` that are 8-connected to one of at least ``high``.

    Memory: besides ``lum`` and ``flags``, one image-sized float32 array ``smooth`` (the
    smoothed image, then the hysteresis stack in the same bytes) and row rings: ``ring``
    (len(weights) x W, the rows smoothed along x) and ``mag_ring`` (3 x W, gradient
    magnitudes), all float32.
    """
    h, w = lum.shape
    r = (weights.shape[0] - 1) // 2
    n_ring = ring.shape[0]
    zero = np.float32(0.0)
    for y in range(h + r):  # along the rows into the ring, then along the columns for row y - r
        if y < h:
            dst = ring[y % n_ring]
            for x in range(w):
                dst[x] = zero
            for k in range(2 * r + 1):
                d = k - r
                x0 = -d if d < 0 else 0
                x1 = w - d if d > 0 else w
                wk = weights[k]
                src = lum[y, x0 + d:x1 + d]  # row views: indices from 0, a loop that LLVM vectorises
                out = dst[x0:x1]
                for i in range(x1 - x0):
                    out[i] += wk * src[i]
        yo = y - r
        if yo < 0:
            continue
        dst = smooth[yo]
        for x in range(w):
            dst[x] = zero
        for k in range(2 * r + 1):
            yy = yo + k - r
            if yy < 0 or yy >= h:
                continue
            wk = weights[k]
            src = ring[yy % n_ring]
            for x in range(w):
                dst[x] += wk * src[x]
        ny = norm_y[yo]
        for x in range(w):
            dst[x] /= ny * norm_x[x]
    two = np.float32(2.0)
    one = np.float32(1.0)
    for y in range(h):
        for x in range(w):
            flags[y, x] = 0
    # gradient magnitudes row by row into a ring of 3, then non-maximum suppression of the row
    # before: 0 no, 1 weak (>= low), 2 strong (>= high)
    for m in range(h):
        yn = m - 1 if m > 0 else 0
        ys = m + 1 if m < h - 1 else h - 1
        out = mag_ring[m % 3]
        for x in (0, w - 1):  # the border columns (mirrored), then the inner ones without branches
            xw = x - 1 if x > 0 else 0
            xe = x + 1 if x < w - 1 else w - 1
            gj = (smooth[yn, xe] - smooth[yn, xw]) + two * (smooth[m, xe] - smooth[m, xw]) \
                + (smooth[ys, xe] - smooth[ys, xw])
            gi = (smooth[ys, xw] - smooth[yn, xw]) + two * (smooth[ys, x] - smooth[yn, x]) \
                + (smooth[ys, xe] - smooth[yn, xe])
            out[x] = np.sqrt(gi * gi + gj * gj)
        up = smooth[yn]
        mid = smooth[m]
        down = smooth[ys]
        for x in range(1, w - 1):
            gj = (up[x + 1] - up[x - 1]) + two * (mid[x + 1] - mid[x - 1]) + (down[x + 1] - down[x - 1])
            gi = (down[x - 1] - up[x - 1]) + two * (down[x] - up[x]) + (down[x + 1] - up[x + 1])
            out[x] = np.sqrt(gi * gi + gj * gj)
        y = m - 1
        if y < 1 or y > h - 2:
            continue
        above = mag_ring[(y - 1) % 3]
        here = mag_ring[y % 3]
        below = mag_ring[(y + 1) % 3]
        s_up = smooth[y - 1]
        s_mid = smooth[y]
        s_down = smooth[y + 1]
        f_row = flags[y]
        # without branches, so that LLVM vectorises it: both interpolations' operands are picked
        # by selects and the same arithmetic is done for every pixel (the values of the branchy
        # form where a pixel is kept; the division's operands are made non-zero where it is not)
        for x in range(1, w - 1):
            mv = here[x]
            gj = (s_up[x + 1] - s_up[x - 1]) + two * (s_mid[x + 1] - s_mid[x - 1]) \
                + (s_down[x + 1] - s_down[x - 1])
            gi = (s_down[x - 1] - s_up[x - 1]) + two * (s_down[x] - s_up[x]) + (s_down[x + 1] - s_up[x + 1])
            ai = abs(gi)
            aj = abs(gj)
            same = (gi >= 0 and gj >= 0) or (gi <= 0 and gj <= 0)  # diagonal neighbour below: x + 1, else x - 1
            vertical = ai >= aj  # mostly vertical gradient: interpolate along the rows above and below
            num = aj if vertical else ai
            den = ai if vertical else aj
            t = num / (den if den > 0 else one)
            b_w, b_c, b_e = below[x - 1], below[x], below[x + 1]  # loaded unconditionally: selects
            a_w, a_c, a_e = above[x - 1], above[x], above[x + 1]
            h_w, h_e = here[x - 1], here[x + 1]
            below_d = b_e if same else b_w  # below[x + sx]
            above_d = a_w if same else a_e  # above[x - sx]
            first1 = b_c if vertical else (h_e if same else h_w)
            first2 = a_c if vertical else (h_w if same else h_e)
            n1 = first1 * (one - t) + below_d * t
            n2 = first2 * (one - t) + above_d * t
            keep = mv > 0 and mv >= low and n1 <= mv and n2 <= mv
            f_row[x] = (2 if mv >= high else 1) if keep else 0
    # hysteresis: flood the weak maxima 8-connected to a strong one (3 = reached), then 0/1;
    # the stack lives in the bytes of ``smooth``, which is not needed any more
    stack = smooth.reshape(-1).view(np.int32)
    top = 0
    for y in range(h):
        for x in range(w):
            if flags[y, x] == 2:
                flags[y, x] = 3
                stack[top] = y * w + x
                top += 1
    while top > 0:
        top -= 1
        p = stack[top]
        y = p // w
        x = p % w
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                yy = y + dy
                xx = x + dx
                if 0 <= yy < h and 0 <= xx < w and (flags[yy, xx] == 1 or flags[yy, xx] == 2):
                    flags[yy, xx] = 3
                    stack[top] = yy * w + xx
                    top += 1
    for y in range(h):
        for x in range(w):
            flags[y, x] = 1 if flags[y, x] == 3 else 0


def canny(lum, sigma, low, high):
    """Canny edge map (uint8, 1 = edge) of ``lum`` (values in [0, 1]), see :func:`canny_kernel`.

    The Gaussian kernel is SciPy's (``gaussian_filter``: radius ``int(4 sigma + 0.5)``, unit sum).
    """
    lum = np.ascontiguousarray(lum, dtype=np.float32)
    h, w = lum.shape
    r = int(4.0 * float(sigma) + 0.5)
    taps = np.arange(-r, r + 1, dtype=np.float64)
    weights = np.exp(-0.5 * taps * taps / (float(sigma) ** 2))
    weights /= weights.sum()

    def mass(n):  # kernel mass inside the image at each position of an axis of length n
        inside = (np.arange(n)[:, None] + taps[None, :] >= 0) & (np.arange(n)[:, None] + taps[None, :] < n)
        return (inside * weights[None, :]).sum(axis=1).astype(np.float32)

    flags = np.empty((h, w), dtype=np.uint8)
    # The kernel's scratch arrays (the row ring, the smoothed image, the magnitude ring) are views
    # of one buffer, each with _GUARD_ROWS unused rows before and after it.  LLVM vectorises the
    # kernel's row loops behind run-time overlap checks that it hoists out of the loop over the
    # rows, with bounds that reach a row or two beyond the arrays: when a stored array happened to
    # lie within that distance of a loaded one (``flags`` right after ``smooth`` in the heap,
    # ``ring`` next to ``lum``), the check failed and the whole pass ran scalar, 3x the kernel's
    # time (1.9 -> 6.4 ms at 768x512, measured by placing the arrays side by side).  The guards keep
    # every array the kernel stores far from every array it loads, wherever the heap puts them.
    g = _GUARD_ROWS
    parts = (2 * r + 1, h, 3)
    buf = np.empty((sum(parts) + g * (len(parts) + 1), w), dtype=np.float32)
    views, y0 = [], g
    for n in parts:
        views.append(buf[y0:y0 + n])
        y0 += n + g
    ring, smooth, mag_ring = views
    canny_kernel(lum, weights.astype(np.float32), mass(h), mass(w), np.float32(low), np.float32(high),
                 ring, smooth, mag_ring, flags)
    return flags


_GUARD_ROWS = 4  # see canny(): rows of unused memory around each scratch array of canny_kernel


# =============================================================================== contour geometry


@njit(cache=True)
def contour_geometry(ys, xs, lengths, spacing, offset, h, w, normal_y, normal_x, knot_a, knot_b, t, side_y, side_x):
    """Per contour pixel (contours concatenated, ``lengths`` int64): the global index of the
    sample knot before it (``knot_a``) and after it (``knot_b``), the weight ``t`` of the
    latter, and its two side pixels ``side_y``, ``side_x`` ((n, 2) int64, -1 outside the image),
    as :func:`wavecodec.coders._edge_layer._knots` and
    :func:`~wavecodec.coders._edge_layer.side_constraints` define them, in one pass.

    The normals come from the table ``normal_y``, ``normal_x`` of the 25 tangents of an
    8-connected contour (index ``(ty + 2) * 5 + tx + 2``); returns False, leaving the outputs
    incomplete, at the first tangent outside it (the caller then uses the general formula).
    """
    pos = 0
    first_knot = 0
    for c in range(lengths.shape[0]):
        n = lengths[c]
        ns = 1 if n <= 1 else (n - 2) // spacing + 2
        last_k = ns - 2 if ns > 2 else 0
        for i in range(n):
            p = pos + i
            k = i // spacing
            if k > last_k:
                k = last_k
            pos_a = k * spacing
            pos_b = (k + 1) * spacing
            if pos_b > n - 1:
                pos_b = n - 1
            span = pos_b - pos_a
            knot_a[p] = first_knot + k
            knot_b[p] = first_knot + (k + 1 if k + 1 < ns - 1 else ns - 1)
            t[p] = (i - pos_a) / span if span > 0 else 0.0
            before = p - 1 if i > 0 else p
            after = p + 1 if i < n - 1 else p
            ty = ys[after] - ys[before]
            tx = xs[after] - xs[before]
            if ty < -2 or ty > 2 or tx < -2 or tx > 2:
                return False
            cell = (ty + 2) * 5 + tx + 2
            dy = offset * normal_y[cell]
            dx = offset * normal_x[cell]
            for side in range(2):
                yy = ys[p] + dy if side == 0 else ys[p] - dy
                xx = xs[p] + dx if side == 0 else xs[p] - dx
                if 0 <= yy < h and 0 <= xx < w:
                    side_y[p, side] = yy
                    side_x[p, side] = xx
                else:
                    side_y[p, side] = -1
                    side_x[p, side] = -1
        pos += n
        first_knot += ns
    return True


# =============================================================================== codes (Python)


def canonical_codes(lengths):
    """Canonical Huffman codes (RFC 1951, 3.2.2) for code ``lengths`` (0 = unused symbol)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    count = np.bincount(lengths, minlength=MAX_CODE_LENGTH + 2)
    count[0] = 0
    next_code = np.zeros(MAX_CODE_LENGTH + 2, dtype=np.int64)
    code = 0
    for n in range(1, MAX_CODE_LENGTH + 1):
        code = (code + int(count[n - 1])) << 1
        next_code[n] = code
    codes = np.zeros(lengths.shape[0], dtype=np.int64)
    for s in range(lengths.shape[0]):
        if lengths[s] > 0:
            codes[s] = next_code[lengths[s]]
            next_code[lengths[s]] += 1
    return codes


def n_samples(length, spacing):
    """Sample points of a contour of ``length`` pixels: indices 0, s, 2s, ... and the last one."""
    if length <= 1:
        return 1
    return (length - 2) // spacing + 2


def bits_for(n):
    """Bits of a coordinate below ``n``: the least ``b`` with ``2**b >= n``."""
    return max(int(n) - 1, 0).bit_length()


def huffman_tables(data, n_bytes):
    """The canonical Huffman decoding tables of a Huffman-mode layer: its first 24 4-bit
    fields are the code lengths of the 8 direction and the 16 residual symbols.

    Returns (cnt, syms): ``cnt[t, n]`` codes of length ``n`` and ``syms[t]`` the symbols
    in canonical order (by length, then symbol), for the directions (t = 0) and the
    residuals (t = 1); None when the layer is shorter than the lengths or they do not
    form prefix codes (the decoder then returns no contour).
    """
    n_sym = N_DIR_SYMBOLS + N_RES_SYMBOLS
    if 8 * n_bytes < 4 * n_sym:
        return None
    fields = np.unpackbits(np.asarray(data[: 4 * n_sym // 8], dtype=np.uint8)).reshape(n_sym, 4).astype(np.int64)
    lens = fields @ np.array([8, 4, 2, 1], dtype=np.int64)
    cnt = np.zeros((2, MAX_CODE_LENGTH + 1), dtype=np.int64)
    syms = np.zeros((2, N_RES_SYMBOLS), dtype=np.int64)
    for t, (lo, hi) in enumerate(((0, N_DIR_SYMBOLS), (N_DIR_SYMBOLS, n_sym))):
        tab = lens[lo:hi]
        used = tab > 0
        if int(np.sum(1 << (MAX_CODE_LENGTH - tab[used]))) > (1 << MAX_CODE_LENGTH):  # over-subscribed
            return None
        order = np.lexsort((np.arange(hi - lo), tab))[np.count_nonzero(~used):]  # by length, then symbol
        syms[t, : order.shape[0]] = order
        cnt[t] = np.bincount(tab[used], minlength=MAX_CODE_LENGTH + 1)
    return cnt, syms


# =============================================================================== encoder


@njit(cache=True)
def arith_encode(bits, ctxs, out, state, probs, counts):
    """Arithmetic-code the decisions ``bits[i]`` in contexts ``ctxs[i]`` into ``out``
    (the encoder's bit sequence, laid out by :func:`wavecodec.coders._edge_layer.encode`);
    ``state``, ``probs`` and ``counts`` are fresh models.  Returns the byte count."""
    _ac.ac_encoder_init(state, out.shape[0])
    for i in range(bits.shape[0]):
        _ac.ac_encode_bit(state, out, probs, counts, ctxs[i], bits[i])
    return _ac.ac_encoder_flush(state, out)


# =============================================================================== decoder

# The decoder's bit and field readers are called only from decode_layer: compiled without
# the CPython and C-callable wrappers that a kernel called from Python needs (measured:
# 0.4-0.5 s less to compile the decoder; they stay cached like any kernel).
_helper = njit(cache=True, no_cpython_wrapper=True, no_cfunc_wrapper=True)



@_helper
def _get(huff, state, data, probs, counts, ctx):
    """One bit: raw (Huffman mode) or arithmetic-decoded in context ``ctx``; -1 once the input is exhausted.

    The only place where the decoder inlines the bit readers of :mod:`.arith`.
    """
    if huff:
        return _ac.raw_read_bit(state, data)
    return _ac.ac_decode_bit(state, data, probs, counts, ctx)


@_helper
def _get_bits(huff, state, data, probs, counts, ctx, n):
    """An ``n``-bit unsigned field, most significant bit first; -1 when the input ends."""
    v = 0
    for _ in range(n):
        b = _get(huff, state, data, probs, counts, ctx)
        if b < 0:
            return -1
        v = (v << 1) | b
    return v


@_helper
def _get_eg(huff, state, data, probs, counts, ctx, k, max_prefix):
    """An Exp-Golomb code of order ``k``; -1 when the input ends, -2 for a prefix over ``max_prefix``."""
    zeros = 0
    while True:
        b = _get(huff, state, data, probs, counts, ctx)
        if b < 0:
            return -1
        if b == 1:
            break
        zeros += 1
        if zeros > max_prefix:
            return -2  # impossible value: corrupt
    rest = _get_bits(huff, state, data, probs, counts, ctx, zeros + k)
    if rest < 0:
        return -1
    return ((1 << (zeros + k)) | rest) - (1 << k)


@_helper
def _get_symbol(huff, state, data, probs, counts, cnt, syms, ctx0, n_bins):
    """A symbol: a canonical Huffman code (``cnt``: codes per length, ``syms``: symbols in
    canonical order) or truncated unary bins in contexts ``ctx0 + bin`` (``n_bins`` zeros
    mean symbol ``n_bins``).  -1 when the input is exhausted, -2 on an invalid code."""
    code = 0
    first = 0
    index = 0
    n_max = MAX_CODE_LENGTH if huff else n_bins
    for n in range(n_max):
        b = _get(huff, state, data, probs, counts, ctx0 + n)
        if b < 0:
            return -1
        if not huff:
            if b == 1:
                return n
            continue
        code |= b
        c = cnt[n + 1]
        if code - first < c:
            return syms[index + code - first]
        index += c
        first += c
        first <<= 1
        code <<= 1
    return -2 if huff else n_bins


@njit(cache=True)
def decode_layer(huff, data, n_bytes, h, w, by, bx, n_planes, spacing, n_levels, max_pixels, state, probs, counts,
                 cnt, syms, pred):
    """Read an edge layer (possibly truncated or corrupt) written by
    :func:`wavecodec.coders._edge_layer.encode`.

    Decodes contours until the input ends or a field is impossible (a contour
    leaving the image, more than ``max_pixels`` pixels in all, an invalid code);
    only complete contours are returned.  Sample levels are rebuilt from the
    residuals (prediction: the previous level on the same side and plane of the
    contour, ``n_levels // 2`` for the first) and clipped to ``0..n_levels-1``.
    ``by`` and ``bx`` are the bits of a start row and column (:func:`bits_for`);
    ``state``, ``probs``, ``counts`` fresh coder models; in Huffman mode ``cnt`` and
    ``syms`` are the canonical decoding tables of the directions (row 0) and the
    residuals (row 1) from :func:`huffman_tables` (the 24 code lengths that start
    the layer are skipped here); ``pred`` is (2, n_planes) int64 scratch.

    Returns (n_contours, per_contour, n_pixels, n_points, pixels): the used rows of
    the buffers described below (the caller slices them).
    """
    # Output buffers, grown by doubling (a corrupt stream cannot make the decoder allocate
    # more than it decodes): ``pixels`` row i holds pixel i (row, column) in columns 0-1 and
    # the levels of point i (side 0 planes, then side 1 planes) in the next 2 * n_planes
    # columns (there are no more points than pixels); ``per_contour`` row c holds the
    # length and the side flag of contour c.  Two arrays rather than five: growing each
    # costs compiled code (measured: the growth of five took a third of this kernel's
    # compile time).
    cap = 1024
    pixels = np.empty((cap, 2 + 2 * n_planes), dtype=np.int32)
    per_contour = np.empty((cap, 2), dtype=np.int64)
    if huff:
        _ac.raw_init(state, 8 * n_bytes)
        for s in range(N_DIR_SYMBOLS + N_RES_SYMBOLS):  # the code lengths, read by huffman_tables
            _get_bits(huff, state, data, probs, counts, _I(0), _I(4))
    else:
        _ac.ac_decoder_init(state, data, n_bytes)
    n = _get_eg(huff, state, data, probs, counts, _CTX_RAW + _RAW_COUNT, _I(4), _I(40))
    if n > max_pixels:
        n = max_pixels
    n_done = 0
    pix = 0
    pts = 0
    for c in range(n):
        if c >= per_contour.shape[0]:
            grown = np.empty((2 * c, 2), dtype=np.int64)
            for i in range(c):
                grown[i, 0] = per_contour[i, 0]
                grown[i, 1] = per_contour[i, 1]
            per_contour = grown
        y = _get_bits(huff, state, data, probs, counts, _CTX_RAW + _RAW_POS, by)
        x = _get_bits(huff, state, data, probs, counts, _CTX_RAW + _RAW_POS, bx)
        if y < 0 or x < 0 or y >= h or x >= w:
            break
        L1 = _get_eg(huff, state, data, probs, counts, _CTX_RAW + _RAW_COUNT, _I(3), _I(40))
        if L1 < 0 or pix + L1 + 1 > max_pixels:
            break
        L = L1 + 1
        side_flag = _get(huff, state, data, probs, counts, _CTX_RAW + _RAW_SIDE)
        if side_flag < 0:
            break
        if side_flag == 1:
            b = _get(huff, state, data, probs, counts, _CTX_RAW + _RAW_SIDE + 1)
            if b < 0:
                break
            side_flag = 1 + b
        ns = 1 if L <= 1 else (L - 2) // spacing + 2  # n_samples(L, spacing)
        if pix + L > cap:  # pts + ns <= pix + L: the points fit too
            while pix + L > cap:
                cap *= 2
            grown = np.empty((cap, 2 + 2 * n_planes), dtype=np.int32)
            for i in range(pix):
                for j in range(2 + 2 * n_planes):
                    grown[i, j] = pixels[i, j]
            pixels = grown
        pixels[pix, 0] = y
        pixels[pix, 1] = x
        good = True
        if L > 1:
            d = _get_bits(huff, state, data, probs, counts, _CTX_RAW + _RAW_DIR, _I(3))
            if d < 0:
                break
            y += DY[d]
            x += DX[d]
            if y < 0 or y >= h or x < 0 or x >= w:
                break
            pixels[pix + 1, 0] = y
            pixels[pix + 1, 1] = x
            prev_class = 0
            for i in range(L - 2):
                s = _get_symbol(huff, state, data, probs, counts, cnt[0], syms[0], _CTX_DIR + 7 * prev_class, _I(7))
                if s < 0:
                    good = False
                    break
                prev_class = 0 if s == 0 else (1 if s <= 2 else 2)
                d = (d + RANK_TURN[s]) & 7
                y += DY[d]
                x += DX[d]
                if y < 0 or y >= h or x < 0 or x >= w:
                    good = False
                    break
                pixels[pix + 2 + i, 0] = y
                pixels[pix + 2 + i, 1] = x
        if not good:
            break
        for side in range(2):
            for p in range(n_planes):
                pred[side, p] = n_levels // 2
        for k in range(ns):
            for side in range(2):
                for p in range(n_planes):
                    s = _get_symbol(huff, state, data, probs, counts, cnt[1], syms[1],
                                    _CTX_RES + ESCAPE * (p if p < 3 else 2), _I(ESCAPE))
                    if s < 0:
                        good = False
                        break
                    u = s
                    if s == ESCAPE:
                        extra = _get_eg(huff, state, data, probs, counts, _CTX_RAW + _RAW_ESC, _I(0), _I(40))
                        if extra < 0:
                            good = False
                            break
                        u = ESCAPE + extra
                    dv = (u >> 1) if (u & 1) == 0 else -((u + 1) >> 1)
                    v = pred[side, p] + dv
                    v = 0 if v < 0 else (n_levels - 1 if v > n_levels - 1 else v)
                    pred[side, p] = v
                    pixels[pts + k, 2 + side * n_planes + p] = v
                if not good:
                    break
            if not good:
                break
        if not good:
            break
        per_contour[c, 0] = L
        per_contour[c, 1] = side_flag
        pix += L
        pts += ns
        n_done += 1
    return n_done, per_contour, pix, pts, pixels


# =============================================================================== inpainting


_WAVE_SWEEPS = 8  # sweeps per pass of the wavefront of _relax (measured: 48 -> 8 is 17% faster at 4096^2)


@njit(cache=True)
def _relax(u, known, iterations, omega, coarse, row, known_split):
    """Red-black SOR sweeps of the 5-point Laplace equation; known pixels fixed, Neumann borders
    (mirrored neighbours).

    Unless ``coarse`` is empty (shape (nc, 0, 0)), the unknown pixels first take the value
    of their 2x2 block in the half-size level ``coarse`` (the cascadic multigrid's
    prolongation).

    The two colours of the checkerboard are stored apart while sweeping: each row of ``u``
    is permuted in place (through the scratch ``row``, at least ``w`` floats) to hold its
    colour-0 pixels (``x = y & 1, y & 1 + 2, ...``) first, then its colour-1 pixels, and
    back at the end; the known flags likewise in ``known_split`` (uint8, at least h x w).
    A pixel's four neighbours are all of the other colour, at index ``j`` of that colour
    in the rows above and below and at ``j + s - 1`` and ``j + s`` in its own row
    (``s = (y + k) & 1`` for colour ``k``), so a row of one colour is a contiguous loop
    that LLVM vectorises.  Within one colour the updates are independent, so the result
    is bit for bit that of the row-wise sweep over the full image (the former kernel):
    the same sum ``north + south + west + east`` for every pixel, the same update.  The
    sweeps run as a wavefront over the rows (see the loop), so that large images are
    not streamed from memory once per sweep.
    Images under 3 pixels on a side are swept in place (:func:`_relax_small`).
    """
    nc, h, w = u.shape
    if h < 3 or w < 3:
        if coarse.shape[1] > 0:
            for y in range(h):
                for x in range(w):
                    if known[y, x] == 0:
                        for c in range(nc):
                            u[c, y, x] = coarse[c, y >> 1, x >> 1]
        _relax_small(u, known, iterations, omega)
        return
    # the permuted rows: the colour-0 pixels of row y are x = (y & 1) + 2 j, the colour-1 ones
    # x = 1 - (y & 1) + 2 j (j from 0), and both have the coarse pixel j of row y >> 1 above them
    for y in range(h):
        s0 = y & 1
        n0 = (w - s0 + 1) >> 1
        k_in = known[y]
        k_out = known_split[y]
        for j in range(n0):
            k_out[j] = k_in[s0 + 2 * j]
        for j in range(w - n0):
            k_out[n0 + j] = k_in[1 - s0 + 2 * j]
    with_coarse = coarse.shape[1] > 0
    half = w >> 1
    evens = row[:half]  # row y's pixels 2 j and 2 j + 1 (both above coarse pixel j), prolonged
    odds = row[half:]
    for c in range(nc):
        p = u[c]
        for y in range(h):
            s0 = y & 1
            n0 = (w - s0 + 1) >> 1
            src = p[y]
            k_in = known[y]
            # the loads are unconditional (selects, not branches): LLVM vectorises the loop
            if with_coarse:
                up = coarse[c, y >> 1]
                for j in range(half):
                    a = src[2 * j]
                    b = src[2 * j + 1]
                    cv = up[j]
                    evens[j] = a if k_in[2 * j] != 0 else cv
                    odds[j] = b if k_in[2 * j + 1] != 0 else cv
                last = src[w - 1]
                if w & 1 and k_in[w - 1] == 0:
                    last = up[half]
            else:
                for j in range(half):
                    evens[j] = src[2 * j]
                    odds[j] = src[2 * j + 1]
                last = src[w - 1]
            # even x is colour 0 on even rows (from 0 in the permuted row), colour 1 on odd ones (from n0)
            to_even = src[n0 * s0:]
            to_odd = src[n0 * (1 - s0):]
            for j in range(half):
                to_even[j] = evens[j]
                to_odd[j] = odds[j]
            if w & 1:
                to_even[half] = last
        # the sweeps as a wavefront: at step t, sweep s (colour s & 1 of iteration s >> 1) updates
        # row t - s.  A row of sweep s needs the rows above, at and below it of sweep s - 1, done
        # at this step or before, and none of them touched yet by sweep s + 1 (that comes after
        # it in this step, or later): the same values as sweeping the whole image 2 * iterations
        # times, with the working set of a few rows in cache instead of the whole image.  The
        # wavefront runs over groups of _WAVE_SWEEPS sweeps, one pass over the image each (the
        # same order of the sweeps for every pixel; fewer rows in flight, so they stay in L2).
        n_all = 2 * iterations
        for g0 in range(0, n_all, _WAVE_SWEEPS):
            n_sweeps = min(_WAVE_SWEEPS, n_all - g0)
            for t in range(h + n_sweeps - 1):
                for sw in range(n_sweeps):
                    sweep = g0 + sw
                    y = t - sw
                    if y < 0:
                        break
                    if y >= h:
                        continue
                    colour = sweep & 1
                    yn = y - 1 if y > 0 else y + 1
                    ys = y + 1 if y < h - 1 else y - 1
                    s = (y + colour) & 1
                    # where each colour starts in a permuted row: 0 for colour 0, n0(row) for colour 1
                    own = 0 if colour == 0 else (w - (y & 1) + 1) >> 1
                    oth_y = (w - (y & 1) + 1) >> 1 if colour == 0 else 0
                    oth_n = (w - (yn & 1) + 1) >> 1 if colour == 0 else 0
                    oth_s = (w - (ys & 1) + 1) >> 1 if colour == 0 else 0
                    n = (w - s + 1) >> 1  # pixels of this colour in the row
                    j0 = 0
                    if s == 0:  # x = 0: both horizontal neighbours are x = 1 (mirrored)
                        if known_split[y, own] == 0:
                            pc = p[y, own]
                            avg = 0.25 * (p[yn, oth_n] + p[ys, oth_s] + p[y, oth_y] + p[y, oth_y])
                            p[y, own] = pc + omega * (avg - pc)
                        j0 = 1
                    j1 = n
                    if ((w - 1 - s) & 1) == 0:  # x = w - 1 is of this colour: east mirrored to west
                        j1 = n - 1
                        if known_split[y, own + j1] == 0:
                            pc = p[y, own + j1]
                            west = p[y, oth_y + j1 + s - 1]
                            avg = 0.25 * (p[yn, oth_n + j1] + p[ys, oth_s + j1] + west + west)
                            p[y, own + j1] = pc + omega * (avg - pc)
                    # row views from j0 on: indices from 0 up, which LLVM vectorises without gathers
                    c_row = p[y, own + j0:]
                    k_row = known_split[y, own + j0:]
                    n_row = p[yn, oth_n + j0:]
                    s_row = p[ys, oth_s + j0:]
                    w_row = p[y, oth_y + j0 + s - 1:]
                    e_row = p[y, oth_y + j0 + s:]
                    for i in range(j1 - j0):
                        pc = c_row[i]
                        avg = 0.25 * (n_row[i] + s_row[i] + w_row[i] + e_row[i])
                        c_row[i] = pc if k_row[i] != 0 else pc + omega * (avg - pc)
        for y in range(h):  # back to the natural order
            s0 = y & 1
            n0 = (w - s0 + 1) >> 1
            dst = p[y]
            for x in range(w):
                row[x] = dst[x]
            even = row[n0 * s0:]
            odd = row[n0 * (1 - s0):]
            for j in range(half):
                dst[2 * j] = even[j]
                dst[2 * j + 1] = odd[j]
            if w & 1:
                dst[w - 1] = even[half]


@_helper
def _relax_small(u, known, iterations, omega):
    """The sweeps of :func:`_relax` row by row over the full image (any size, for the tiny levels)."""
    nc, h, w = u.shape
    for c in range(nc):
        p = u[c]
        for _ in range(iterations):
            for colour in range(2):
                for y in range(h):
                    yn = y - 1 if y > 0 else (y + 1 if h > 1 else y)
                    ysu = y + 1 if y < h - 1 else (y - 1 if h > 1 else y)
                    for x in range((y + colour) & 1, w, 2):
                        if known[y, x] != 0:
                            continue
                        xw = x - 1 if x > 0 else (x + 1 if w > 1 else x)
                        xe = x + 1 if x < w - 1 else (x - 1 if w > 1 else x)
                        avg = 0.25 * (p[yn, x] + p[ysu, x] + p[y, xw] + p[y, xe])
                        p[y, x] += omega * (avg - p[y, x])


@njit(cache=True)
def _restrict(u, known, u2, k2, cnt):
    """Half-size level into the zeroed ``u2`` (nc, h2, w2), ``k2`` (h2, w2) and the scratch
    ``cnt`` (h2, w2): the mean of the known pixels of each 2x2 block (unknown if none)."""
    nc, h, w = u.shape
    h2, w2 = k2.shape
    for y in range(h):
        for x in range(w):
            if known[y, x] != 0:
                cnt[y >> 1, x >> 1] += 1.0
                for c in range(nc):
                    u2[c, y >> 1, x >> 1] += u[c, y, x]
    for y in range(h2):
        for x in range(w2):
            if cnt[y, x] > 0:
                k2[y, x] = 1
                for c in range(nc):
                    u2[c, y, x] /= cnt[y, x]


def inpaint(values, known, fine_iterations, overwrite=False):
    """Homogeneous diffusion inpainting: harmonic interpolation of ``values`` (C, H, W)
    from the pixels where ``known`` is 1 (Dirichlet), Neumann at the image border.

    Cascadic multigrid: the known data are averaged down a pyramid of 2x2 blocks
    to a few pixels; the coarsest level is solved by many SOR sweeps, and each
    finer level starts from the upsampled coarser solution and runs a fixed number
    of SOR sweeps (more on small levels).  The result is deterministic and the same
    in encoder and decoder.  With no known pixel the result is all zeros.

    The whole image at once: :func:`inpaint_bands` with one band (with ``overwrite`` the
    result is written into ``values`` when it is a float64 C-contiguous array).
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    known = np.ascontiguousarray(known, dtype=np.uint8)
    nc, h, w = values.shape
    flat = np.flatnonzero(known)
    data = values.reshape(nc, h * w)[:, flat]
    out = values if overwrite else np.empty_like(values)
    for r0, r1, band in inpaint_bands(flat, data, h, w, fine_iterations, band_rows=h):
        out[:, r0:r1] = band
    return out


def _mapped_zeros(shape, dtype):
    return zeroed_buffer(shape, dtype, huge=True)


def _mapped_empty(n, dtype):
    return list_buffer(n, dtype, huge=True)


def _level_one(flat, data, h, w, mapped=False):
    """The half-size level of the pyramid from the known pixels ``flat`` (sorted flat indices) and
    their ``data`` (C, n): per 2x2 block the mean of its known pixels, summed in raster order
    (the additions of :func:`_restrict` on the full-size level, so the same bits), and the
    block's known flag."""
    h2, w2 = (h + 1) // 2, (w + 1) // 2
    y = flat // w
    block = (y >> 1) * w2 + ((flat - y * w) >> 1)
    # per written block only (no count or sum over every block: 8 bytes each, transiently, at
    # the peak of a big decode); the sums are bincount's over the same pixels in the same order
    blocks, inverse, count = np.unique(block, return_inverse=True, return_counts=True)
    count = count.astype(np.float64)
    zeros = _mapped_zeros if mapped else np.zeros
    known = zeros(h2 * w2, np.uint8)
    known[blocks] = 1
    u2 = zeros((data.shape[0], h2 * w2), np.float64)
    for c in range(data.shape[0]):
        u2[c, blocks] = np.bincount(inverse, data[c], blocks.size) / count
    return u2.reshape(-1, h2, w2), known.reshape(h2, w2)


def inpaint_bands(flat, data, h, w, fine_iterations, band_rows, mapped=False):
    """:func:`inpaint` of the known pixels ``flat`` (sorted flat indices into H x W) with the
    values ``data`` (C, n), produced as bands of rows: yields ``(r0, r1, u)`` with ``u``
    (C, r1 - r0, W) float64 the finished rows ``r0 .. r1 - 1``, top to bottom (``u`` is a view
    of one buffer for all bands: copy what you keep before asking for the next band).

    The same values, bit for bit, as inpainting the whole image, in memory for the
    half-size level and one band: the pyramid starts at the half-size level (the
    2x2 means taken straight from the known pixels), and the full-size sweeps run band
    by band, each band with ``2 * fine_iterations`` more rows on each side (a sweep
    moves information by one row, so the rows beyond a band's cut, whose mirrored
    border is wrong, cannot reach the band after that many sweeps); ``band_rows`` is
    rounded up to even (a band starts on an even row: same checkerboard, same blocks).
    ``mapped`` (the caller's choice for big images): the levels and the band buffers are memory
    maps of their own (:mod:`.pages`, huge pages requested), which go back to the system
    when freed instead of staying in the allocator's heap; small images keep ordinary arrays,
    which the heap reuses from call to call without page faults (kodim01's encode took
    1.1-1.2x the time with maps).
    """
    flat = np.asarray(flat, dtype=np.int64)
    data = np.ascontiguousarray(data, dtype=np.float64)
    nc = data.shape[0]
    zeros, empty = (_mapped_zeros, _mapped_empty) if mapped else (np.zeros, np.empty)
    band_rows = max(2, band_rows + (band_rows & 1))
    if flat.size == 0:
        for r0 in range(0, h, band_rows):
            yield r0, min(h, r0 + band_rows), np.zeros((nc, min(h, r0 + band_rows) - r0, w))
        return
    if h <= 4 and w <= 4:  # the full-size level is the coarsest
        us, ks = [np.zeros((nc, h * w))], [np.zeros(h * w, dtype=np.uint8)]
        us[0][:, flat] = data
        ks[0][flat] = 1
        us[0], ks[0] = us[0].reshape(nc, h, w), ks[0].reshape(h, w)
    else:
        us, ks = map(list, zip(_level_one(flat, data, h, w, mapped)))
    while us[-1].shape[1] > 4 or us[-1].shape[2] > 4:
        hh, ww = us[-1].shape[1:]
        h2, w2 = (hh + 1) // 2, (ww + 1) // 2
        u2 = zeros((nc, h2, w2), np.float64)
        k2 = zeros((h2, w2), np.uint8)
        _restrict(us[-1], ks[-1], u2, k2, zeros((h2, w2), np.float64))
        us.append(u2)
        ks.append(k2)
    # coarsest (at most 4 x 4): start from the mean of the known values, summed in
    # raster order (as the former kernel did: the sum's rounding is part of the output)
    u = us[-1]
    kk = ks[-1].astype(bool)
    for c in range(nc):
        s = 0.0
        for v in u[c][kk].tolist():
            s += v
        m = float(np.count_nonzero(kk))
        u[c][~kk] = s / m if m > 0 else 0.0
    # scratch of _relax, sized for the largest level it sweeps (a row, the permuted known flags)
    row = np.empty(w)
    known_split = empty(us[0].shape[1] * us[0].shape[2], np.uint8).reshape(us[0].shape[1:])
    _relax(u, ks[-1], 200, 1.5, np.zeros((nc, 0, 0)), row, known_split)
    if len(us) == 1 and us[0].shape[1:] == (h, w):
        yield 0, h, us[0]
        return
    for lev in range(len(us) - 2, -1, -1):
        _relax(us[lev], ks[lev], 2 * fine_iterations, 1.8, us[lev + 1], row, known_split)
    coarse = us[0]
    del us, ks, u
    halo = 2 * fine_iterations  # even
    known_split = None
    # one buffer for every band (the kernel sets each pixel: the known ones are written here,
    # the others prolonged from ``coarse``), so that no band pays for fresh pages
    max_rows = min(h, band_rows + 2 * halo)
    u_all = empty(nc * max_rows * w, np.float64)
    known_all = empty(max_rows * w, np.uint8)
    for r0 in range(0, h, band_rows):
        r1 = min(h, r0 + band_rows)
        a, b = max(0, r0 - halo), min(h, r1 + halo)  # ``a`` is even
        u = u_all[: nc * (b - a) * w].reshape(nc, (b - a) * w)
        known = known_all[: (b - a) * w]
        known[:] = 0
        i0, i1 = np.searchsorted(flat, [a * w, b * w])
        local = flat[i0:i1] - a * w
        u[:, local] = data[:, i0:i1]
        known[local] = 1
        if known_split is None or known_split.shape[0] < b - a:
            known_split = empty((b - a) * w, np.uint8).reshape(b - a, w)
        _relax(u.reshape(nc, b - a, w), known.reshape(b - a, w), fine_iterations, 1.8,
               np.ascontiguousarray(coarse[:, a >> 1 : (b + 1) >> 1]), row, known_split)
        del known
        if r1 == h:  # the last band: what the caller does with it need not share memory with these
            del coarse, known_split, known_all
        yield r0, r1, u.reshape(nc, b - a, w)[:, r0 - a : r1 - a]


# =============================================================================== decoding big images


@njit(cache=True)
def add_narrowed_rows(narrowed, base, out, maxval, slack, near_at, near_base):
    """Rows of a canny-spiht image from its float32 residual: ``out`` (rows, W, C) = the base
    ``base`` (C, rows, W) plus the residual ``narrowed`` (C, rows, W) as float64 (through
    the inverse ICT when C = 3: ``R = Y + 1.402 Cr``, ``G = Y - 0.344136 Cb - 0.714136 Cr``,
    ``B = Y + 1.772 Cb``), rounded half to even and clipped to ``0 .. maxval``.

    A sample whose value lies within ``slack * (2**-22 * s + 2**-40 * (|value| + 1))`` of a
    half-integer, ``s = |Y| + 1.772 |Cb| + 1.402 |Cr|`` (``|residual|`` in gray), is *near*:
    the float32 rounding of the residual (at most ``2**-24`` of each value) and the
    float64 arithmetic could have moved it across the rounding boundary.  Its flat index
    into ``out`` and its base value go to ``near_at`` and ``near_base`` (at least
    ``rows * W * C`` long); returns how many.  (The caller recomputes those samples from
    the float64 residual; every other sample rounds as the float64 sum does.)
    """
    nc, rows, w = narrowed.shape
    n = 0
    rgb = np.empty(3)
    for y in range(rows):
        for x in range(w):
            if nc == 3:
                luma = np.float64(narrowed[0, y, x])
                cb = np.float64(narrowed[1, y, x])
                cr = np.float64(narrowed[2, y, x])
                rgb[0] = luma + 1.402 * cr
                rgb[1] = luma - 0.344136 * cb - 0.714136 * cr
                rgb[2] = luma + 1.772 * cb
                scale = abs(luma) + 1.772 * abs(cb) + 1.402 * abs(cr)
            else:
                rgb[0] = np.float64(narrowed[0, y, x])
                scale = abs(rgb[0])
            for ch in range(nc):
                b = base[ch, y, x]
                v = b + rgb[ch]
                gap = abs(v - np.floor(v) - 0.5)
                if gap <= slack * (2.0 ** -22 * scale + 2.0 ** -40 * (abs(v) + 1.0)):
                    near_at[n] = (y * w + x) * nc + ch
                    near_base[n] = b
                    n += 1
                v = np.rint(v)
                v = 0.0 if v < 0.0 else (maxval if v > maxval else v)
                out[y, x, ch] = v
    return n
