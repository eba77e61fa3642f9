"""Numba kernels of the canny-spiht edge layer: contour tracing, the bit-level coder
of the contours (canonical Huffman or adaptive arithmetic) and the Laplace
inpainting solver.  Plain arrays in and out; the policy is in
:mod:`wavecodec.coders._edge_layer`.

These loops are per pixel / per bit with data-dependent control flow (tracing a
chain, decoding a variable-length code, Gauss-Seidel sweeps), which NumPy cannot
vectorise; in Numba they take milliseconds on a 768x512 image.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import arith as _ac

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
def trace_chains(edge):
    """Split a thin edge map (uint8, 1 = edge) into 8-connected pixel chains.

    Raster scan; each unvisited edge pixel seeds a chain, which is extended
    forwards and then backwards (4-neighbours preferred over diagonals, in a fixed
    order) through unvisited edge pixels.  Returns (lengths, ys, xs): the chains'
    pixels concatenated, each chain ordered from one end to the other.
    """
    h, w = edge.shape
    seen = np.zeros((h, w), dtype=np.uint8)
    n_edge = 0
    for y in range(h):
        for x in range(w):
            if edge[y, x] != 0:
                n_edge += 1
    ys = np.empty(n_edge, dtype=np.int32)
    xs = np.empty(n_edge, dtype=np.int32)
    lengths = np.empty(n_edge, dtype=np.int64)
    fwd_y = np.empty(n_edge, dtype=np.int32)
    fwd_x = np.empty(n_edge, dtype=np.int32)
    bwd_y = np.empty(n_edge, dtype=np.int32)
    bwd_x = np.empty(n_edge, dtype=np.int32)
    order = np.array([0, 2, 4, 6, 1, 3, 5, 7], dtype=np.int64)  # 4-neighbours first
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
                        d = order[k]
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
    return lengths[:n_chains].copy(), ys, xs


# =============================================================================== bit I/O


@njit(cache=True)
def canonical_codes(lengths):
    """Canonical Huffman codes (RFC 1951, 3.2.2) for code ``lengths`` (0 = unused symbol)."""
    count = np.zeros(MAX_CODE_LENGTH + 2, dtype=np.int64)
    for s in range(lengths.shape[0]):
        count[lengths[s]] += 1
    count[0] = 0
    next_code = np.zeros(MAX_CODE_LENGTH + 2, dtype=np.int64)
    code = 0
    for n in range(1, MAX_CODE_LENGTH + 1):
        code = (code + count[n - 1]) << 1
        next_code[n] = code
    codes = np.zeros(lengths.shape[0], dtype=np.int64)
    for s in range(lengths.shape[0]):
        if lengths[s] > 0:
            codes[s] = next_code[lengths[s]]
            next_code[lengths[s]] += 1
    return codes


@njit(cache=True)
def _kraft_ok(lengths):
    """True if the lengths form a prefix code (not over-subscribed)."""
    total = 0
    for s in range(lengths.shape[0]):
        if lengths[s] > 0:
            total += 1 << (MAX_CODE_LENGTH - lengths[s])
    return total <= (1 << MAX_CODE_LENGTH)


@njit(cache=True)
def _put(huff, state, out, probs, counts, ctx, bit):
    if huff:
        _ac.raw_write_bit(state, out, bit)
    else:
        _ac.ac_encode_bit(state, out, probs, counts, ctx, bit)


@njit(cache=True)
def _get(huff, state, data, probs, counts, ctx):
    if huff:
        return _ac.raw_read_bit(state, data)
    return _ac.ac_decode_bit(state, data, probs, counts, ctx)


@njit(cache=True)
def _put_bits(huff, state, out, probs, counts, ctx, value, n):
    for i in range(n - 1, -1, -1):
        _put(huff, state, out, probs, counts, ctx, (value >> i) & 1)


@njit(cache=True)
def _get_bits(huff, state, data, probs, counts, ctx, n):
    v = 0
    for _ in range(n):
        b = _get(huff, state, data, probs, counts, ctx)
        if b < 0:
            return -1
        v = (v << 1) | b
    return v


@njit(cache=True)
def _put_eg(huff, state, out, probs, counts, ctx, value, k):
    """Exp-Golomb code of order k of ``value`` >= 0."""
    v = value + (1 << k)
    nbits = 0
    t = v
    while t > 0:
        nbits += 1
        t >>= 1
    for _ in range(nbits - 1 - k):
        _put(huff, state, out, probs, counts, ctx, _I(0))
    _put_bits(huff, state, out, probs, counts, ctx, v, nbits)


@njit(cache=True)
def _get_eg(huff, state, data, probs, counts, ctx, k, max_prefix):
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


@njit(cache=True)
def _put_symbol(huff, state, out, probs, counts, sym, codes, lens, ctx0, n_bins):
    """A symbol: its Huffman code, or truncated unary bins in contexts ctx0 + bin."""
    if huff:
        _put_bits(huff, state, out, probs, counts, _I(0), codes[sym], lens[sym])
    else:
        for b in range(n_bins):
            if b == sym:
                _ac.ac_encode_bit(state, out, probs, counts, ctx0 + b, 1)
                return
            _ac.ac_encode_bit(state, out, probs, counts, ctx0 + b, 0)


@njit(cache=True)
def _get_symbol(huff, state, data, probs, counts, cnt, syms, ctx0, n_bins):
    """Inverse of :func:`_put_symbol`; -1 when the input is exhausted, -2 on an invalid code."""
    if huff:
        code = 0
        first = 0
        index = 0
        for n in range(1, MAX_CODE_LENGTH + 1):
            b = _ac.raw_read_bit(state, data)
            if b < 0:
                return -1
            code |= b
            c = cnt[n]
            if code - first < c:
                return syms[index + code - first]
            index += c
            first += c
            first <<= 1
            code <<= 1
        return -2
    for b in range(n_bins):
        bit = _ac.ac_decode_bit(state, data, probs, counts, ctx0 + b)
        if bit < 0:
            return -1
        if bit == 1:
            return b
    return n_bins


@njit(cache=True)
def _bits_for(n):
    b = 0
    while (1 << b) < n:
        b += 1
    return b


@njit(cache=True)
def n_samples(length, spacing):
    """Sample points of a contour of ``length`` pixels: indices 0, s, 2s, ... and the last one."""
    if length <= 1:
        return 1
    return (length - 2) // spacing + 2


@njit(cache=True)
def encode_layer(huff, h, w, n_planes, spacing, lengths, y0, x0, dir0, turns, res, pixel_side, dir_lens, res_lens,
                 capacity):
    """Write the edge layer; returns (bytes, n_bytes).

    Layout: [Huffman mode: 8 + 16 code lengths, 4 bits each] number of contours
    (Exp-Golomb k=4), then per contour: start row and column (raw bits), length-1
    (Exp-Golomb k=3), the contour-pixel side (0 / 10 / 11), first direction (3 bits), ``length-2`` turn symbols, and the
    sample residual symbols (``n_samples`` points x 2 sides x planes; symbols
    >= ESCAPE carry an Exp-Golomb k=0 remainder).
    """
    out = np.zeros(capacity, dtype=np.uint8)
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    probs = np.full((N_CONTEXTS, 2), _ac.PROB_HALF, dtype=np.int32)
    counts = np.zeros(N_CONTEXTS, dtype=np.int32)
    if huff:
        _ac.raw_init(state, 8 * capacity)
        for s in range(N_DIR_SYMBOLS):
            _put_bits(huff, state, out, probs, counts, _I(0), dir_lens[s], _I(4))
        for s in range(N_RES_SYMBOLS):
            _put_bits(huff, state, out, probs, counts, _I(0), res_lens[s], _I(4))
    else:
        _ac.ac_encoder_init(state, capacity)
    dir_codes = canonical_codes(dir_lens)
    res_codes = canonical_codes(res_lens)
    by = _bits_for(h)
    bx = _bits_for(w)
    n = lengths.shape[0]
    _put_eg(huff, state, out, probs, counts, _CTX_RAW + _RAW_COUNT, n, _I(4))
    t = 0
    r = 0
    for c in range(n):
        L = lengths[c]
        _put_bits(huff, state, out, probs, counts, _CTX_RAW + _RAW_POS, y0[c], by)
        _put_bits(huff, state, out, probs, counts, _CTX_RAW + _RAW_POS, x0[c], bx)
        _put_eg(huff, state, out, probs, counts, _CTX_RAW + _RAW_COUNT, L - 1, _I(3))
        # which value the contour pixels take: 0 diffused, 1 side 0, 2 side 1 (0 / 10 / 11)
        _put(huff, state, out, probs, counts, _CTX_RAW + _RAW_SIDE, 1 if pixel_side[c] > 0 else 0)
        if pixel_side[c] > 0:
            _put(huff, state, out, probs, counts, _CTX_RAW + _RAW_SIDE + 1, pixel_side[c] - 1)
        if L > 1:
            _put_bits(huff, state, out, probs, counts, _CTX_RAW + _RAW_DIR, dir0[c], _I(3))
        prev_class = 0
        for i in range(L - 2):
            s = turns[t]
            t += 1
            _put_symbol(huff, state, out, probs, counts, s, dir_codes, dir_lens, _CTX_DIR + 7 * prev_class, _I(7))
            prev_class = 0 if s == 0 else (1 if s <= 2 else 2)
        for k in range(n_samples(L, spacing)):
            for side in range(2):
                for p in range(n_planes):
                    u = res[r]
                    r += 1
                    s = u if u < ESCAPE else ESCAPE
                    _put_symbol(huff, state, out, probs, counts, s, res_codes, res_lens,
                                _CTX_RES + ESCAPE * (p if p < 3 else 2), _I(ESCAPE))
                    if s == ESCAPE:
                        _put_eg(huff, state, out, probs, counts, _CTX_RAW + _RAW_ESC, u - ESCAPE, _I(0))
    if huff:
        n_bytes = (_ac.position(state) + 7) // 8
    else:
        n_bytes = _ac.ac_encoder_flush(state, out)
    return out, n_bytes


@njit(cache=True)
def decode_layer(huff, data, n_bytes, h, w, n_planes, spacing, n_levels, max_pixels):
    """Read an edge layer (possibly truncated or corrupt) written by :func:`encode_layer`.

    Decodes contours until the input ends or a field is impossible (a contour
    leaving the image, more than ``max_pixels`` pixels in all, an invalid code);
    only complete contours are returned.  Sample levels are rebuilt from the
    residuals (prediction: the previous level on the same side and plane of the
    contour, ``n_levels // 2`` for the first) and clipped to ``0..n_levels-1``.
    Returns (lengths, ys, xs, levels, sides) with levels of shape (n_points, 2, n_planes)
    and sides the contour-pixel flag of each contour.
    """
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    probs = np.full((N_CONTEXTS, 2), _ac.PROB_HALF, dtype=np.int32)
    counts = np.zeros(N_CONTEXTS, dtype=np.int32)
    dir_cnt = np.zeros(MAX_CODE_LENGTH + 1, dtype=np.int64)
    res_cnt = np.zeros(MAX_CODE_LENGTH + 1, dtype=np.int64)
    dir_syms = np.zeros(N_DIR_SYMBOLS, dtype=np.int64)
    res_syms = np.zeros(N_RES_SYMBOLS, dtype=np.int64)
    lengths = np.zeros(0, dtype=np.int64)
    cap = 1024  # grown by doubling: a corrupt stream cannot make the decoder allocate more than it decodes
    ys = np.zeros(cap, dtype=np.int32)
    xs = np.zeros(cap, dtype=np.int32)
    levels = np.zeros((cap, 2, n_planes), dtype=np.int32)
    ok = True
    if huff:
        _ac.raw_init(state, 8 * n_bytes)
        dir_lens = np.zeros(N_DIR_SYMBOLS, dtype=np.int64)
        res_lens = np.zeros(N_RES_SYMBOLS, dtype=np.int64)
        for s in range(N_DIR_SYMBOLS):
            v = _get_bits(huff, state, data, probs, counts, _I(0), _I(4))
            if v < 0:
                ok = False
            dir_lens[s] = max(v, 0)
        for s in range(N_RES_SYMBOLS):
            v = _get_bits(huff, state, data, probs, counts, _I(0), _I(4))
            if v < 0:
                ok = False
            res_lens[s] = max(v, 0)
        if not (_kraft_ok(dir_lens) and _kraft_ok(res_lens)):
            ok = False
        # canonical decoding tables: code counts per length, symbols in canonical order
        k = 0
        for n in range(1, MAX_CODE_LENGTH + 1):
            for s in range(N_DIR_SYMBOLS):
                if dir_lens[s] == n:
                    dir_syms[k] = s
                    k += 1
                    dir_cnt[n] += 1
        k = 0
        for n in range(1, MAX_CODE_LENGTH + 1):
            for s in range(N_RES_SYMBOLS):
                if res_lens[s] == n:
                    res_syms[k] = s
                    k += 1
                    res_cnt[n] += 1
    else:
        _ac.ac_decoder_init(state, data, n_bytes)
    if not ok:
        return lengths, ys[:0].copy(), xs[:0].copy(), levels[:0].copy(), lengths.copy()
    by = _bits_for(h)
    bx = _bits_for(w)
    n = _get_eg(huff, state, data, probs, counts, _CTX_RAW + _RAW_COUNT, _I(4), _I(40))
    if n < 0:
        n = 0
    n = min(n, max_pixels)
    lengths = np.zeros(min(n, 1 << 20), dtype=np.int64)
    sides = np.zeros(min(n, 1 << 20), dtype=np.int64)
    n_done = 0
    pix = 0
    pts = 0
    pred = np.zeros((2, n_planes), dtype=np.int64)
    for c in range(n):
        if c >= lengths.shape[0]:
            lengths2 = np.zeros(2 * lengths.shape[0], dtype=np.int64)
            lengths2[:c] = lengths[:c]
            lengths = lengths2
            sides2 = np.zeros(2 * sides.shape[0], dtype=np.int64)
            sides2[:c] = sides[:c]
            sides = sides2
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
        while pix + L > cap:
            cap *= 2
            ys2 = np.zeros(cap, dtype=np.int32)
            xs2 = np.zeros(cap, dtype=np.int32)
            lv2 = np.zeros((cap, 2, n_planes), dtype=np.int32)
            ys2[:pix] = ys[:pix]
            xs2[:pix] = xs[:pix]
            lv2[:pts] = levels[:pts]
            ys, xs, levels = ys2, xs2, lv2
        ys[pix] = y
        xs[pix] = x
        good = True
        if L > 1:
            d = _get_bits(huff, state, data, probs, counts, _CTX_RAW + _RAW_DIR, _I(3))
            if d < 0:
                break
            y += DY[d]
            x += DX[d]
            if y < 0 or y >= h or x < 0 or x >= w:
                break
            ys[pix + 1] = y
            xs[pix + 1] = x
            prev_class = 0
            for i in range(L - 2):
                s = _get_symbol(huff, state, data, probs, counts, dir_cnt, dir_syms, _CTX_DIR + 7 * prev_class, _I(7))
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
                ys[pix + 2 + i] = y
                xs[pix + 2 + i] = x
        if not good:
            break
        ns = n_samples(L, spacing)
        for side in range(2):
            for p in range(n_planes):
                pred[side, p] = n_levels // 2
        for k in range(ns):
            for side in range(2):
                for p in range(n_planes):
                    s = _get_symbol(huff, state, data, probs, counts, res_cnt, res_syms,
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
                    v = min(max(v, 0), n_levels - 1)
                    pred[side, p] = v
                    levels[pts + k, side, p] = v
                if not good:
                    break
            if not good:
                break
        if not good:
            break
        lengths[c] = L
        sides[c] = side_flag
        pix += L
        pts += ns
        n_done += 1
    return lengths[:n_done].copy(), ys[:pix].copy(), xs[:pix].copy(), levels[:pts].copy(), sides[:n_done].copy()


# =============================================================================== inpainting


@njit(cache=True)
def _relax(u, known, iterations, omega):
    """Red-black SOR sweeps of the 5-point Laplace equation; known pixels fixed, Neumann borders
    (mirrored neighbours).  One plane at a time, row-wise, for cache-friendly access."""
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
def _restrict(u, known):
    """Half-size level: mean of the known pixels of each 2x2 block (unknown if none)."""
    nc, h, w = u.shape
    h2 = (h + 1) // 2
    w2 = (w + 1) // 2
    u2 = np.zeros((nc, h2, w2))
    k2 = np.zeros((h2, w2), dtype=np.uint8)
    cnt = np.zeros((h2, w2))
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
    return u2, k2


@njit(cache=True)
def inpaint(values, known, fine_iterations):
    """Homogeneous diffusion inpainting: harmonic interpolation of ``values`` (C, H, W)
    from the pixels where ``known`` is 1 (Dirichlet), Neumann at the image border.

    Cascadic multigrid: the known data are averaged down a pyramid of 2x2 blocks
    to a few pixels; the coarsest level is solved by many SOR sweeps, and each
    finer level starts from the upsampled coarser solution and runs a fixed number
    of SOR sweeps (more on small levels).  The result is deterministic and the same
    in encoder and decoder.  With no known pixel the result is all zeros.
    """
    nc, h, w = values.shape
    any_known = False
    for y in range(h):
        for x in range(w):
            if known[y, x] != 0:
                any_known = True
    u0 = values.copy()
    if not any_known:
        return np.zeros_like(values)
    # pyramid
    us = [u0]
    ks = [known.copy()]
    while us[-1].shape[1] > 4 or us[-1].shape[2] > 4:
        a, b = _restrict(us[-1], ks[-1])
        us.append(a)
        ks.append(b)
    top = len(us) - 1
    # coarsest: start from the mean of the known values
    u = us[top]
    kk = ks[top]
    _, hc, wc = u.shape
    for c in range(nc):
        s = 0.0
        m = 0.0
        for y in range(hc):
            for x in range(wc):
                if kk[y, x] != 0:
                    s += u[c, y, x]
                    m += 1.0
        mean = s / m if m > 0 else 0.0
        for y in range(hc):
            for x in range(wc):
                if kk[y, x] == 0:
                    u[c, y, x] = mean
    _relax(u, kk, _I(200), 1.5)
    for lev in range(top - 1, -1, -1):
        fine = us[lev]
        kf = ks[lev]
        coarse = us[lev + 1]
        _, hf, wf = fine.shape
        for y in range(hf):
            for x in range(wf):
                if kf[y, x] == 0:
                    for c in range(nc):
                        fine[c, y, x] = coarse[c, y >> 1, x >> 1]
        iters = fine_iterations if lev == 0 else fine_iterations * 2
        _relax(fine, kf, iters, 1.8)
    return us[0]


@njit(cache=True)
def side_constraints(lengths, ys, xs, offset, h, w):
    """Pixels on both sides of every contour pixel: the contour normal (rounded to a
    unit 8-neighbour step) times ``offset``.  Returns (sy, sx) of shape (n_pixels, 2),
    -1 where the side pixel falls outside the image.
    """
    n_pix = ys.shape[0]
    sy = np.full((n_pix, 2), -1, dtype=np.int64)
    sx = np.full((n_pix, 2), -1, dtype=np.int64)
    start = 0
    for c in range(lengths.shape[0]):
        L = lengths[c]
        for i in range(L):
            a = start + (i - 1 if i > 0 else i)
            b = start + (i + 1 if i < L - 1 else i)
            ty = float(ys[b] - ys[a])
            tx = float(xs[b] - xs[a])
            norm = np.sqrt(ty * ty + tx * tx)
            if norm == 0.0:
                ny, nx = 0, 1  # a lone pixel: left / right
            else:
                # normal (tx, -ty) / |t|, rounded to -1, 0, 1 (sqrt(2)/2 rounds to 1)
                ny = int(np.round(tx / norm * 1.2))
                nx = int(np.round(-ty / norm * 1.2))
                ny = max(-1, min(1, ny))
                nx = max(-1, min(1, nx))
            for side in range(2):
                sgn = 1 if side == 0 else -1
                yy = ys[start + i] + sgn * offset * ny
                xx = xs[start + i] + sgn * offset * nx
                if 0 <= yy < h and 0 <= xx < w:
                    sy[start + i, side] = yy
                    sx[start + i, side] = xx
        start += L
    return sy, sx
