"""Vector-quantisation kernels: nearest-codeword search, Lloyd (LBG) steps, and the
index / codebook coders on the shared arithmetic coder.

Plain arrays in and out, no policy; :mod:`wavecodec.coders.vq_dct` drives them.

Nearest-codeword search.  Exhaustive search costs M*N*K multiply-adds.  The kernel
sorts the codebook by its first coordinate (the DC coefficient of a DCT vector,
which carries most of the energy), starts from a guessed codeword (the previous
assignment during Lloyd iterations), and walks outwards in both directions of the
sorted order until the squared DC gap alone exceeds the best distance found;
each distance is accumulated with partial distance elimination (stop as soon as
the partial sum passes the best).  Both are exact: the result is the true nearest
codeword (ties go to the guess, then to the codeword met first), so the search
is deterministic for given inputs.  On 4x4 DCT vectors of a natural image this is
10-30x faster than the exhaustive search (see ``benchmarks/bench_vq.py``).  But where a
vector's window is wide (a textured block, few codewords) the walk visits most of the
codebook one codeword at a time, and a loop over all codewords that the compiler
vectorises (the codebook transposed) is faster: on kodim01's 24,576 vectors (textured)
0.9 / 6.8 / 23 ms instead of 2.0 / 11.6 / 31 ms with 16 / 128 / 512 codewords, while on
smooth kodim03 the walk wins (7.7 ms against 24.6 at 512).  So each vector takes the
full comparison when its window holds more than N / :data:`WALK_COST` codewords
(two binary searches tell), else the walk.

Entropy-constrained assignment (:func:`rd_assign`).  Visits the blocks in the index
coder's raster order and gives each the codeword of least squared error + lam x
index bits, the bits priced per coder decision from a previous assignment's
counts (:func:`index_decision_counts`); the same DC-ordered walk bounds the search
(with a bound on the AC norms as in :func:`nearest`, and a guessed codeword, such as the
previous round's choice, to start from), or, for small codebooks, every codeword is
compared as above.

Coders.  All symbols are binary decisions through :mod:`.arith` (adaptive binary
range coder):

* an index: "equal to the left index?" (context: whether up equals left), then
  "equal to the up index?", then the index in ``ceil(log2 N)`` binary-tree
  decisions whose contexts are the tree node and the top two bits of the left
  index (codebooks are sorted by DC, so the top bits say how bright the left
  block is);
* a codebook: codewords sorted by quantised DC; DC as a non-negative difference
  from the previous codeword's DC, the other coefficients as zero flag, sign and
  magnitude - 1, with adaptive Exp-Golomb binarisation, contexts per coefficient
  position.

Compile time.  The kernels allocate nothing and sort nothing: the Python functions
of the same names sort the codebook (``np.argsort``) and allocate the work arrays,
then call a kernel (each ``np.empty``/``np.full``/``np.argsort`` inside a kernel
compiles its own implementation).  The coders meet the arithmetic coder in one
place each way (:func:`_encode_decisions`, :func:`_decode_bit`, compiled once and
called), instead of an inlined copy of the coder at every decision.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .arith import ac_decode_bit, ac_encode_bit
from .jit import array_helper, helper, kernel

# --------------------------------------------------------------------------- search


@array_helper
def _partial_distance(x, m, c, n, s, bound):
    """``s + |x[m] - c[n]|^2``, stopping as soon as the sum reaches ``bound`` (partial
    distance elimination: the result is then some value >= bound)."""
    for j in range(x.shape[1]):
        d = x[m, j] - c[n, j]
        s += d * d
        if s >= bound:
            break
    return s


@array_helper
def _first_not_below(sorted_values, x):
    """Binary search: the first position whose value is >= x (len(sorted_values) if none)."""
    lo = 0
    hi = sorted_values.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _dc_order(codebook: np.ndarray) -> np.ndarray:
    """Codeword numbers in order of non-decreasing DC (stable: ties in codeword order)."""
    return np.argsort(codebook[:, 0], kind="stable")


def nearest(vectors, codebook, guess, assign, dist) -> float:
    """Assign every vector to its nearest codeword (squared Euclidean distance).

    ``guess[m]`` is a starting codeword for vector m (any value outside 0..N-1
    means none).  Writes ``assign`` (int32) and ``dist`` (squared distances) and
    returns the total squared error.
    """
    order, rank, sorted_cb, sorted_dc, sorted_t = _sorted_codebook_arrays(codebook)
    n_code = order.shape[0]
    return _nearest(vectors, sorted_cb, sorted_dc, sorted_t, order, rank, np.empty(n_code), np.empty(n_code),
                    float(WALK_COST), guess, assign, dist)


# A vector whose DC window holds more than N / WALK_COST codewords is compared with every
# codeword (vectorised) instead of walking the window: one step of the walk costs about as
# much as WALK_COST codewords of the full comparison (measured on kodim01 and kodim03).
WALK_COST = 6.0


@array_helper
def _distances_to_all(vectors, m, codebook_t, work):
    """``work[n] = |x_m - c_n|^2`` for every codeword (``codebook_t``: the codebook transposed,
    (K, N)): a loop over the codewords that the compiler vectorises; the sum runs over
    the coordinates in order, as :func:`_partial_distance`'s does."""
    n_code = codebook_t.shape[1]
    x0 = vectors[m, 0]
    for n in range(n_code):
        d = x0 - codebook_t[0, n]
        work[n] = d * d
    for j in range(1, vectors.shape[1]):
        xj = vectors[m, j]
        for n in range(n_code):
            d = xj - codebook_t[j, n]
            work[n] += d * d


@array_helper
def _window_is_wide(sorted_dc, x0, radius2, walk_cost):
    """Whether more than N / walk_cost codewords have a DC within sqrt(radius2) of ``x0``."""
    if radius2 <= 0.0:
        return False
    r = np.sqrt(radius2)
    count = _first_not_below(sorted_dc, x0 + r) - _first_not_below(sorted_dc, x0 - r)
    return count * walk_cost > sorted_dc.shape[0]


@array_helper
def _ac_norm(vectors, m):
    """Norm of vector m's coordinates after the first (its AC part)."""
    s = 0.0
    for j in range(1, vectors.shape[1]):
        s += vectors[m, j] * vectors[m, j]
    return np.sqrt(s)


@array_helper
def _search_sorted(vectors, m, x_norm, sorted_cb, sorted_dc, sorted_t, ac_norm, work, walk_cost, up, down, best,
                   best_r):
    """Nearest codeword to vector m in a codebook sorted by DC, given the best squared
    distance so far (``best``, at sorted position ``best_r``, or -1 for a codeword outside
    this codebook): the full comparison when the DC window is wide (:data:`WALK_COST`), else
    the walk outwards from positions ``up`` (upwards) and ``down`` (downwards).  Only a
    strictly smaller distance replaces ``best``.  Returns (best, best_r)."""
    n_code = sorted_cb.shape[0]
    x0 = vectors[m, 0]
    if _window_is_wide(sorted_dc, x0, best, walk_cost):
        _distances_to_all(vectors, m, sorted_t, work)
        for r in range(n_code):
            if work[r] < best:
                best = work[r]
                best_r = r
        return best, best_r
    up_open = up < n_code
    down_open = down >= 0
    while up_open or down_open:
        if up_open:
            gap = sorted_cb[up, 0] - x0
            if gap * gap >= best:
                up_open = False
            else:
                # |x - c|^2 >= (x0 - c0)^2 + (|x_ac| - |c_ac|)^2: skip without the full distance
                dn = x_norm - ac_norm[up]
                s = gap * gap + dn * dn
                if s < best:
                    s = _partial_distance(vectors, m, sorted_cb, up, 0.0, best)
                if s < best:
                    best = s
                    best_r = up
                up += 1
                if up >= n_code:
                    up_open = False
        if down_open:
            gap = x0 - sorted_cb[down, 0]
            if gap * gap >= best:
                down_open = False
            else:
                dn = x_norm - ac_norm[down]
                s = gap * gap + dn * dn
                if s < best:
                    s = _partial_distance(vectors, m, sorted_cb, down, 0.0, best)
                if s < best:
                    best = s
                    best_r = down
                down -= 1
                if down < 0:
                    down_open = False
    return best, best_r


@array_helper
def _sorted_ac_norms(sorted_cb, ac_norm):
    for r in range(sorted_cb.shape[0]):
        s = 0.0
        for j in range(1, sorted_cb.shape[1]):
            s += sorted_cb[r, j] * sorted_cb[r, j]
        ac_norm[r] = np.sqrt(s)


@kernel
def _nearest(vectors, sorted_cb, sorted_dc, sorted_t, order, rank, ac_norm, work, walk_cost, guess, assign, dist):
    """:func:`nearest` with the codebook sorted by DC (``sorted_cb = codebook[order]``,
    ``sorted_dc = sorted_cb[:, 0]``, ``sorted_t`` its transpose, ``rank[order[r]] = r``);
    ``ac_norm`` and ``work`` are work space (N,); see :data:`WALK_COST`."""
    m_count, k_dim = vectors.shape
    n_code = sorted_cb.shape[0]
    _sorted_ac_norms(sorted_cb, ac_norm)
    total = 0.0
    for m in range(m_count):
        g = guess[m]
        if g < 0 or g >= n_code:
            # no guess: start at the codeword whose DC is closest (binary search)
            start = min(_first_not_below(sorted_dc, vectors[m, 0]), n_code - 1)
        else:
            start = rank[g]
        best = 0.0
        for j in range(k_dim):
            d = vectors[m, j] - sorted_cb[start, j]
            best += d * d
        best, best_r = _search_sorted(vectors, m, _ac_norm(vectors, m), sorted_cb, sorted_dc, sorted_t, ac_norm, work,
                                      walk_cost, start + 1, start - 1, best, start)
        assign[m] = order[best_r]
        dist[m] = best
        total += best
    return total


def _sorted_codebook_arrays(codebook: np.ndarray):
    """(order, rank, sorted codebook, its DC column, its transpose) of a codebook sorted by DC."""
    order = _dc_order(codebook)
    rank = np.empty(order.shape[0], dtype=np.int64)
    rank[order] = np.arange(order.shape[0], dtype=np.int64)
    sorted_cb = np.ascontiguousarray(codebook[order], dtype=np.float64)
    return order, rank, sorted_cb, sorted_cb[:, 0].copy(), np.ascontiguousarray(sorted_cb.T)


def nearest_update(vectors, codebook, old_codebook, assign, dist) -> float:
    """:func:`nearest` for ``codebook`` given ``assign``/``dist``, the exact nearest-codeword
    assignment to ``old_codebook`` (whose rows are the first rows of ``codebook``; rows beyond
    it are new), in place; returns the total squared error.

    Exact, after Kaukoranta, Franti & Nevalainen, *A fast exact GLA based on code vector
    activity detection* (IEEE TIP 9(8), 2000): a codeword is *active* if it is new or its
    row changed.  A vector whose codeword did not change is still at least as close to it
    as to any other unchanged codeword, so only the active codewords are searched (sorted
    by DC, the same walk / full comparison), starting from its distance to its codeword
    (which wins ties, as the guess does in :func:`nearest`); a vector whose codeword changed
    gets the full search from that codeword.  In Lloyd's later iterations few codewords
    move, and most vectors compare with a few of them only."""
    n_old = old_codebook.shape[0]
    active = np.ones(codebook.shape[0], dtype=np.bool_)
    active[:n_old] = np.any(codebook[:n_old] != old_codebook, axis=1)
    order, rank, sorted_cb, sorted_dc, sorted_t = _sorted_codebook_arrays(codebook)
    moved = np.flatnonzero(active)
    moved = moved[np.argsort(codebook[moved, 0], kind="stable")]
    moved_cb = np.ascontiguousarray(codebook[moved], dtype=np.float64)
    n_code = codebook.shape[0]
    return _nearest_update(vectors, sorted_cb, sorted_dc, sorted_t, order, rank, np.empty(n_code), active, moved_cb,
                           moved_cb[:, 0].copy(), np.ascontiguousarray(moved_cb.T), moved.astype(np.int64),
                           np.empty(max(1, moved.shape[0])), np.empty(n_code), float(WALK_COST), assign, dist)


@kernel
def _nearest_update(vectors, sorted_cb, sorted_dc, sorted_t, order, rank, ac_norm, active, moved_cb, moved_dc,
                    moved_t, moved, moved_norm, work, walk_cost, assign, dist):
    """:func:`nearest_update` with the whole codebook sorted by DC (as :func:`_nearest`) and
    the active codewords sorted by DC (``moved_cb = codebook[moved]``, ``moved_dc``,
    ``moved_t``); ``ac_norm``, ``moved_norm`` and ``work`` are work space."""
    m_count, k_dim = vectors.shape
    _sorted_ac_norms(sorted_cb, ac_norm)
    n_moved = moved_cb.shape[0]
    if n_moved > 0:
        _sorted_ac_norms(moved_cb, moved_norm)
    total = 0.0
    for m in range(m_count):
        a = assign[m]
        x_norm = _ac_norm(vectors, m)
        if active[a]:  # its codeword changed: the full search, from it
            start = rank[a]
            best = 0.0
            for j in range(k_dim):
                d = vectors[m, j] - sorted_cb[start, j]
                best += d * d
            best, best_r = _search_sorted(vectors, m, x_norm, sorted_cb, sorted_dc, sorted_t, ac_norm, work,
                                          walk_cost, start + 1, start - 1, best, start)
            assign[m] = order[best_r]
            dist[m] = best
        elif n_moved > 0:  # only an active codeword can beat its (unchanged) codeword
            up = _first_not_below(moved_dc, vectors[m, 0])
            best, best_r = _search_sorted(vectors, m, x_norm, moved_cb, moved_dc, moved_t, moved_norm, work,
                                          walk_cost, up, up - 1, dist[m], np.int64(-1))  # not a literal: one signature
            if best_r >= 0:
                assign[m] = moved[best_r]
                dist[m] = best
        total += dist[m]
    return total


@kernel
def second_nearest(vectors, codebook, assign, dist2):
    """Squared distance of each vector to its second-nearest codeword (``assign`` is the nearest)."""
    m_count, k_dim = vectors.shape
    n_code = codebook.shape[0]
    for m in range(m_count):
        a = assign[m]
        best = np.inf
        for n in range(n_code):
            if n == a:
                continue
            s = _partial_distance(vectors, m, codebook, n, 0.0, best)
            if s < best:
                best = s
        dist2[m] = best


def cell_statistics(vectors, assign, dist, n_code):
    """Per-cell sums of vectors, counts, squared error and the index of the worst vector."""
    sums, counts, sse, worst, worst_d = _cell_arrays(n_code, vectors.shape[1])
    _cell_statistics(vectors, assign, dist, sums, counts, sse, worst, worst_d)
    return sums, counts, sse, worst


def _cell_arrays(n_code: int, k_dim: int):
    return (np.empty((n_code, k_dim), dtype=np.float64), np.empty(n_code, dtype=np.int64),
            np.empty(n_code, dtype=np.float64), np.empty(n_code, dtype=np.int64), np.empty(n_code, dtype=np.float64))


@kernel
def _cell_statistics(vectors, assign, dist, sums, counts, sse, worst, worst_d):
    """:func:`cell_statistics` into the given arrays (``worst_d``: work space); returns the
    total squared error (``dist`` summed in order)."""
    m_count, k_dim = vectors.shape
    for n in range(sums.shape[0]):
        for j in range(k_dim):
            sums[n, j] = 0.0
        counts[n] = 0
        sse[n] = 0.0
        worst[n] = -1
        worst_d[n] = -1.0
    total = 0.0
    for m in range(m_count):
        a = assign[m]
        counts[a] += 1
        sse[a] += dist[m]
        total += dist[m]
        for j in range(k_dim):
            sums[a, j] += vectors[m, j]
        if dist[m] > worst_d[a]:
            worst_d[a] = dist[m]
            worst[a] = m
    return total


def lloyd(vectors, codebook, assign, dist, max_iterations, tolerance):
    """Lloyd (LBG) iterations in place: centroid update, then the nearest search of the
    codewords that moved (:func:`nearest_update`).  ``assign``/``dist`` must hold the
    current partition: the exact nearest-codeword assignment to ``codebook``.

    Stops when the relative decrease of the total error is below ``tolerance``, when
    no vector changes cell, or after ``max_iterations``; returns (total error, iterations).
    Empty cells keep their codeword.
    """
    n_code, k_dim = codebook.shape
    cells = _cell_arrays(n_code, k_dim)
    sums, counts = cells[0], cells[1]
    total = _cell_statistics(vectors, assign, dist, *cells)
    previous = np.empty_like(assign)
    it = 0
    while it < max_iterations:
        if it > 0:
            _cell_statistics(vectors, assign, dist, *cells)
        live = counts > 0
        before = codebook.copy()
        codebook[live] = sums[live] / counts[live][:, None]
        np.copyto(previous, assign)
        new_total = nearest_update(vectors, codebook, before, assign, dist)
        it += 1
        changed = np.count_nonzero(assign != previous)
        done = changed == 0 or total - new_total <= tolerance * total
        total = new_total
        if done:
            break
    return total, it


@kernel
def gathered_sse(tiles, assign, pixels, valid):
    """Squared error of the blocks ``tiles[assign[m]]`` against ``pixels[m]`` (both (M, B*B)
    rows), over the samples where ``valid`` (same shape) is true: one pass, no gathered copy."""
    total = 0.0
    for m in range(assign.shape[0]):
        a = assign[m]
        for j in range(pixels.shape[1]):
            if valid[m, j]:
                e = tiles[a, j] - pixels[m, j]
                total += e * e
    return total


def reconstruct_blocks(codebook, indices):
    """Gather codewords: (n_blocks, K) float64 from (N, K) and (n_blocks,) indices."""
    return np.asarray(codebook, dtype=np.float64)[indices]


# --------------------------------------------------------------------------- the coder, called once per decision


@array_helper
def _encode_decisions(state, out, probs, counts, ctxs, bits, n):
    """Code the first ``n`` decisions (context ``ctxs[i]``, bit ``bits[i]``)."""
    for i in range(n):
        ac_encode_bit(state, out, probs, counts, ctxs[i], np.int64(bits[i]))


@array_helper
def _decode_bit(state, data, probs, counts, ctx):
    """:func:`ac_decode_bit`, compiled once for all the decoders here."""
    return ac_decode_bit(state, data, probs, counts, ctx)


# --------------------------------------------------------------------------- index coder

INDEX_FLAG_CONTEXTS = 8
NEIGHBOUR_CLASSES = 5


def index_context_count(n_bits: int) -> int:
    """Contexts used by :func:`encode_indices` for a codebook of up to 2**n_bits codewords."""
    return INDEX_FLAG_CONTEXTS + NEIGHBOUR_CLASSES * (1 << n_bits)


def decision_buffers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(contexts, bits) work arrays for ``n`` decisions."""
    return np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)


@array_helper
def _neighbours(idx, r, c, cols):
    left = idx[r * cols + c - 1] if c > 0 else (idx[(r - 1) * cols + c] if r > 0 else -1)
    up = idx[(r - 1) * cols + c] if r > 0 else -1
    diag = idx[(r - 1) * cols + c - 1] if (r > 0 and c > 0) else -1
    return left, up, diag


@helper
def _flag_context_left(left, up):
    if up < 0:
        return 2
    return 1 if up == left else 0


@helper
def _flag_context_up(up, diag):
    return 3 + (1 if diag == up else 0)


@helper
def _neighbour_class(left, n_bits):
    if left < 0:
        return 4
    if n_bits >= 2:
        return left >> (n_bits - 2)
    return left << 1 if n_bits == 1 else 0


@array_helper
def _index_decisions(idx, r, c, cols, n_bits, ctxs, bits):
    """The binary decisions that code the index at (r, c) given those before it in raster
    order (see the module docstring): writes their contexts and bits (room for
    n_bits + 2), returns how many.  The one binarisation shared by the encoder and
    :func:`index_decision_counts`; the decoder mirrors it."""
    v = idx[r * cols + c]
    left, up, diag = _neighbours(idx, r, c, cols)
    n = 0
    if left >= 0:
        ctxs[n] = _flag_context_left(left, up)
        bits[n] = 1 if v == left else 0
        n += 1
        if v == left:
            return n
    if up >= 0 and up != left:
        ctxs[n] = _flag_context_up(up, diag)
        bits[n] = 1 if v == up else 0
        n += 1
        if v == up:
            return n
    base = INDEX_FLAG_CONTEXTS + _neighbour_class(left, n_bits) * (1 << n_bits)
    node = 1
    for b in range(n_bits - 1, -1, -1):
        bit = (v >> b) & 1
        ctxs[n] = base + node
        bits[n] = bit
        n += 1
        node = 2 * node + bit
    return n


@kernel
def encode_indices(idx, rows, cols, n_bits, state, out, probs, counts, ctxs, bits):
    """Code a (rows*cols,) raster of indices, each < 2**n_bits (see the module docstring);
    ``ctxs``/``bits``: work space for n_bits + 2 decisions (:func:`decision_buffers`)."""
    for r in range(rows):
        for c in range(cols):
            n = _index_decisions(idx, r, c, cols, n_bits, ctxs, bits)
            _encode_decisions(state, out, probs, counts, ctxs, bits, n)


@kernel
def decode_indices(idx, rows, cols, n_bits, n_code, state, data, probs, counts):
    """Inverse of :func:`encode_indices`; returns 0 on success, 1 if the input ran out,
    2 if an index outside 0..n_code-1 was decoded."""
    for r in range(rows):
        for c in range(cols):
            left, up, diag = _neighbours(idx, r, c, cols)
            if left >= 0:
                bit = _decode_bit(state, data, probs, counts, np.int64(_flag_context_left(left, up)))
                if bit < 0:
                    return 1
                if bit == 1:
                    idx[r * cols + c] = left
                    continue
            if up >= 0 and up != left:
                bit = _decode_bit(state, data, probs, counts, np.int64(_flag_context_up(up, diag)))
                if bit < 0:
                    return 1
                if bit == 1:
                    idx[r * cols + c] = up
                    continue
            base = INDEX_FLAG_CONTEXTS + _neighbour_class(left, n_bits) * (1 << n_bits)
            node = 1
            for b in range(n_bits):
                bit = _decode_bit(state, data, probs, counts, np.int64(base + node))
                if bit < 0:
                    return 1
                node = 2 * node + bit
            v = node - (1 << n_bits)
            if v >= n_code:
                return 2
            idx[r * cols + c] = v
    return 0


# --------------------------------------------------------------------------- codebook coder

EG_LIMIT = 24  # Exp-Golomb prefix length limit: values below 2**24
_EG_CONTEXTS = 2 * EG_LIMIT
CODEBOOK_POSITION_CONTEXTS = 2 + _EG_CONTEXTS


def codebook_context_count(k_dim: int) -> int:
    """Contexts used by :func:`encode_codebook` for K-dimensional codewords."""
    return _EG_CONTEXTS + k_dim * CODEBOOK_POSITION_CONTEXTS


def codeword_decisions(k_dim: int) -> int:
    """Most decisions :func:`encode_codebook` codes for one K-dimensional codeword."""
    return k_dim * (2 + 2 * EG_LIMIT)


@kernel
def encode_codebook(q, state, out, probs, counts, ctxs, bits):
    """Code an integer codebook (N, K) sorted by non-decreasing ``q[:, 0] >= 0``;
    ``ctxs``/``bits``: work space for :func:`codeword_decisions` decisions.

    Per codeword: the DC difference from the previous codeword's DC in adaptive
    Exp-Golomb (v + 1 = 1 b_{n-1} .. b_0: n ones, a zero, then b_{n-1} .. b_0), then
    per other coefficient a zero flag and, if not zero, the sign and |v| - 1 in
    Exp-Golomb."""
    n_code, k_dim = q.shape
    prev = 0
    for n in range(n_code):
        m = 0
        for j in range(k_dim):
            if j == 0:
                v = q[n, 0] - prev
                eg_base = 0
            else:
                base = _EG_CONTEXTS + j * CODEBOOK_POSITION_CONTEXTS
                v = q[n, j]
                ctxs[m] = base
                bits[m] = 1 if v == 0 else 0
                m += 1
                if v == 0:
                    continue
                ctxs[m] = base + 1
                bits[m] = 1 if v < 0 else 0
                m += 1
                v = abs(v) - 1
                eg_base = base + 2
            w = v + 1
            nb = 0
            while (w >> (nb + 1)) != 0:
                nb += 1
            for i in range(nb):
                ctxs[m] = eg_base + i
                bits[m] = 1
                m += 1
            ctxs[m] = eg_base + nb
            bits[m] = 0
            m += 1
            for i in range(nb - 1, -1, -1):
                ctxs[m] = eg_base + EG_LIMIT + i
                bits[m] = (w >> i) & 1
                m += 1
        prev = q[n, 0]
        _encode_decisions(state, out, probs, counts, ctxs, bits, np.int64(m))


@kernel
def decode_codebook(q, state, data, probs, counts):
    """Inverse of :func:`encode_codebook` into ``q`` (N, K); 0 on success, 1 if the
    input ran out, 2 for an out-of-range value."""
    n_code, k_dim = q.shape
    prev = 0
    for n in range(n_code):
        for j in range(k_dim):
            negative = 0
            if j == 0:
                eg_base = 0
            else:
                base = _EG_CONTEXTS + j * CODEBOOK_POSITION_CONTEXTS
                z = _decode_bit(state, data, probs, counts, np.int64(base))
                if z < 0:
                    return 1
                if z == 1:
                    q[n, j] = 0
                    continue
                negative = _decode_bit(state, data, probs, counts, np.int64(base + 1))
                if negative < 0:
                    return 1
                eg_base = base + 2
            # Exp-Golomb: the prefix of ones, then the bits below the leading one
            nb = 0
            while True:
                bit = _decode_bit(state, data, probs, counts, np.int64(eg_base + nb))
                if bit < 0:
                    return 1
                if bit == 0:
                    break
                nb += 1
                if nb >= EG_LIMIT - 1:
                    return 2
            w = 1
            for i in range(nb - 1, -1, -1):
                bit = _decode_bit(state, data, probs, counts, np.int64(eg_base + EG_LIMIT + i))
                if bit < 0:
                    return 1
                w = (w << 1) | bit
            v = w - 1
            if j == 0:
                prev += v
                if prev >= (1 << EG_LIMIT):
                    return 2
                q[n, 0] = prev
            else:
                q[n, j] = -(v + 1) if negative == 1 else v + 1
    return 0


# --------------------------------------------------------------------------- rate-distortion assignment


def index_decision_counts(idx, rows, cols, n_bits, n_contexts):
    """How often each context of :func:`encode_indices` sees a 0 and a 1: (n_contexts, 2)."""
    counts = np.zeros((n_contexts, 2), dtype=np.int64)
    _index_decision_counts(idx, rows, cols, n_bits, *decision_buffers(n_bits + 2), counts)
    return counts


@kernel
def _index_decision_counts(idx, rows, cols, n_bits, ctxs, bits, counts):
    for r in range(rows):
        for c in range(cols):
            n = _index_decisions(idx, r, c, cols, n_bits, ctxs, bits)
            for i in range(n):
                counts[ctxs[i], bits[i]] += 1


def rd_assign(vectors, codebook, lam, bit_cost, rows, cols, n_bits, assign, dist, guess=None) -> float:
    """Entropy-constrained assignment (Chou, Lookabaugh & Gray 1989) for the index coder.

    Blocks are visited in the coder's raster order; block m takes the codeword that
    minimises ``|x_m - c|^2 + lam * bits(c | coded neighbours)``, where ``bits`` is what
    :func:`encode_indices` would spend on that index given the indices already chosen
    on the left and above, priced by ``bit_cost[ctx, bit]`` (bits per decision).  The
    decoder is unchanged: any index raster decodes.  Writes ``assign`` and ``dist``
    (squared errors) and returns the total squared error.

    The search is exact.  Besides the left and up codewords and ``guess[m]`` (optional:
    a codeword likely to be good, such as the previous assignment's; any value outside
    0..N-1 means none), which set the first bound, it walks the codebook in DC order
    outwards from the vector's DC (as :func:`nearest` does) and stops in a direction
    once the squared DC gap plus the cheapest possible index cost exceeds the best cost
    found; a codeword whose bound (squared DC gap + squared difference of the AC norms
    + its index cost) exceeds the best is skipped without its distance.
    """
    codebook = np.ascontiguousarray(codebook, dtype=np.float64)
    order = _dc_order(codebook)
    sorted_dc = np.ascontiguousarray(codebook[order, 0], dtype=np.float64)
    n_code = order.shape[0]
    tree = np.empty((NEIGHBOUR_CLASSES, n_code), dtype=np.float64)
    tree_min = np.empty(NEIGHBOUR_CLASSES, dtype=np.float64)
    ac_norm = np.sqrt(np.sum(codebook[:, 1:] ** 2, axis=1))
    if guess is None:
        guess = np.full(vectors.shape[0], -1, dtype=np.int32)
    return _rd_assign(vectors, codebook, float(lam), bit_cost, int(rows), int(cols), int(n_bits), order, sorted_dc,
                      ac_norm, guess, np.ascontiguousarray(codebook.T), np.empty(n_code, dtype=np.float64),
                      float(WALK_COST), tree, tree_min, assign, dist)


@kernel
def _rd_assign(vectors, codebook, lam, bit_cost, rows, cols, n_bits, order, sorted_dc, ac_norm, guess, codebook_t,
               work, walk_cost, tree, tree_min, assign, dist):
    """:func:`rd_assign` with the DC order of the codebook given (``sorted_dc = codebook[order, 0]``),
    the codebook transposed (``codebook_t``) and the norms of the codewords' AC parts
    (``ac_norm``); ``work`` (N,), ``tree`` (classes, N) and ``tree_min`` (classes,) are work
    space.  A block whose window is wide (:data:`WALK_COST`) is compared with every codeword."""
    n_code, k_dim = codebook.shape
    for cl in range(NEIGHBOUR_CLASSES):
        base = INDEX_FLAG_CONTEXTS + cl * (1 << n_bits)
        tree_min[cl] = np.inf
        for v in range(n_code):
            node = 1
            s = 0.0
            for b in range(n_bits - 1, -1, -1):
                bit = (v >> b) & 1
                s += bit_cost[base + node, bit]
                node = 2 * node + bit
            tree[cl, v] = s
            tree_min[cl] = min(tree_min[cl], s)
    total = 0.0
    for r in range(rows):
        for c in range(cols):
            m = r * cols + c
            left, up, diag = _neighbours(assign, r, c, cols)
            prefix = 0.0  # bits spent before the tree (the flags that said "neither")
            best = np.inf
            best_v = -1
            best_d = 0.0
            if left >= 0:
                ctx = _flag_context_left(left, up)
                s = _partial_distance(vectors, m, codebook, np.int64(left), 0.0, np.inf)
                best = s + lam * bit_cost[ctx, 1]
                best_v = left
                best_d = s
                prefix += bit_cost[ctx, 0]
            if up >= 0 and up != left:
                ctx = _flag_context_up(up, diag)
                s = _partial_distance(vectors, m, codebook, np.int64(up), 0.0, np.inf)
                cost = s + lam * (prefix + bit_cost[ctx, 1])
                if cost < best:
                    best = cost
                    best_v = up
                    best_d = s
                prefix += bit_cost[ctx, 0]
            cl = _neighbour_class(left, n_bits)
            g = guess[m]
            if g >= 0 and g < n_code and g != left and g != up:
                rate_part = lam * (prefix + tree[cl, g])
                if rate_part < best:
                    s = _partial_distance(vectors, m, codebook, np.int64(g), rate_part, best)
                    if s < best:
                        best = s
                        best_v = g
                        best_d = s - rate_part
            floor = lam * (prefix + tree_min[cl])
            if _window_is_wide(sorted_dc, vectors[m, 0], best - floor, walk_cost):
                _distances_to_all(vectors, m, codebook_t, work)
                for v in range(n_code):
                    if v == left or v == up:
                        continue
                    cost = work[v] + lam * (prefix + tree[cl, v])
                    if cost < best:
                        best = cost
                        best_v = v
                        best_d = work[v]
                assign[m] = best_v
                dist[m] = best_d
                total += best_d
                continue
            x0 = vectors[m, 0]
            x_norm = 0.0
            for j in range(1, k_dim):
                x_norm += vectors[m, j] * vectors[m, j]
            x_norm = np.sqrt(x_norm)
            up_r = _first_not_below(sorted_dc, x0)
            down_r = up_r - 1
            while up_r < n_code or down_r >= 0:
                for side in range(2):
                    rr = up_r if side == 0 else down_r
                    if rr < 0 or rr >= n_code:
                        continue
                    gap = sorted_dc[rr] - x0
                    if gap * gap + floor >= best:
                        if side == 0:
                            up_r = n_code
                        else:
                            down_r = -1
                        continue
                    v = order[rr]
                    if side == 0:
                        up_r += 1
                    else:
                        down_r -= 1
                    if v == left or v == up or v == g:
                        continue
                    rate_part = lam * (prefix + tree[cl, v])
                    dn = x_norm - ac_norm[v]
                    if rate_part + gap * gap + dn * dn >= best:
                        continue
                    s = _partial_distance(vectors, m, codebook, v, rate_part, best)
                    if s < best:
                        best = s
                        best_v = v
                        best_d = s - rate_part
            assign[m] = best_v
            dist[m] = best_d
            total += best_d
    return total
