"""vq-dct: vector quantisation of block-DCT coefficients with an LBG codebook refined by
a metaheuristic (after Chavan et al., The Imaging Science Journal 68(5):259-277, 2020).

Pipeline (``docs/vq-dct.md`` has the details and a worked example):

1. each plane (gray, or Y, Cb, Cr of the ICT) is cut into B x B blocks (B = 4 or 8,
   edges replicated to a multiple of B); each block's orthonormal 2-D DCT
   (``scipy.fft.dctn``) is read in zigzag order and the first ``k`` coefficients
   form a vector (the rest are reconstructed as 0);
2. the codebook is designed by adaptive incremental LBG (Shen & Hasegawa 2006):
   codewords are inserted by splitting the cells of largest error, each insertion
   followed by Lloyd iterations, growing until the coded stream would pass the
   byte budget; then a remove-insert phase moves low-utility codewords next to
   high-error ones while that lowers the error; ``design="kmeans"`` uses
   scikit-learn's k-means (k-means++) at the same size instead;
3. ``assignment="rd"`` (default; ours, after Chou, Lookabaugh & Gray 1989): each block
   takes the codeword minimising squared error + lam x the bits the index coder would
   spend on it in context (:func:`wavecodec._kernels.vq.rd_assign`), which lets the
   budget pay for a larger codebook; :func:`rd_design` picks that codebook and lam.
   ``assignment="nearest"`` is the paper's nearest-codeword VQ;
4. ``optimizer`` ('fpara' default, 'fpa', 'roa', 'none') refines the codebook with
   :mod:`wavecodec.optimize`; an individual is a whole codebook (N*k floats) and,
   with ``assignment="rd"``, log2 lam; the population the starting point and
   perturbed copies; the fitness the PSNR of the plane as coded within the budget
   (:class:`CodebookFitness`; for gray images, of the decoder's rounded pixels);
5. stream: parameter block, then per plane one arithmetic-coded segment: the
   codebook (quantised with step ``codebook_step``, sorted by DC) and the indices
   (context from the neighbouring indices); see :mod:`wavecodec._kernels.vq`.

Not embedded: a truncated stream raises :class:`TruncatedStreamError`.  With
``codebook=`` (a :class:`Codebook` or the path of one saved by
:meth:`Codebook.save`) the codebook is shared by encoder and decoder and is not
sent; the stream then carries its 32-bit fingerprint, and only a codec object bound to
that codebook decodes it (``wavecodec.get_codec("vq-dct", codebook=cb).decode(data)``).
The module keeps no state: design caches (:class:`DesignCache`) belong to a call or
to a codec object.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .. import transform as T
from .. import optimize as _opt
from .._container import Header, ParamReader, ParamWriter, header_length
from .._kernels import arith as _ac
from .._kernels import vq as _k
from .._progress import progress_span, report_progress
from .._registry import Capabilities, Codec, EncodeTarget, ImageSpec, Option, register
from ..errors import CorruptStreamError, InvalidArgumentError, RateUnreachableError

BLOCKS = (4, 8)
DESIGNS = ("ailbg", "kmeans")
OPTIMIZERS = ("fpara", "fpa", "roa", "none")
ASSIGNMENTS = ("rd", "nearest")
MAX_CODEWORDS = 4096
MAX_BITS = 12
DEFAULT_SIZE = 256
CHROMA_SHARES = (0.05, 0.075, 0.1, 0.125, 0.15)  # chroma_share="auto" picks one of these per image
_FORMAT = 1


# --------------------------------------------------------------------------- vectors


def zigzag_order(block: int) -> np.ndarray:
    """Raster positions of a block x block array in JPEG zigzag order."""
    cells = [(r, c) for r in range(block) for c in range(block)]
    cells.sort(key=lambda rc: (rc[0] + rc[1], rc[0] if (rc[0] + rc[1]) % 2 else rc[1]))
    return np.array([r * block + c for r, c in cells], dtype=np.int64)


def block_vectors(plane: np.ndarray, block: int, k: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(vectors (M, k), dropped squared error (M,), block rows, block cols) of a plane's block DCTs."""
    h, w = plane.shape
    rows, cols = -(-h // block), -(-w // block)
    padded = np.pad(plane.astype(np.float64), ((0, rows * block - h), (0, cols * block - w)), mode="edge")
    blocks = padded.reshape(rows, block, cols, block).transpose(0, 2, 1, 3)
    from scipy.fft import dctn  # imported on use: scipy.fft adds 0.3-0.5 s to `import wavecodec`

    coeffs = dctn(blocks, axes=(2, 3), norm="ortho").reshape(rows * cols, block * block)[:, zigzag_order(block)]
    dropped = np.sum(coeffs[:, k:] ** 2, axis=1)
    return np.ascontiguousarray(coeffs[:, :k]), dropped, rows, cols


def vectors_to_blocks(vectors: np.ndarray, block: int) -> np.ndarray:
    """(n, block, block) pixel blocks of (n, k) zigzag DCT vectors (missing coefficients are 0)."""
    full = np.zeros((vectors.shape[0], block * block))
    full[:, zigzag_order(block)[: vectors.shape[1]]] = vectors
    from scipy.fft import idctn

    return idctn(full.reshape(-1, block, block), axes=(1, 2), norm="ortho")


def blocks_to_plane(vectors: np.ndarray, block: int, rows: int, cols: int, h: int, w: int) -> np.ndarray:
    """Inverse of :func:`block_vectors`."""
    blocks = vectors_to_blocks(vectors, block).reshape(rows, cols, block, block)
    return blocks.transpose(0, 2, 1, 3).reshape(rows * block, cols * block)[:h, :w]


# --------------------------------------------------------------------------- codebook quantisation and coding


def quantise_codebook(codebook: np.ndarray, step: float) -> np.ndarray:
    """Integer codebook ``round(c / step)`` with the DC clipped to >= 0."""
    q = np.rint(codebook / step).astype(np.int64)
    q[:, 0] = np.maximum(q[:, 0], 0)
    return np.clip(q, -(1 << (_k.EG_LIMIT - 1)), (1 << (_k.EG_LIMIT - 1)))


def _sorted_codebook(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codebook sorted by DC (then the other coefficients), and old index -> new index."""
    order = np.lexsort(q.T[::-1])
    remap = np.empty(q.shape[0], dtype=np.int32)
    remap[order] = np.arange(q.shape[0], dtype=np.int32)
    return np.ascontiguousarray(q[order]), remap


def _n_bits(n_code: int) -> int:
    return max(1, int(n_code - 1).bit_length())


def code_plane(q_codebook: np.ndarray | None, n_code: int, indices: np.ndarray, rows: int, cols: int,
               budget: int | None = None) -> bytes:
    """One plane's segment: the codebook (unless shared: None) and the indices, arithmetic-coded.

    ``indices`` must refer to the codebook's order as coded (sorted, see :func:`_sorted_codebook`).
    """
    n_bits = _n_bits(n_code)
    k_dim = q_codebook.shape[1] if q_codebook is not None else 1
    capacity = 64 + (q_codebook.size * 8 if q_codebook is not None else 0) + indices.size * (n_bits + 2) // 8 * 2
    out = np.zeros(capacity, dtype=np.uint8)
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    _ac.ac_encoder_init(state, 1 << 60)
    ctxs, bits = _k.decision_buffers(max(_k.codeword_decisions(k_dim), n_bits + 2))
    if q_codebook is not None:
        probs, counts = _ac.new_models(_k.codebook_context_count(k_dim))
        _k.encode_codebook(np.ascontiguousarray(q_codebook, dtype=np.int64), state, out, probs, counts, ctxs, bits)
    probs, counts = _ac.new_models(_k.index_context_count(n_bits))
    _k.encode_indices(np.ascontiguousarray(indices, dtype=np.int32), rows, cols, n_bits, state, out, probs, counts,
                      ctxs, bits)
    n = int(_ac.ac_encoder_flush(state, out))
    if n > out.shape[0]:  # cannot happen with the capacity above; guard anyway
        raise AssertionError("vq-dct: plane segment overflowed its buffer")
    return out[:n].tobytes()


def decode_plane(segment: bytes, n_code: int, k_dim: int, rows: int, cols: int,
                 shared: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`code_plane`: (integer codebook (N, k), indices)."""
    data = np.frombuffer(segment, dtype=np.uint8).copy()
    state = np.zeros(_ac.STATE_SIZE, dtype=np.int64)
    _ac.ac_decoder_init(state, data, data.shape[0])
    n_bits = _n_bits(n_code)
    if shared is None:
        q = np.zeros((n_code, k_dim), dtype=np.int64)
        probs, counts = _ac.new_models(_k.codebook_context_count(k_dim))
        status = _k.decode_codebook(q, state, data, probs, counts)
        if status != 0:
            raise CorruptStreamError("vq-dct: corrupt codebook" + (" (segment ends early)" if status == 1 else ""))
    else:
        q = shared
    indices = np.zeros(rows * cols, dtype=np.int32)
    probs, counts = _ac.new_models(_k.index_context_count(n_bits))
    status = _k.decode_indices(indices, rows, cols, n_bits, n_code, state, data, probs, counts)
    if status != 0:
        raise CorruptStreamError("vq-dct: corrupt index data" + (" (segment ends early)" if status == 1 else
                                                                  " (index beyond the codebook)"))
    return q, indices


# --------------------------------------------------------------------------- codebook design


@dataclass
class TrainingSet:
    """The vectors of one plane and what the fitness needs."""

    vectors: np.ndarray  # (M, k) float64
    dropped: float  # squared error of the coefficients beyond k (fixed)
    peak: float
    n_pixels: int  # samples of the padded plane

    def psnr(self, sse: float) -> float:
        mse = (sse + self.dropped) / self.n_pixels
        return float(10 * np.log10(self.peak ** 2 / mse)) if mse > 0 else 200.0


def _assign(vectors: np.ndarray, codebook: np.ndarray, guess: np.ndarray | None = None):
    m = vectors.shape[0]
    assign = np.empty(m, dtype=np.int32)
    dist = np.empty(m, dtype=np.float64)
    if guess is None:
        guess = np.full(m, -1, dtype=np.int32)
    sse = _k.nearest(vectors, codebook, guess, assign, dist)
    return assign, dist, float(sse)


def _centroid_update(vectors: np.ndarray, codebook: np.ndarray, assign: np.ndarray, dist: np.ndarray) -> None:
    """Move each codeword with vectors to the centroid of its cell (in place)."""
    sums, counts, _, _ = _k.cell_statistics(vectors, assign, dist, codebook.shape[0])
    live = counts > 0
    codebook[live] = sums[live] / counts[live][:, None]


def _split_cells(vectors, codebook, assign, dist, n_new: int) -> np.ndarray:
    """Insert ``n_new`` codewords by splitting the cells of largest squared error along the
    direction of their worst vector (old codeword moves back by a quarter, new one forward)."""
    n_code = codebook.shape[0]
    _, counts, sse, worst = _k.cell_statistics(vectors, assign, dist, n_code)
    candidates = np.flatnonzero((counts > 1) & (sse > 0))
    if candidates.size == 0:
        return codebook
    order = candidates[np.argsort(-sse[candidates], kind="stable")][:n_new]
    new = []
    cb = codebook.copy()
    for c in order:
        direction = vectors[worst[c]] - cb[c]
        new.append(cb[c] + 0.25 * direction)
        cb[c] = cb[c] - 0.25 * direction
    return np.vstack([cb, np.array(new)])


def _remove_insert(ts: TrainingSet, codebook, assign, dist, trials: int, lloyd_iterations: int):
    """Remove-insert phase: move the codeword of least utility next to the cell of largest
    error, re-run Lloyd, keep the move only if the total error drops."""
    vectors = ts.vectors
    sse = float(dist.sum())
    failures = 0
    for _ in range(trials):
        n_code = codebook.shape[0]
        if n_code < 3:
            break
        dist2 = np.empty_like(dist)
        _k.second_nearest(vectors, codebook, assign, dist2)
        utility = np.bincount(assign, weights=dist2 - dist, minlength=n_code)
        _, counts, cell_sse, worst = _k.cell_statistics(vectors, assign, dist, n_code)
        victim = int(np.argmin(utility))
        target_order = np.argsort(-cell_sse, kind="stable")
        target = int(target_order[0] if target_order[0] != victim else target_order[1])
        if counts[target] < 2:
            break
        cb = codebook.copy()
        direction = vectors[worst[target]] - cb[target]
        cb[victim] = cb[target] + 0.25 * direction
        cb[target] = cb[target] - 0.25 * direction
        new_assign, new_dist, _ = _assign(vectors, cb, assign)
        new_sse, _ = _k.lloyd(vectors, cb, new_assign, new_dist, lloyd_iterations, 1e-4)
        if new_sse < sse * (1 - 1e-7):
            codebook, assign, dist, sse = cb, new_assign, new_dist, float(new_sse)
            failures = 0
        else:
            failures += 1
            if failures >= 3:
                break
    return codebook, assign, dist


def _drop_codewords(ts: TrainingSet, codebook: np.ndarray, n_drop: int) -> np.ndarray:
    """Remove the ``n_drop`` codewords of least utility and re-run Lloyd (to get back under a rate)."""
    assign, dist, _ = _assign(ts.vectors, codebook)
    dist2 = np.empty_like(dist)
    _k.second_nearest(ts.vectors, codebook, assign, dist2)
    utility = np.bincount(assign, weights=dist2 - dist, minlength=codebook.shape[0])
    n_drop = max(1, min(n_drop, codebook.shape[0] - 1))
    cb = np.delete(codebook, np.argsort(utility, kind="stable")[:n_drop], axis=0)
    assign, dist, _ = _assign(ts.vectors, cb)
    _k.lloyd(ts.vectors, cb, assign, dist, 30, 0.0)
    return cb


def ailbg(ts: TrainingSet, size: int, *, fits: Callable[[np.ndarray], bool] | None = None,
          insert: str = "auto", remove_insert_trials: int = 6, lloyd_iterations: int = 2,
          final_iterations: int = 30, schedule: Callable[[int], tuple[int, int]] | None = None,
          fits_with_assignment: bool = False, lazy_from: int | None = None,
          final_refusal: bool = False, rounds: list | None = None) -> np.ndarray:
    """Adaptive incremental LBG (Shen & Hasegawa 2006): grow from the mean to ``size``
    codewords (or fewer, as soon as ``fits(codebook)`` turns False), then remove-insert,
    then Lloyd to convergence (no vector changes cell, at most ``final_iterations``).

    ``fits_with_assignment``: ``fits`` is called as ``fits(codebook, assign, dist, basis)``
    with the round's nearest-codeword assignment and squared errors after its Lloyd
    iterations, exact for codebook ``basis`` (the codebook itself, or after a lazy round,
    see below, the codebook before its last centroid update; :func:`wavecodec._kernels.vq.nearest_update`).

    ``insert="one"`` inserts one codeword per round (the paper); ``"auto"`` inserts
    ``max(1, N // 8)`` per round (same rule, fewer Lloyd rounds: our speed-up), halving
    the batch near the rate limit so the final size is exact; ``schedule(N)`` (optional)
    gives (codewords to insert, Lloyd iterations) for a codebook of N instead.

    ``final_refusal``: the first time ``fits`` says no, the growth ends (no retry with a
    smaller batch: :func:`rd_design`'s ``fits`` refuses only once it has stopped).  Every
    round's codebook is then the same whatever ``fits`` says, and ``rounds`` (optional, with
    ``final_refusal``) is a list of them, (codebook, assign, dist, basis), from earlier
    growths of the same training set with the same arguments: replayed instead of
    recomputed, and extended (ours, for speed: the colour share search designs each chroma
    plane at 3-4 budgets, and only where the growth stops depends on the budget).

    ``lazy_from``: from a codebook of this size on, a round's Lloyd iterations end with
    the centroid update, without the nearest-codeword search that would follow it (one
    search fewer per round; the next round splits cells by that partition, and ``fits``
    gets it).
    """
    vectors = ts.vectors
    codebook = vectors.mean(axis=0, keepdims=True)
    assign, dist, _ = _assign(vectors, codebook)
    basis = codebook  # the codebook that assign/dist are the exact nearest-codeword assignment to
    grown = 0  # rounds made (accepted or not)
    limit = min(size, vectors.shape[0])
    while codebook.shape[0] < limit:
        n_code = codebook.shape[0]
        batch, iterations = (max(1, n_code // 8), lloyd_iterations) if schedule is None else schedule(n_code)
        batch = 1 if insert == "one" else batch
        batch = min(batch, limit - n_code)
        while True:
            replay = rounds is not None and final_refusal and grown < len(rounds)
            if replay:
                if rounds[grown] is None:  # nothing left to split
                    batch = 0
                    break
                cb, a, d, cb_basis = rounds[grown]
            else:
                cb = _split_cells(vectors, codebook, assign, dist, batch)
                if cb.shape[0] == n_code:
                    if rounds is not None and final_refusal:
                        rounds.append(None)
                    batch = 0
                    break
                # only the split cells' codewords and the new ones (and, after a lazy round, those its
                # centroid update moved) are searched for the vectors of the other cells
                a, d = assign.copy(), dist.copy()
                _k.nearest_update(vectors, cb, basis, a, d)
                if lazy_from is not None and n_code >= lazy_from:  # the last centroid update keeps its partition
                    _k.lloyd(vectors, cb, a, d, iterations - 1, 1e-3)
                    cb_basis = cb.copy()
                    _centroid_update(vectors, cb, a, d)
                else:
                    _k.lloyd(vectors, cb, a, d, iterations, 1e-3)
                    cb_basis = cb
                if rounds is not None and final_refusal:
                    rounds.append((cb, a, d, cb_basis))
            grown += 1
            if fits is None or (fits(cb, a, d, cb_basis) if fits_with_assignment else fits(cb)):
                codebook, assign, dist, basis = cb, a, d, cb_basis
                break
            if batch == 1 or final_refusal:
                batch = 0
                break
            batch = max(1, batch // 2)
        if batch == 0:
            break
    if rounds is not None:  # the recorded rounds' arrays stay as they are
        exact = basis is codebook
        codebook, assign, dist = codebook.copy(), assign.copy(), dist.copy()
        basis = codebook if exact else basis
    if basis is not codebook:  # after a lazy round: the nearest assignment to the grown codebook
        _k.nearest_update(vectors, codebook, basis, assign, dist)
    if remove_insert_trials > 0:
        codebook, assign, dist = _remove_insert(ts, codebook, assign, dist, remove_insert_trials, lloyd_iterations)
    _k.lloyd(vectors, codebook, assign, dist, final_iterations, 0.0)
    return codebook


def kmeans_codebook(ts: TrainingSet, size: int, seed: int) -> np.ndarray:
    """scikit-learn k-means (k-means++ initialisation, one run) with ``size`` clusters."""
    from sklearn.cluster import KMeans

    size = min(size, ts.vectors.shape[0])
    km = KMeans(n_clusters=size, init="k-means++", n_init=1, random_state=seed, max_iter=100, tol=1e-4,
                algorithm="lloyd")
    km.fit(ts.vectors)
    return np.ascontiguousarray(km.cluster_centers_, dtype=np.float64)


def index_bit_costs(indices: np.ndarray, rows: int, cols: int, n_bits: int) -> np.ndarray:
    """Bits per decision of the index coder, (contexts, 2), estimated from the decision
    counts of an index raster (Krichevsky-Trofimov estimate, as the adaptive coder
    roughly learns them)."""
    counts = _k.index_decision_counts(np.ascontiguousarray(indices, dtype=np.int32), rows, cols, n_bits,
                                      _k.index_context_count(n_bits)).astype(np.float64)
    return -np.log2((counts + 0.5) / (counts.sum(axis=1, keepdims=True) + 1.0))


ASSIGN_MEMO = 8  # entropy-constrained assignments a PlaneCoder remembers (a population's worth)
RD_ROUNDS = 2  # assignment -> bit costs -> assignment rounds (a third changed PSNR by < 0.01 dB on kodim01/23)


@dataclass
class RateModel:
    """An entropy-constrained assignment (``assign``) of a plane and the index coder's bit
    costs on it (:func:`index_bit_costs`), for codebooks of ``n_bits``-bit indices:
    :meth:`PlaneCoder.assign` starts its rounds from them instead of from a nearest-codeword
    search (ours, for speed: a rate-weight search and the optimiser code codebooks that
    differ little from the one the model was measured on)."""

    costs: np.ndarray
    assign: np.ndarray
    n_bits: int


class PlaneCoder:
    """Codes one plane's vectors with a given float codebook and rate weight ``lam``.

    ``lam == 0`` is the nearest-neighbour assignment of plain VQ.  ``lam > 0`` is the
    entropy-constrained assignment of :func:`wavecodec._kernels.vq.rd_assign`: each
    block takes the codeword minimising squared error + ``lam`` x its index bits in
    context, with the bit costs estimated from the previous round's indices
    (``RD_ROUNDS`` rounds, starting from the nearest-neighbour indices); codewords that
    no block then uses are dropped before coding (they would cost bits and buy nothing).
    """

    def __init__(self, ts: TrainingSet, rows: int, cols: int, step: float, pixels: np.ndarray | None = None,
                 block: int = 4, shared: dict | None = None):
        self.ts, self.rows, self.cols, self.step = ts, rows, cols, step
        # rate models and the codings made with them, by codebook and weight: a dict that the coders
        # of one plane may share (``shared``: the colour share search refits the luma codebook to 3-4
        # budgets, each fit starting with the same model and the same first weight)
        self._shared = {} if shared is None else shared
        self._nearest_key, self._nearest, self._nearest_size = None, None, 0
        self._assigned: list = []  # the last ASSIGN_MEMO entropy-constrained assignments (see assign)
        self._size_slope = None  # bytes per doubling of lam at the last fit_lambda's crossing
        self.pixels = None
        if pixels is not None:  # a gray plane: score what the decoder outputs (rounded, clipped pixels)
            h, w = pixels.shape
            padded = np.zeros((rows * block, cols * block))
            padded[:h, :w] = pixels
            valid = np.zeros(padded.shape, dtype=bool)
            valid[:h, :w] = True
            self.block = block
            self.pixels = np.ascontiguousarray(
                padded.reshape(rows, block, cols, block).transpose(0, 2, 1, 3).reshape(rows * cols, -1))
            self.valid = np.ascontiguousarray(
                valid.reshape(rows, block, cols, block).transpose(0, 2, 1, 3).reshape(rows * cols, -1))
            self.n_valid = h * w

    def psnr(self, q: np.ndarray, assign: np.ndarray, sse: float) -> float:
        """PSNR (dB) of the plane coded with integer codebook ``q`` and ``assign``
        (``sse``: squared error of the kept coefficients).  For a gray plane it is that
        of the decoder's output, rounded and clipped pixels: a codebook whose flat
        codewords land on half-integer grey levels loses up to 0.25 in MSE to rounding,
        which the coefficient-domain error does not see.  For colour planes (rounded
        only after the inverse colour transform) it is the coefficient-domain PSNR."""
        if self.pixels is None:
            return self.ts.psnr(sse)
        tiles = vectors_to_blocks(q * self.step, self.block).reshape(q.shape[0], -1)
        tiles = np.clip(np.rint(tiles), 0, self.ts.peak)  # each codeword as the decoder outputs it
        mse = _k.gathered_sse(tiles, np.ascontiguousarray(assign, dtype=np.int32), self.pixels, self.valid) / self.n_valid
        return float(10 * np.log10(self.ts.peak ** 2 / mse)) if mse > 0 else 200.0

    def quantised(self, codebook: np.ndarray) -> np.ndarray:
        """Integer codebook as it will be coded (quantised, sorted)."""
        return _sorted_codebook(quantise_codebook(codebook, self.step))[0]

    def nearest(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Nearest-codeword assignment to integer codebook ``q``, remembered for the last
        ``q`` (a rate-weight search codes one codebook many times; the arrays are not
        to be modified)."""
        key = hashlib.sha1(np.ascontiguousarray(q).tobytes()).digest() + bytes(str(q.shape), "ascii")
        if self._nearest_key != key:
            # the search starts from the last codebook's indices when it had as many codewords (the
            # optimiser's trials are perturbations of one codebook, sorted alike): exact either way
            guess = self._nearest[0] if self._nearest is not None and self._nearest_size == q.shape[0] else None
            self._nearest = _assign(self.ts.vectors, q * self.step, guess)
            self._nearest_key, self._nearest_size = key, q.shape[0]
        return self._nearest

    def rate_model(self, q: np.ndarray, lam: float) -> "RateModel | None":
        """The bit costs of the index coder as the plane coded with ``q`` and ``lam`` spends
        them (:func:`index_bit_costs` of that assignment), for :meth:`assign`'s ``model``;
        None for ``lam == 0``."""
        if lam <= 0:
            return None
        key = ("model", hashlib.sha1(np.ascontiguousarray(q).tobytes()).digest(), q.shape, float(lam))
        if key not in self._shared:
            n_bits = _n_bits(q.shape[0])
            assign = self.assign(q, lam)[0]
            self._shared[key] = RateModel(index_bit_costs(assign, self.rows, self.cols, n_bits), assign, n_bits)
        return self._shared[key]

    def assign(self, q: np.ndarray, lam: float, model: "RateModel | None" = None
               ) -> tuple[np.ndarray, np.ndarray, float]:
        """Indices, squared errors and their sum for integer codebook ``q`` and rate weight
        ``lam``: the nearest codeword (``lam == 0``), else :data:`RD_ROUNDS` entropy-constrained
        rounds, each priced by the bit costs of the indices before it.  The first round's
        indices are the nearest-neighbour ones, or, given a ``model`` (:meth:`rate_model` of a
        nearby codebook, same index length), the model's (no nearest-codeword search)."""
        cb = q * self.step
        n_bits = _n_bits(q.shape[0])
        if lam <= 0:
            return self.nearest(q)
        use_model = model is not None and model.n_bits == n_bits
        # the last few results are remembered: the optimiser's Lloyd step assigns the codebook of a
        # rider whose evaluation has just coded it with the same weight (the arrays are not to be modified)
        key = (hashlib.sha1(np.ascontiguousarray(q).tobytes()).digest(), q.shape, float(lam))
        for known_key, known_model, result in self._assigned:
            if known_key == key and known_model is (model if use_model else None):
                return result
        if use_model:
            assign, dist, sse = model.assign, None, 0.0
        else:
            assign, dist, sse = self.nearest(q)
        for _ in range(RD_ROUNDS):  # each round starts its search from the previous round's choice
            costs = model.costs if dist is None else index_bit_costs(assign, self.rows, self.cols, n_bits)
            previous, assign, dist = assign, np.empty_like(assign), np.empty(assign.shape[0])
            sse = float(_k.rd_assign(self.ts.vectors, cb, float(lam), costs, self.rows, self.cols, n_bits,
                                     assign, dist, previous))
        self._assigned = [(key, model if use_model else None, (assign, dist, sse))] + self._assigned[:ASSIGN_MEMO - 1]
        return assign, dist, sse

    def code(self, codebook: np.ndarray, lam: float, quality: bool = True,
             model: "RateModel | None" = None) -> tuple[bytes, float, int]:
        """(segment, PSNR, codewords coded) for a float codebook and rate weight (PSNR NaN
        unless ``quality``: size checks need only the segment); ``model``: see :meth:`assign`."""
        q = self.quantised(codebook)
        key = None
        if model is not None and lam > 0 and quality:  # a coding with a (shared) model: remembered
            key = ("coding", hashlib.sha1(q.tobytes()).digest(), q.shape, float(lam), id(model))
            if key in self._shared:
                return self._shared[key]
        assign, _, sse = self.assign(q, lam, model)
        psnr = self.psnr(q, assign, sse) if quality else float("nan")
        if lam > 0:
            used = np.bincount(assign, minlength=q.shape[0]) > 0
            if not used.all():
                remap = np.cumsum(used) - 1
                q, assign = np.ascontiguousarray(q[used]), remap[assign].astype(np.int32)
        result = code_plane(q, q.shape[0], assign, self.rows, self.cols), psnr, q.shape[0]
        if key is not None:
            self._shared[key] = result
        return result

    def fit_lambda(self, codebook: np.ndarray, budget: int, guess: float = 0.0, try_nearest: bool = True,
                   steps: int | None = None, bracket: float | None = None, beat: float | None = None,
                   reference: tuple[int, float] | None = None
                   ) -> tuple[float, bytes | None, float, int, "RateModel | None"] | None:
        """Smallest rate weight (to a factor of 2**(1/steps), default :data:`LAMBDA_STEPS`) whose
        stream fits ``budget`` bytes: (lam, segment, PSNR, codewords, rate model), or None if
        none up to 2**40 does.

        Starts with lam = 0 (skipped when ``try_nearest`` is False: the caller knows the
        nearest-neighbour stream is over the budget), brackets from ``guess`` by factors
        ``bracket`` (default :data:`LAMBDA_BRACKET`), squared after each miss, then narrows the
        bracket by interpolation (ours, for speed): the stream size is close to linear in
        log2 lam over a bracket, so each probe goes half the precision to one side of the
        interpolated crossing, alternating sides (bisection when three probes in a row land
        on the same side); 2-3 probes where bisection took 4-6.  Above :data:`SMALL_CODEBOOK`
        codewords, every probe with lam > 0 assigns with one :class:`RateModel`, that of the
        codebook coded at the first weight tried (:meth:`rate_model`): the result was coded
        with it (otherwise, and with lam = 0, the model is None).

        ``beat`` (a PSNR, optional): give up as soon as a weight whose stream is over the budget
        codes below it (a larger weight would code lower still): the result is then
        (that weight, None, its PSNR, codewords, model).

        ``reference`` (bytes, PSNR of a smaller codebook's coding that fits), without a
        ``guess``: the first weight tried is half the slope of the chord from that coding to
        this codebook's nearest-neighbour coding (squared error per bit; the operational
        rate-distortion curve is convex, and on Kodak half the chord was within 0.6-1.3 times
        the weight found), instead of 1."""
        steps = LAMBDA_STEPS if steps is None else steps
        bracket = LAMBDA_BRACKET if bracket is None else bracket
        if try_nearest:
            seg, psnr, n = self.code(codebook, 0.0)
            if len(seg) <= budget:
                return 0.0, seg, psnr, n, None
        first = max(guess, 1e-3) if guess > 0 else 1.0
        if guess <= 0 and reference is not None:
            seg, psnr, _ = self.code(codebook, 0.0)  # its nearest search is the rate model's too
            error = self.ts.n_pixels * self.ts.peak ** 2 * (10.0 ** (-reference[1] / 10) - 10.0 ** (-psnr / 10))
            if error > 0 and len(seg) > reference[0]:
                first = max(1e-3, 0.5 * error / (8.0 * (len(seg) - reference[0])))
        q = self.quantised(codebook)  # above SMALL_CODEBOOK codewords (below, the searches are cheap)
        model = self.rate_model(q, first) if q.shape[0] > SMALL_CODEBOOK else None
        probes: dict[float, tuple[bytes, float, int]] = {}  # log2 lam -> coding

        def size(x: float) -> int:
            if x not in probes:
                probes[x] = self.code(codebook, float(2.0 ** x), True, model)
                seg, psnr, _ = probes[x]
                if len(seg) > budget and beat is not None and psnr < beat:
                    raise _GiveUp(x)
            return len(probes[x][0])

        precision = 1.0 / steps  # in log2 lam
        try:
            # bracket: from the guess, steps of log2(bracket), doubled after each probe, or shorter
            # where the size's slope (two probes, or the last fit's) says the crossing is near
            lo = hi = None
            x, previous = float(np.log2(first)), None
            reach = float(np.log2(bracket))
            while True:
                s = size(x)
                if s <= budget:
                    hi = x
                else:
                    lo = x
                if lo is not None and hi is not None:
                    break
                if x > 40.0:
                    return None
                if x < -20.0:  # even a weight near 0 fits
                    return (float(2.0 ** hi), *probes[hi], model)
                slope = self._size_slope
                if previous is not None and previous[1] != s:
                    slope = (previous[1] - s) / (x - previous[0])
                step = reach
                if slope is not None and slope > 0:  # just past the crossing the slope predicts
                    step = min(reach, max(precision, 1.25 * abs(s - budget) / slope + precision))
                previous = (x, s)
                x = x + step if hi is None else x - step
                reach *= 2
            self._size_slope = (len(probes[lo][0]) - len(probes[hi][0])) / (hi - lo)
            # narrow: a probe just past the interpolated crossing, on the side with more room
            # (regula falsi in log2 lam, with the Illinois rule: an end kept twice in a row
            # counts half in the interpolation)
            weight_lo = weight_hi = 1.0
            last_fit = None
            while hi - lo > precision * (1 + 1e-9):
                over = (len(probes[lo][0]) - budget) * weight_lo
                under = (budget - len(probes[hi][0])) * weight_hi
                x = lo + (hi - lo) * over / (over + under)
                x = x - 0.45 * precision if x - lo > hi - x else x + 0.45 * precision
                guard = (hi - lo) / 16
                x = min(max(x, lo + guard), hi - guard)
                fit = size(x) <= budget
                if fit:
                    hi = x
                    weight_hi, weight_lo = 1.0, (0.5 * weight_lo if last_fit is True else 1.0)
                else:
                    lo = x
                    weight_lo, weight_hi = 1.0, (0.5 * weight_hi if last_fit is False else 1.0)
                last_fit = fit
        except _GiveUp as stop:
            x = stop.args[0]
            return float(2.0 ** x), None, probes[x][1], probes[x][2], model
        return (float(2.0 ** hi), *probes[hi], model)


class _GiveUp(Exception):
    """:meth:`PlaneCoder.fit_lambda` stops: its weights cannot beat the PSNR it was given."""


LAMBDA_BRACKET = 2.0  # fit_lambda brackets the rate weight by this factor
LAMBDA_STEPS = 64  # ... and bisects to a factor of 2**(1/LAMBDA_STEPS)


# The rate design grows the AILBG codebook past the size plain VQ can afford and
# tries it with the entropy-constrained assignment at these multiples of the budget
# (the size nearest-neighbour coding would need); it stops after two steps without gain.
RD_SIZE_LADDER = (1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0)
RD_GROWTH_LARGE = 128  # see rd_growth_schedule
RD_MISSES = 2  # tries in a row without a gain that end the growth
# ... when the best so far has more than RD_GROWTH_LARGE codewords (ours, for speed: on the 24 Kodak
# images in gray at 0.25 and 0.5 bpp no rung after a miss beat the best, and above 128 codewords
# each rung, and the growth to it, is dear)
RD_MISSES_LARGE = 1


def rd_growth_schedule(n_code: int) -> tuple[int, int]:
    """(codewords to insert, Lloyd iterations) per growth round of :func:`rd_design`: AILBG's
    N // 8 and 2 below :data:`RD_GROWTH_LARGE` codewords, N // 4 and 1 from there on (half
    the rounds, each half as long, where rounds are dear; on 4 Kodak images at 0.25 bpp the
    coded PSNR moved by -0.08 to +0.05 dB, mean +0.01, for 20-40 % less encode time)."""
    if n_code < RD_GROWTH_LARGE:
        return max(1, n_code // 8), 2
    return n_code // 4, 1
RD_RUNG_LLOYD = 8  # Lloyd iterations on each rung's codebook before its rate weight is fitted
RD_RUNG_LLOYD_LARGE = 4  # ... on one of more than RD_GROWTH_LARGE codewords
RD_RUNG_STEPS = 16  # ... to a factor of 2**(1/RD_RUNG_STEPS)
RD_FINAL_LLOYD = 30  # the best rungs' codebooks: Lloyd iterations in all (at most), then lam to 2**(1/LAMBDA_STEPS)
RD_FINALISTS = 2  # ... for this many of the best rungs (one when the best has more than RD_GROWTH_LARGE codewords)


def rung_lloyd(n_code: int) -> int:
    """Lloyd iterations before a rung of :func:`rd_design` is tried: :data:`RD_RUNG_LLOYD`, or
    :data:`RD_RUNG_LLOYD_LARGE` above :data:`RD_GROWTH_LARGE` codewords (where every
    iteration is dear and the finalist gets the rest of :data:`RD_FINAL_LLOYD`)."""
    return RD_RUNG_LLOYD if n_code <= RD_GROWTH_LARGE else RD_RUNG_LLOYD_LARGE


def rd_design(ts: TrainingSet, coder: PlaneCoder, budget: int, cap: int,
              growth: dict | None = None) -> tuple[np.ndarray, tuple | None]:
    """AILBG codebook and rate weight for the entropy-constrained assignment at ``budget``.

    Grows one AILBG codebook (:func:`rd_growth_schedule`; above :data:`RD_GROWTH_LARGE`
    codewords a round ends on its centroid update, ``ailbg(lazy_from=...)``); each time its
    nearest-neighbour stream passes the next multiple of the budget in
    :data:`RD_SIZE_LADDER`, the codebook before that step (after :func:`rung_lloyd` Lloyd
    iterations) is tried with the smallest rate weight that fits the budget (to
    2**(1/RD_RUNG_STEPS)); two tries in a row without a gain end the growth.  The
    :data:`RD_FINALISTS` best (only the best, when it has more than :data:`RD_GROWTH_LARGE`
    codewords) get Lloyd to :data:`RD_FINAL_LLOYD` iterations in all and the weight to
    2**(1/LAMBDA_STEPS); the best PSNR wins.
    ``growth`` (optional, shared between the designs of one plane at other budgets):
    ``growth["rounds"]``, the growth's rounds (:func:`ailbg`'s ``rounds``), and
    ``growth["lloyd"]``, the rungs' and finalists' Lloyd results by codebook (they do not
    depend on the budget either; only the rate-weight fits do).
    Returns (float codebook, its :meth:`PlaneCoder.fit_lambda` result or None).
    """
    state = {"rung": 0, "last": None, "best": None, "misses": 0, "stop": False, "lam": 0.0, "size": 0}
    tried: list = []  # (codebook, fit_lambda result, its nearest assignment, distances) of every rung that fitted

    lloyd_memo = growth["lloyd"] if growth is not None else None

    def lloyd_from(stage: str, cb: np.ndarray, a: np.ndarray, d: np.ndarray, basis: np.ndarray,
                   iterations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of ``cb`` after ``iterations`` Lloyd iterations and its nearest assignment
        (``a``/``d`` exact for ``basis``), remembered in ``growth["lloyd"]``."""
        key = (stage, hashlib.sha1(cb.tobytes()).digest(), cb.shape, iterations)
        if lloyd_memo is not None and key in lloyd_memo:
            return tuple(x.copy() for x in lloyd_memo[key])
        cb, a, d = cb.copy(), a.copy(), d.copy()
        _k.nearest_update(ts.vectors, cb, basis, a, d)  # the given assignment, made exact for cb
        _k.lloyd(ts.vectors, cb, a, d, iterations, 0.0)
        if lloyd_memo is not None:
            lloyd_memo[key] = (cb.copy(), a.copy(), d.copy())
        return cb, a, d

    def finalist_bar() -> float | None:
        """The PSNR a rung must beat to become a finalist (a miss either way below it): the
        best's when only the best is refined, else the RD_FINALISTS-th best's (None: any)."""
        if state["best"] is None:
            return None
        if state["best"][0].shape[0] > RD_GROWTH_LARGE:
            return state["best"][1][2]
        ranked = sorted((t[1][2] for t in tried), reverse=True)
        return ranked[RD_FINALISTS - 1] if len(ranked) >= RD_FINALISTS else None

    def evaluate(last: tuple) -> None:
        """Try a rung: ``last`` is (codebook, assign, dist, basis) as :func:`ailbg` gave ``fits``."""
        if last[0].shape[0] == state["size"]:  # growth jumped past this rung: nothing new to try
            return
        cb, a, d, basis = last
        state["size"] = cb.shape[0]
        cb, a, d = lloyd_from("rung", cb, a, d, basis, rung_lloyd(cb.shape[0]))
        best = state["best"][1] if state["best"] is not None else None
        fitted = coder.fit_lambda(cb, budget, state["lam"], try_nearest=state["rung"] == 0, steps=RD_RUNG_STEPS,
                                  beat=finalist_bar(), reference=(len(best[1]), best[2]) if best is not None else None)
        if fitted is None:
            state["misses"] += 1
        elif fitted[1] is None:  # gave up: it codes below the best even over the budget
            state["misses"] += 1
            state["lam"] = fitted[0]
        else:
            tried.append((cb, fitted, a, d))
            if state["best"] is None or fitted[2] > state["best"][1][2]:
                state["best"], state["misses"] = (cb, fitted), 0
            else:
                state["misses"] += 1
            state["lam"] = fitted[0]
        large = state["best"] is not None and state["best"][0].shape[0] > RD_GROWTH_LARGE
        if state["misses"] >= (RD_MISSES_LARGE if large else RD_MISSES):
            state["stop"] = True

    def fits(cb: np.ndarray, assign: np.ndarray, dist: np.ndarray, basis: np.ndarray) -> bool:
        if state["stop"]:
            return False
        # the stream size with the growth's own (float-codebook) assignment: close to that of
        # the quantised codebook's, and it costs no search; it only says when a rung is passed
        q, remap = _sorted_codebook(quantise_codebook(cb, coder.step))
        n = len(code_plane(q, q.shape[0], remap[assign], coder.rows, coder.cols))
        while state["rung"] < len(RD_SIZE_LADDER) and n > budget * RD_SIZE_LADDER[state["rung"]]:
            if state["last"] is not None:
                evaluate(state["last"])
            state["rung"] += 1
            if state["stop"]:
                return False
        if state["rung"] >= len(RD_SIZE_LADDER):
            state["stop"] = True
            return False
        state["last"] = (cb, assign, dist, basis)
        return True

    # no final Lloyd here: once a rung ends the growth, the grown codebook is not used
    final = ailbg(ts, cap, fits=fits, remove_insert_trials=0, schedule=rd_growth_schedule, fits_with_assignment=True,
                  final_iterations=0, lazy_from=RD_GROWTH_LARGE, final_refusal=True,
                  rounds=growth["rounds"] if growth is not None else None)
    if not state["stop"]:  # growth ended (size cap or nothing left to split) below the last rung tried
        a, d, _ = _assign(ts.vectors, final)
        _k.lloyd(ts.vectors, final, a, d, 30, 0.0)
        evaluate((final, a, d, final))
    if not tried:
        return final, None
    # the RD_FINALISTS best rungs: Lloyd to convergence, then the rate weight to 2**(1/LAMBDA_STEPS)
    # (ranking after a few Lloyd iterations and a coarse weight can swap near-equal rungs)
    best_cb, best_fit = max(tried, key=lambda t: t[1][2])[:2]
    large = best_cb.shape[0] > RD_GROWTH_LARGE
    for cb, fitted, a, d in sorted(tried, key=lambda t: -t[1][2])[:1 if large else RD_FINALISTS]:
        # (a, d: the rung's nearest assignment after its Lloyd)
        cb, a, d = lloyd_from("final", cb, a, d, cb, max(0, RD_FINAL_LLOYD - rung_lloyd(cb.shape[0])))
        refit = coder.fit_lambda(cb, budget, fitted[0], try_nearest=fitted[0] == 0.0,
                                 bracket=2.0 ** (1.0 / RD_RUNG_STEPS))
        if refit is not None and refit[2] > best_fit[2]:
            best_cb, best_fit = cb, refit
    return best_cb, best_fit


_LOG2_LAM_FLOOR = -20.0  # lam = 2**x; x at the floor means plain nearest-neighbour coding


class CodebookFitness:
    """Fitness of an individual: the PSNR (dB) of the plane as coded within the budget.

    An individual is the flattened codebook, followed (``rate_weight=True``) by
    log2 of the rate weight of the entropy-constrained assignment.  It is coded
    exactly as the codec codes it (quantised codebook, assignment, arithmetic coder);
    a stream over the budget is infeasible and scores ``-1000 - overshoot / budget``
    (below every feasible one, and less bad the closer it is).  Also offers the
    Lloyd step the optimisers use as local search.
    """

    def __init__(self, ts: TrainingSet, coder: PlaneCoder, n_code: int, budget: int | None, rate_weight: bool,
                 model: RateModel | None = None):
        self.ts, self.coder, self.budget, self.rate_weight = ts, coder, budget, rate_weight
        self.shape = (n_code, ts.vectors.shape[1])
        self.evaluations = 0
        self.model = model  # with the rate weight: the bit costs every evaluation's assignment uses
        self.codings: dict[bytes, tuple[bytes, float, int]] = {}  # individual -> its coding (a fitness is exact)

    def split(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        n = self.shape[0] * self.shape[1]
        cb = x[:n].reshape(self.shape)
        if not self.rate_weight or x[n] <= _LOG2_LAM_FLOOR:
            return cb, 0.0
        return cb, float(2.0 ** min(x[n], 40.0))

    def coding(self, x: np.ndarray) -> tuple[bytes, float, int]:
        """(segment, PSNR, codewords) of individual ``x``, coded once (then remembered)."""
        key = np.ascontiguousarray(x, dtype=np.float64).tobytes()
        if key not in self.codings:
            cb, lam = self.split(x)
            self.codings[key] = self.coder.code(cb, lam, model=self.model)
        return self.codings[key]

    def __call__(self, x: np.ndarray) -> float:
        self.evaluations += 1
        if self.budget is None:
            cb, lam = self.split(x)
            _, _, sse = self.coder.assign(self.coder.quantised(cb), lam, self.model)
            return self.ts.psnr(sse)
        seg, psnr, _ = self.coding(x)
        if len(seg) > self.budget:
            return -1000.0 - (len(seg) - self.budget) / self.budget
        return psnr

    def lloyd_step(self, x: np.ndarray, iterations: int = 2) -> tuple[np.ndarray, float]:
        """Centroid updates of the cells of the assignment in use (nearest or entropy-constrained)."""
        cb, lam = self.split(x)
        cb = cb.copy()
        for _ in range(iterations):
            q_sorted, remap = _sorted_codebook(quantise_codebook(cb, self.coder.step))
            assign, dist, _ = self.coder.assign(q_sorted, lam, self.model)
            sums, counts, _, _ = _k.cell_statistics(self.ts.vectors, assign, dist, q_sorted.shape[0])
            # cells are numbered in the coded (sorted) order; codeword i of the individual is cell remap[i]
            live = counts[remap] > 0
            cb[live] = sums[remap[live]] / counts[remap[live], None]
        out = x.copy()
        out[: cb.size] = cb.ravel()
        return out, self(out)


def refine_codebook(ts: TrainingSet, coder: PlaneCoder, codebook: np.ndarray, lam: float, budget: int | None, *,
                    method: str, iterations: int, population: int, seed: int, rate_weight: bool,
                    noise: float = 0.02, memetic: bool = True, callback=None, progress: bool = False,
                    model: RateModel | None = None, start_coding: tuple[bytes, float, int] | None = None,
                    codings: dict | None = None) -> tuple[np.ndarray, float, "_opt.OptimizeResult"]:
    """Refine a codebook (and, with ``rate_weight``, the rate weight) with an optimiser of
    :mod:`wavecodec.optimize`; fitness: :class:`CodebookFitness`.

    The population is the starting point and ``population - 1`` copies whose codewords
    carry Gaussian noise of standard deviation ``noise`` times each coordinate's spread
    over the codebook (and whose log2 rate weight is raised by |N(0, 1/4)|, so that most
    start within the budget).  With ``memetic`` a two-iteration Lloyd step refines the
    iteration's best trial (see :func:`wavecodec.optimize.fpara`).  ``model`` (optional,
    with ``rate_weight``): the bit costs every evaluation's assignment uses
    (:meth:`PlaneCoder.assign`).  ``start_coding`` (optional): the starting point's coding
    (segment, PSNR, codewords) with ``codebook``, ``lam`` and ``model``, which its fitness then
    reuses (when its rate weight round-trips log2 exactly: the same coding).  ``codings``
    (optional): a dict that receives every individual's coding (:attr:`CodebookFitness.codings`).
    Returns (codebook, lam, optimiser result).
    """
    rng = np.random.default_rng(seed)
    fit = CodebookFitness(ts, coder, codebook.shape[0], budget, rate_weight, model)
    if codings is not None:
        fit.codings = codings
    spread = codebook.std(axis=0) + coder.step
    log_lam = np.log2(lam) if lam > 0 else _LOG2_LAM_FLOOR
    start = np.concatenate([codebook.ravel(), [log_lam]]) if rate_weight else codebook.ravel()
    if start_coding is not None and budget is not None and fit.split(start)[1] == (lam if rate_weight else 0.0):
        fit.codings[np.ascontiguousarray(start, dtype=np.float64).tobytes()] = start_coding
    pop = [start]
    for _ in range(population - 1):
        x = (codebook + rng.normal(0.0, 1.0, codebook.shape) * noise * spread).ravel()
        if rate_weight:
            x = np.concatenate([x, [log_lam + abs(rng.normal(0.0, 0.25)) if lam > 0 else _LOG2_LAM_FLOOR]])
        pop.append(x)
    result = _opt.optimize(method, fit, np.array(pop), iterations=iterations, seed=seed,
                           local_search=fit.lloyd_step if memetic else None, callback=callback, progress=progress)
    cb, lam_out = fit.split(result.best)
    return cb.copy(), lam_out, result


# --------------------------------------------------------------------------- shared codebooks


@dataclass(frozen=True)
class Codebook:
    """A pre-trained codebook shared by encoder and decoder (one per plane)."""

    block: int
    k: int
    step: float
    planes: tuple  # integer codebooks (N_p, k), sorted as coded

    @property
    def fingerprint(self) -> int:
        crc = zlib.crc32(np.array([self.block, self.k], dtype="<i4").tobytes())
        crc = zlib.crc32(np.array([self.step], dtype="<f4").tobytes(), crc)
        for q in self.planes:
            crc = zlib.crc32(np.array(q.shape, dtype="<i4").tobytes(), crc)
            crc = zlib.crc32(np.ascontiguousarray(q, dtype="<i8").tobytes(), crc)
        return crc

    def save(self, path: str | os.PathLike) -> None:
        arrays = {f"plane{i}": q for i, q in enumerate(self.planes)}
        with open(path, "wb") as fh:
            np.savez(fh, block=self.block, k=self.k, step=self.step, n_planes=len(self.planes), **arrays)


def _check_shared(cb: Codebook) -> Codebook:
    if cb.block not in BLOCKS or not 1 <= cb.k <= cb.block ** 2 or not (cb.step > 0 and np.isfinite(cb.step)):
        raise InvalidArgumentError("vq-dct: codebook has an invalid block size, k or step")
    if len(cb.planes) not in (1, 3):
        raise InvalidArgumentError("vq-dct: a codebook holds 1 or 3 planes")
    for q in cb.planes:
        if q.ndim != 2 or q.shape[1] != cb.k or not 1 <= q.shape[0] <= MAX_CODEWORDS:
            raise InvalidArgumentError(f"vq-dct: codebook plane of shape {q.shape} does not match k={cb.k}")
    return cb


def load_codebook(path: str | os.PathLike) -> Codebook:
    """Load a codebook saved by :meth:`Codebook.save` (decode with it through
    ``wavecodec.get_codec("vq-dct", codebook=...)``)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            n = int(z["n_planes"])
            cb = Codebook(int(z["block"]), int(z["k"]), float(z["step"]),
                          tuple(np.ascontiguousarray(z[f"plane{i}"], dtype=np.int64) for i in range(n)))
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidArgumentError(f"vq-dct: cannot read codebook file {path!r}: {exc}") from None
    return _check_shared(cb)


def _colour_planes(pixels: np.ndarray, bit_depth: int) -> list[np.ndarray]:
    if pixels.shape[2] == 3:
        ycc = T.ict_forward(pixels.astype(np.float64))
        half = float(1 << (bit_depth - 1))
        return [ycc[0], ycc[1] + half, ycc[2] + half]
    return [pixels[:, :, 0].astype(np.float64)]


def train_codebook(images, *, block: int = 4, k: int | None = None, size: int = DEFAULT_SIZE,
                   step: float = 2.0, bit_depth: int = 8, optimizer: str = "none", iterations: int = 10,
                   population: int = 8, seed: int = 0) -> Codebook:
    """Train a shared codebook on a list of images (all gray or all colour) by AILBG
    (and optionally an optimiser) and return it."""
    if block not in BLOCKS:
        raise InvalidArgumentError(f"vq-dct: block must be 4 or 8, got {block!r}")
    k = block * block if k is None else int(k)
    if not 1 <= k <= block * block:
        raise InvalidArgumentError(f"vq-dct: k must be in 1..{block * block}, got {k}")
    if not 2 <= size <= MAX_CODEWORDS:
        raise InvalidArgumentError(f"vq-dct: size must be in 2..{MAX_CODEWORDS}, got {size}")
    images = [np.asarray(im) for im in images]
    if not images:
        raise InvalidArgumentError("vq-dct: train_codebook needs at least one image")
    colour = images[0].ndim == 3 and images[0].shape[2] == 3
    planes_out = []
    for p in range(3 if colour else 1):
        vecs, dropped, n_pix = [], 0.0, 0
        for im in images:
            pix = im if im.ndim == 3 else im[:, :, None]
            plane = _colour_planes(pix, bit_depth)[p]
            v, d, rows, cols = block_vectors(plane, block, k)
            vecs.append(v)
            dropped += float(d.sum())
            n_pix += rows * cols * block * block
        ts = TrainingSet(np.ascontiguousarray(np.vstack(vecs)), dropped, float((1 << bit_depth) - 1), n_pix)
        cb = ailbg(ts, size if p == 0 else max(2, size // 4))
        if optimizer != "none":  # no rate here: fitness = PSNR of the nearest-neighbour coding
            coder = PlaneCoder(ts, ts.vectors.shape[0], 1, step)
            cb, _, _ = refine_codebook(ts, coder, cb, 0.0, None, method=optimizer, iterations=iterations,
                                       population=population, seed=seed, rate_weight=False)
        planes_out.append(_sorted_codebook(quantise_codebook(cb, step))[0])
    return _check_shared(Codebook(block, k, float(step), tuple(planes_out)))


# --------------------------------------------------------------------------- codec


def _check_int(name, lo, hi, allow=()):
    def check(v):
        if v in allow and not isinstance(v, bool):
            return v
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            extra = "".join(f" or {a!r}" for a in allow)
            raise InvalidArgumentError(f"vq-dct: option {name} must be an int in {lo}..{hi}{extra}, got {v!r}")
        return int(v)
    return check


def _check_step(v):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not 0.05 <= v <= 1024:
        raise InvalidArgumentError(f"vq-dct: option codebook_step must be a number in 0.05..1024, got {v!r}")
    return float(v)


def _check_share(v):
    if v == "auto":
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not 0.02 <= v <= 0.3:
        raise InvalidArgumentError(f"vq-dct: option chroma_share must be 'auto' or a number in 0.02..0.3, got {v!r}")
    return float(v)


def _check_codebook(v):
    if v is None or isinstance(v, Codebook):
        return v if v is None else _check_shared(v)
    if isinstance(v, (str, os.PathLike)):
        return load_codebook(v)
    raise InvalidArgumentError(f"vq-dct: option codebook must be None, a Codebook or a file path, got {v!r}")


def _check_shared_options(shared: Codebook, options: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """With a shared codebook, the codebook sets block, k and step and no design runs:
    an option that says otherwise is an error naming it (a default passes)."""
    if options["block"] not in (shared.block, defaults["block"]):
        raise InvalidArgumentError(f"vq-dct: option block={options['block']} conflicts with the shared codebook's"
                                   f" block size {shared.block}")
    if options["k"] != "auto" and options["k"] != shared.k:
        raise InvalidArgumentError(f"vq-dct: option k={options['k']} conflicts with the shared codebook's k={shared.k}")
    if options["codebook_step"] not in (defaults["codebook_step"], shared.step):
        raise InvalidArgumentError(f"vq-dct: option codebook_step={options['codebook_step']} conflicts with the shared"
                                   f" codebook's step {shared.step}")
    for name in ("codebook_size", "design", "optimizer", "assignment", "iterations", "population", "chroma_share"):
        if options[name] != defaults[name]:
            raise InvalidArgumentError(f"vq-dct: option {name}={options[name]!r} has no effect with a shared codebook"
                                       " (the codebook is not designed; its indices are the nearest codewords)")


def auto_k(block: int) -> int:
    """Zonal size for ``k="auto"``: the first 10/16 of the coefficients (10 of 16 for 4x4).

    Measured on kodim01 and kodim23 at 0.05-0.5 bpp (k in 3, 6, 10, 16; docs/vq-dct.md):
    k = 10 is best or within 0.07 dB of the best at every rate from 0.1 bpp, and at
    0.05 bpp the few codewords the rate allows make k immaterial.
    """
    return -(-block * block * 10 // 16)


@dataclass
class PlaneResult:
    """What encoding one plane produced (for the benchmark and ``info``).

    ``psnr_lbg``: the design alone with nearest-neighbour coding (plain VQ);
    ``psnr_start``: what the optimiser started from (with ``assignment="rd"``, the
    design's codebook and rate weight with the entropy-constrained assignment);
    ``psnr_final``: the coded plane.  With ``gray``, PSNRs are those of the decoded
    pixels; otherwise of the padded plane before rounding (see :meth:`PlaneCoder.psnr`).
    """

    segment: bytes
    n_code: int
    k: int
    psnr_lbg: float | None
    psnr_start: float
    psnr_final: float
    rate_weight: float
    optimizer: Any = None
    start_codebook: np.ndarray | None = field(default=None, repr=False)  # float codebook the optimiser started from


class DesignCache:
    """Memo of codebook designs, owned by whoever creates it (a call, or a codec bound with
    ``wavecodec.get_codec("vq-dct", design_cache=DesignCache())``).

    Designs (AILBG, the rate design of ``assignment="rd"``, the colour share search) are
    keyed by (kind, the plane's vectors, k, budget, size, step, ...): encoding the same
    image at the same rate with several optimisers or designs then designs the codebook
    once (``benchmarks/bench_vq.py``); the output is the same as without a cache.  Safe
    to share between threads (a lock guards the dictionary; two threads that miss the
    same key both design it, and the first result stays).  Cached designs are shared,
    not copied: the encoder never modifies a codebook in place.
    """

    def __init__(self) -> None:
        self._entries: dict = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, kind: str, ts: "TrainingSet | None", key_extra: tuple, design: Callable[[], Any]):
        """``design()``, memoised under (kind, the plane's vectors, key_extra)."""
        key = (kind,) + ((hashlib.sha1(ts.vectors.tobytes()).hexdigest(), ts.vectors.shape) if ts is not None
                         else ()) + key_extra
        with self._lock:
            if key in self._entries:
                return self._entries[key]
        value = design()
        with self._lock:
            return self._entries.setdefault(key, value)


SMALL_CODEBOOK = 128


# the optimiser's large budget while codewords x blocks is at most this (luma and gray planes):
# 64 codewords on a 768 x 512 plane (24,576 blocks of 4 x 4)
OPTIMISER_SMALL_WORK = 64 * 24576


def optimiser_budget(n_code: int, iterations: int | str, population: int | str, chroma: bool = False,
                     n_blocks: int = 24576) -> tuple[int, int]:
    """(iterations, population) of the optimiser, resolving ``"auto"``: 10 x 8 for a gray or
    luma plane whose evaluations are cheap (``n_code * n_blocks`` at most
    :data:`OPTIMISER_SMALL_WORK`: up to 64 codewords on a 768 x 512 plane), else 3 x 4 (which
    stops early, :func:`optimiser_stops_on_stall`).  Every fitness evaluation codes the whole
    plane (search, two rate-weighted assignment rounds, the coder), and its cost grows with
    N and with the number of blocks: at 0.25-0.5 bpp, 98 evaluations took longer than the
    rate design itself, and at 65-128 codewords (kodim13 gray and kodim01's luma at 0.25
    bpp) 98 evaluations took 2.3 s for +0.002 to +0.004 dB.  With few codewords they are
    cheap and the optimiser gains most (+0.03 to +0.09 dB at 0.1 bpp).  A chroma plane
    (``chroma``) always gets 3 x 4: its squared error is a few per cent of the luma plane's
    at these rates, so what the optimiser gains there hardly moves the PSNR over RGB
    (docs/vq-dct.md)."""
    small = n_code * n_blocks <= OPTIMISER_SMALL_WORK and not chroma
    return (10 if small else 3) if iterations == "auto" else iterations, \
        (8 if small else 4) if population == "auto" else population


def optimiser_stops_on_stall(n_code: int, iterations: int | str, chroma: bool = False,
                             n_blocks: int = 24576) -> bool:
    """Whether the optimiser stops after an iteration that did not raise the best fitness:
    with ``iterations="auto"`` and the 3 x 4 budget of :func:`optimiser_budget` (ours, for
    speed: on Kodak gray at 0.25-0.5 bpp, an iteration without gain was followed by gains
    of at most 0.0006 dB; with few codewords the optimiser gains later, and keeps its 10
    iterations)."""
    return iterations == "auto" and (n_code * n_blocks > OPTIMISER_SMALL_WORK or chroma)


def encode_plane(plane: np.ndarray, *, block: int, k: int, budget: int | None, size: int | None, design: str,
                 optimizer: str, iterations: int | str, population: int | str, seed: int, step: float, peak: float,
                 assignment: str = "rd", keep_slack: bool = False, gray: bool = False, chroma: bool = False,
                 callback=None, cache: DesignCache | None = None,
                 start: tuple[np.ndarray, float] | None = None, growth: dict | None = None,
                 codings: dict | None = None) -> PlaneResult:
    """Design a codebook for one plane within ``budget`` bytes, refine it, code the plane.

    1. with ``assignment="rd"``, a budget and ``design="ailbg"``: :func:`rd_design` (an
       AILBG codebook larger than plain VQ affords, coded with the entropy-constrained
       assignment and the rate weight that fits): ``psnr_start`` (``psnr_lbg`` is then
       None: the plain design is skipped, its rung-1 codebook is one of the rate
       design's candidates);
    2. otherwise (or if no rate weight fits): AILBG (or k-means at the size AILBG
       reached) at the largest size whose nearest-neighbour stream fits the budget:
       plain VQ, ``psnr_lbg``; with ``assignment="rd"`` (k-means), the rate design's
       size is tried too;
    3. the optimiser refines the codebook (and rate weight) from there, kept if better
       and within the budget (with ``keep_slack``, within the bytes step 1/2 used: the
       colour codec codes chroma first and gives luma what chroma left over; ``chroma``:
       a chroma plane, whose optimiser budget is the small one, :func:`optimiser_budget`).

    ``cache`` (a :class:`DesignCache`, optional) memoises the designs of steps 1-2.
    ``start`` (float codebook, rate weight), with ``assignment="rd"`` and a budget,
    replaces steps 1-2: that codebook with the rate weight refitted to this budget
    (the colour share search codes luma this way at its other shares).  ``growth``
    (optional): the rate design's growth rounds and Lloyd results for this plane, shared by
    the calls that design it at other budgets (:func:`rd_design`'s ``growth``; the caller
    keeps it for one image only); ``codings`` (optional): the rate models and codings of this plane shared
    with those calls (:class:`PlaneCoder`'s ``shared``; also for one image only).
    """
    vectors, dropped, rows, cols = block_vectors(plane, block, k)
    ts = TrainingSet(vectors, float(dropped.sum()), peak, rows * cols * block * block)
    coder = PlaneCoder(ts, rows, cols, step, plane if gray else None, block, codings)

    def memo(kind: str, key: tuple, make: Callable[[], Any]):
        return make() if cache is None else cache.get(kind, ts, key, make)

    def fits(cb: np.ndarray) -> bool:
        return budget is None or len(coder.code(cb, 0.0, quality=False)[0]) <= budget

    cap = size if size is not None else (DEFAULT_SIZE if budget is None else MAX_CODEWORDS)
    cap = min(cap, vectors.shape[0])
    key = (k, budget, step, cap)
    rate_weight = assignment == "rd" and budget is not None
    codebook = None
    psnr_lbg = None
    model = None  # the RateModel the start was coded with (None: the default assignment)
    if rate_weight and start is not None:
        fitted = coder.fit_lambda(start[0], budget, start[1], bracket=2.0 ** 0.25)
        if fitted is not None:
            codebook, (lam, seg, quality, n_code, model) = start[0], fitted
    if rate_weight and design == "ailbg" and codebook is None:
        rd_cb, fitted = memo("rd", key, lambda: rd_design(ts, coder, budget, cap, growth))
        if fitted is not None:
            codebook, (lam, seg, quality, n_code, model) = rd_cb, fitted
    if codebook is None:
        if design == "kmeans" and budget is None:
            codebook = kmeans_codebook(ts, cap, seed)
        else:
            lbg = memo("ailbg", key, lambda: ailbg(ts, cap, fits=fits))
            codebook = kmeans_codebook(ts, lbg.shape[0], seed) if design == "kmeans" else lbg
        while budget is not None and codebook.shape[0] > 1:  # k-means (or a one-codeword misfit) over the budget
            size_now = len(coder.code(codebook, 0.0, quality=False)[0])
            if size_now <= budget:
                break
            # bytes one codeword costs: its coefficients plus the index bits it adds (d/dN of M log2 N / 8)
            per_codeword = codebook.shape[1] + vectors.shape[0] / (8 * np.log(2) * codebook.shape[0])
            codebook = _drop_codewords(ts, codebook, int(np.ceil((size_now - budget) / per_codeword)))
        seg, psnr_lbg, n_code = coder.code(codebook, 0.0)
        lam, quality = 0.0, psnr_lbg
        if rate_weight and len(seg) <= budget and design == "kmeans":
            rd_cb, fitted = memo("rd", key, lambda: rd_design(ts, coder, budget, cap, growth))
            rd_cb = kmeans_codebook(ts, rd_cb.shape[0], seed)
            fitted = coder.fit_lambda(rd_cb, budget, fitted[0] if fitted else 0.0)
            if fitted is not None and fitted[2] > quality:
                codebook, (lam, seg, quality, n_code, model) = rd_cb, fitted
    psnr_start = quality
    start_codebook = codebook
    iterations_option = iterations
    iterations, population = optimiser_budget(codebook.shape[0], iterations, population, chroma, rows * cols)
    result = None
    if optimizer != "none" and codebook.shape[0] >= 2 and iterations > 0:
        if keep_slack and budget is not None:
            budget = len(seg)
        # above SMALL_CODEBOOK codewords, every evaluation starts its assignment rounds from the
        # starting point's coding (RateModel) instead of a nearest-codeword search; below, the
        # evaluations are cheap and the optimiser gains most, and they keep the search
        if not rate_weight or codebook.shape[0] <= SMALL_CODEBOOK:
            model = None
        elif model is None:
            model = coder.rate_model(coder.quantised(codebook), lam)
        report_progress(0.75, "design")  # the rate design is done (most of the time); the optimiser the rest

        # with the large-codebook budget, an iteration that does not raise the best ends the run
        stop_on_stall = optimiser_stops_on_stall(codebook.shape[0], iterations_option, chroma, rows * cols)
        best_before = [quality]

        def on_iteration(iteration, best_fitness):
            report_progress(0.75 + 0.25 * iteration / iterations, "optimizer")
            stalled = stop_on_stall and best_fitness <= best_before[0]
            best_before[0] = best_fitness
            user_stop = callback(iteration, best_fitness) if callback is not None else None
            return True if stalled else user_stop

        codings: dict = {}
        refined, lam2, result = refine_codebook(
            ts, coder, codebook, lam, budget, method=optimizer, iterations=iterations, population=population,
            seed=seed, rate_weight=rate_weight, callback=on_iteration, model=model, start_coding=(seg, quality, n_code),
            codings=codings)
        best_key = np.ascontiguousarray(result.best, dtype=np.float64).tobytes()
        seg2, quality2, n2 = codings[best_key] if best_key in codings else coder.code(refined, lam2, model=model)
        if (budget is None or len(seg2) <= budget) and quality2 > quality:
            seg, quality, n_code, lam = seg2, quality2, n2, lam2
    if budget is not None and len(seg) > budget:  # only when even one codeword does not fit
        # (budget and smallest are the plane's: the segment of one codeword is its smallest)
        raise RateUnreachableError(
            f"vq-dct: the rate budget is too small for even a one-codeword plane ({len(seg)} > {budget} bytes)",
            budget=budget, smallest=len(seg))
    return PlaneResult(seg, n_code, k, psnr_lbg, psnr_start, quality, lam, result, start_codebook)


@dataclass
class _Plan:
    block: int
    shared: int  # 0: codebooks in the stream; else the fingerprint of the shared codebook
    step: float
    planes: list  # (n_code, k, segment length) per plane

    def pack(self) -> bytes:
        w = ParamWriter()
        w.u8(_FORMAT).u8(self.block).f32(self.step).i32(self.shared - (1 << 32) if self.shared >= (1 << 31)
                                                        else self.shared)
        for n_code, k, length in self.planes:
            w.i32(n_code).u8(k).i32(length)
        return w.bytes()

    @classmethod
    def unpack(cls, header: Header) -> "_Plan":
        r = ParamReader(header.params, "vq-dct")
        r.u8("format", _FORMAT, _FORMAT)
        block = r.u8("block size", 4, 8)
        if block not in BLOCKS:
            raise CorruptStreamError(f"vq-dct stream: block size {block} is not 4 or 8")
        step = r.f32("codebook step")
        if not 0.05 <= step <= 1024:
            raise CorruptStreamError(f"vq-dct stream: codebook step {step} out of range")
        shared = r.i32("codebook fingerprint") & 0xFFFFFFFF
        planes = []
        for _ in range(header.channels):
            n_code = r.i32("codebook size")
            k = r.u8("vector dimension", 1, block * block)
            length = r.i32("segment length")
            if not 1 <= n_code <= MAX_CODEWORDS:
                raise CorruptStreamError(f"vq-dct stream: codebook size {n_code} outside 1..{MAX_CODEWORDS}")
            if length < 0:
                raise CorruptStreamError("vq-dct stream: negative segment length")
            planes.append((n_code, k, length))
        r.end()
        if sum(p[2] for p in planes) != header.payload_length:
            raise CorruptStreamError("vq-dct stream: segment lengths do not add up to the payload length")
        return cls(block, shared, step, planes)


def _reconstruct(plan: _Plan, payload: bytes, h: int, w: int, channels: int, bit_depth: int,
                 shared: Codebook | None) -> np.ndarray:
    """Decoded image (h, w, channels), rounded and clipped, as float64."""
    rows, cols = -(-h // plan.block), -(-w // plan.block)
    planes = []
    offset = 0
    for p, (n_code, k, length) in enumerate(plan.planes):
        segment = payload[offset: offset + length]
        offset += length
        q_shared = None
        if shared is not None:
            q_shared = shared.planes[p]
            if q_shared.shape != (n_code, k):
                raise CorruptStreamError("vq-dct stream: shared codebook does not match the stream")
        q, idx = decode_plane(segment, n_code, k, rows, cols, q_shared)
        vectors = _k.reconstruct_blocks(np.ascontiguousarray(q * plan.step, dtype=np.float64), idx)
        planes.append(blocks_to_plane(vectors, plan.block, rows, cols, h, w))
    if channels == 3:
        half = float(1 << (bit_depth - 1))
        img = T.ict_inverse(np.stack([planes[0], planes[1] - half, planes[2] - half]))
    else:
        img = planes[0][:, :, None]
    return np.clip(np.rint(img), 0, (1 << bit_depth) - 1)


class VqDctCodec(Codec):
    name = "vq-dct"
    description = "vector quantisation of block DCTs, adaptive incremental LBG codebook refined by FPARA"
    reference = "Chavan et al., The Imaging Science Journal 68(5):259-277, 2020"
    capabilities = Capabilities(embedded=False, lossless=False, colour=True)
    options = (
        Option("block", 4, "block size B (B x B blocks)", BLOCKS),
        Option("k", "auto", "DCT coefficients per vector (zigzag order), 1..B*B; 'auto': ceil(10*B*B/16) (10 for 4x4)",
               check=_check_int("k", 1, 64, ("auto",))),
        Option("codebook_size", "auto",
               f"codewords per plane (2..{MAX_CODEWORDS}); 'auto': as many as the rate allows ({DEFAULT_SIZE} without"
               " a rate); with a rate, an int is an upper bound", check=_check_int("codebook_size", 2, MAX_CODEWORDS,
                                                                                    ("auto",))),
        Option("design", "ailbg", "'ailbg': adaptive incremental LBG; 'kmeans': scikit-learn k-means", DESIGNS),
        Option("optimizer", "fpara", "codebook refinement: 'fpara', 'fpa', 'roa' or 'none'", OPTIMIZERS),
        Option("assignment", "rd", "'rd': entropy-constrained index choice with a rate weight the optimiser tunes (needs"
               " a rate); 'nearest': nearest codeword, the paper's VQ", ASSIGNMENTS),
        Option("iterations", "auto", "optimiser iterations; 'auto': 10 for a gray or luma plane coded with up to"
               " 64 codewords per 24,576 blocks (768 x 512), else 3 (ending after an iteration without gain)",
               check=_check_int("iterations", 0, 10000, ("auto",))),
        Option("population", "auto", "optimiser population (riders/flowers), >= 4; 'auto': 8 for a gray or luma"
               " plane coded with up to 64 codewords per 24,576 blocks, else 4",
               check=_check_int("population", 4, 256, ("auto",))),
        Option("seed", 0, "seed of the optimiser and of k-means", check=_check_int("seed", 0, 2**31 - 1)),
        Option("chroma_share", "auto", "colour only: each chroma plane's share of the budget, 0.02..0.3 (luma gets the"
               " rest), or 'auto': the best of 0.05-0.15 for the image", check=_check_share),
        Option("codebook_step", 2.0, "quantiser step of the codebook coefficients", check=_check_step),
        Option("codebook", None, "shared pre-trained codebook (Codebook or file path): not sent in the stream",
               check=_check_codebook),
    )

    def __init__(self, codebook: Codebook | None = None, design_cache: DesignCache | None = None) -> None:
        self.codebook = codebook
        self.design_cache = design_cache

    def bind(self, **bound: Any) -> "VqDctCodec":
        """A vq-dct codec object bound to ``codebook`` (a :class:`Codebook` or the path of one
        saved by :meth:`Codebook.save`: encode without sending it, decode streams coded with
        it) and/or ``design_cache`` (a :class:`DesignCache` its encodes share)."""
        unknown = sorted(set(bound) - {"codebook", "design_cache"})
        if unknown:
            raise InvalidArgumentError(f"vq-dct: cannot bind {', '.join(unknown)}; bindable: codebook, design_cache")
        codebook = _check_codebook(bound["codebook"]) if "codebook" in bound else self.codebook
        cache = bound.get("design_cache", self.design_cache)
        if cache is not None and not isinstance(cache, DesignCache):
            raise InvalidArgumentError(f"vq-dct: design_cache must be a vq_dct.DesignCache, got {cache!r}")
        return VqDctCodec(codebook, cache)

    def __repr__(self) -> str:
        bound = [f"codebook {self.codebook.fingerprint:08x}"] if self.codebook is not None else []
        bound += ["design cache"] if self.design_cache is not None else []
        return super().__repr__() + (f" bound to {', '.join(bound)}" if bound else "")

    def encode_image(self, image: ImageSpec, target: EncodeTarget, *, lossless: bool,
                     options: Mapping[str, Any]) -> tuple[bytes, bytes]:
        block = options["block"]
        shared: Codebook | None = options["codebook"]
        if shared is None:
            shared = self.codebook
        elif self.codebook is not None and shared.fingerprint != self.codebook.fingerprint:
            raise InvalidArgumentError("vq-dct: option codebook differs from the codebook this codec object is bound to")
        planes = _colour_planes(image.pixels, image.bit_depth)
        peak = float((1 << image.bit_depth) - 1)
        h, w = image.height, image.width
        if shared is not None:
            if len(shared.planes) != len(planes):
                raise InvalidArgumentError(f"vq-dct: option codebook: the shared codebook has {len(shared.planes)}"
                                           f" plane(s), the image {len(planes)}")
            _check_shared_options(shared, options, {o.name: o.default for o in self.options})
            return self._encode_shared(planes, shared, target, h, w)
        if len(planes) == 1 and options["chroma_share"] != "auto":
            raise InvalidArgumentError(f"vq-dct: option chroma_share={options['chroma_share']!r} applies to colour"
                                       " images; this image is gray")
        if options["optimizer"] == "none":
            for name in ("iterations", "population"):
                if options[name] != "auto":
                    raise InvalidArgumentError(f"vq-dct: option {name}={options[name]!r} has no effect with"
                                               " optimizer='none'")
        cache = self.design_cache if self.design_cache is not None else DesignCache()  # this call's, if none bound
        step = options["codebook_step"]
        k_opt = options["k"]
        if k_opt != "auto" and k_opt > block * block:
            raise InvalidArgumentError(f"vq-dct: k={k_opt} exceeds {block * block} coefficients of a {block}x{block}"
                                       " block")
        size = None if options["codebook_size"] == "auto" else options["codebook_size"]
        k = k_opt if k_opt != "auto" else auto_k(block)
        # parameter block length does not depend on the values: measure it with placeholders
        params_len = len(_Plan(block, 0, step, [(1, 1, 0)] * len(planes)).pack())
        budget = target.payload_budget(b"\0" * params_len)
        growth_rounds: dict = {p: {"rounds": [], "lloyd": {}} for p in range(len(planes))}  # chroma (rd_design)
        plane_codings: dict = {p: {} for p in range(len(planes))}  # ... and each plane's models and codings

        def code_plane_within(p: int, plane_budget: int | None, optimizer: str, start=None) -> PlaneResult:
            return encode_plane(planes[p], block=block, k=k, budget=plane_budget, size=size,
                                design=options["design"], optimizer=optimizer,
                                assignment=options["assignment"], iterations=options["iterations"],
                                population=options["population"], seed=options["seed"], step=step, peak=peak,
                                keep_slack=p != 0, gray=len(planes) == 1, chroma=p != 0, cache=cache, start=start,
                                growth=growth_rounds[p] if p != 0 else None, codings=plane_codings[p])

        def smallest_segment(p: int) -> int:
            """Bytes of plane ``p`` coded with one codeword (the least a plane can take)."""
            try:
                return len(code_plane_within(p, 0, "none").segment)
            except RateUnreachableError as exc:
                return exc.smallest

        def code_planes(share: float, optimizer: str, luma_start=None, results=None) -> tuple[_Plan, bytes]:
            """Chroma first, each with ``share`` of the budget; luma takes what is left
            (``luma_start``: see :func:`encode_plane`'s ``start``; ``results``: a list that
            receives the planes' :class:`PlaneResult`).

            At budgets too small for that split, the chroma planes take one codeword each
            and luma the rest; when even that does not fit, the rate is unreachable."""
            segments, plan_planes = [None] * len(planes), [None] * len(planes)
            used = 0
            try:
                spans = ((0.0, 0.15), (0.15, 0.3), (0.3, 1.0)) if len(planes) == 3 else ((0.0, 1.0),)
                for (start, stop), p in zip(spans, [1, 2, 0] if len(planes) == 3 else [0]):
                    plane_budget = None if budget is None else (budget - used if p == 0 else int(budget * share))
                    # progress: the chroma planes a small part each, luma (the largest design) the rest
                    with progress_span(start, stop, "coding"):
                        res = code_plane_within(p, plane_budget, optimizer, luma_start if p == 0 else None)
                    if results is not None:
                        results.append(res)
                    segments[p] = res.segment
                    plan_planes[p] = (res.n_code, k, len(res.segment))
                    used += len(res.segment)
            except RateUnreachableError:
                fits = len(planes) == 3
                if fits:  # one codeword per chroma plane, luma the rest
                    used = 0
                    for p in (1, 2):
                        res = code_plane_within(p, smallest_segment(p), optimizer)
                        segments[p] = res.segment
                        plan_planes[p] = (res.n_code, k, len(res.segment))
                        used += len(res.segment)
                    try:
                        res = code_plane_within(0, budget - used, optimizer)
                    except RateUnreachableError:
                        fits = False
                    else:
                        segments[0] = res.segment
                        plan_planes[0] = (res.n_code, k, len(res.segment))
                if not fits:
                    raise self._unreachable([smallest_segment(p) for p in range(len(planes))], target, params_len,
                                            image) from None
            return _Plan(block, 0, step, plan_planes), b"".join(segments)

        share = options["chroma_share"]
        if len(planes) == 1 or budget is None or share != "auto":
            plan, payload = code_planes(CHROMA_SHARES[2] if share == "auto" else share, options["optimizer"])
            return plan.pack(), payload
        key = (hashlib.sha1(image.pixels.tobytes()).hexdigest(), image.pixels.shape, budget, block, k, size, step,
               options["design"], options["assignment"], options["seed"])
        with progress_span(0.0, 0.35, "chroma share"):
            share, luma_start = cache.get("chroma share", None, key,
                                          lambda: self._choose_chroma_share(image, code_planes))
        # luma keeps the codebook designed at the first share tried (rate weight refitted): even at that
        # share its budget moves, since the optimiser changes the chroma segments' lengths
        with progress_span(0.35, 1.0):
            plan, payload = code_planes(share, options["optimizer"], luma_start)
        return plan.pack(), payload

    def _unreachable(self, segments: list[int], target: EncodeTarget, params_len: int,
                     image: ImageSpec) -> RateUnreachableError:
        """The error for a budget below the smallest stream: one codeword per plane."""
        total = sum(segments)
        smallest = header_length(self.name, image.height, image.width, params_len, total) + total
        return RateUnreachableError(
            f"vq-dct: rate unreachable: the budget is {target.max_bytes} bytes but the smallest stream (one codeword"
            f" per plane) is {smallest} bytes, container header included", budget=target.max_bytes, smallest=smallest)

    def _choose_chroma_share(self, image: ImageSpec, code_planes) -> tuple[float, tuple | None]:
        """Hill-climb over :data:`CHROMA_SHARES` from 0.1: the share whose coding without
        the optimiser gives the least squared error over RGB (the error the colour PSNR
        measures).  On 8 Kodak images the best share ran from 0.05 to 0.15, and picking it
        per image gained about 0.2 dB over a fixed 0.1 at 0.1 and 0.25 bpp (docs/vq-dct.md).

        Only the first coding (0.075: the hill-climb compares 0.075 with 0.1 first; the
        largest luma budget of the two) designs the luma codebook; the other shares, and the
        final coding, code luma with that codebook and the rate weight refitted to what chroma
        leaves (``encode_plane(start=...)``): the luma design is the costly part, and the share
        only moves the luma budget by a few per cent.  Returns (share, that luma start)."""
        pixels = image.pixels.astype(np.float64)
        tried: dict[int, float] = {}
        luma_start = None

        def error(i: int) -> float:
            nonlocal luma_start
            if i not in tried:
                results: list = []
                plan, payload = code_planes(CHROMA_SHARES[i], "none", luma_start, results)
                if luma_start is None and results and results[-1].start_codebook is not None:
                    luma_start = (results[-1].start_codebook, results[-1].rate_weight)
                out = _reconstruct(plan, payload, image.height, image.width, 3, image.bit_depth, None)
                tried[i] = float(np.sum((out - pixels) ** 2))
            return tried[i]

        best = 2
        for direction in (-1, 1):  # the first coding, which designs the luma codebook, is at 0.075
            while 0 <= best + direction < len(CHROMA_SHARES) and error(best + direction) < error(best):
                best += direction
        return CHROMA_SHARES[best], luma_start

    def _encode_shared(self, planes, shared: Codebook, target: EncodeTarget, h: int, w: int):
        segments, plan_planes = [], []
        for plane, q in zip(planes, shared.planes):
            vectors, _, rows, cols = block_vectors(plane, shared.block, shared.k)
            assign, _, _ = _assign(vectors, q * shared.step)
            seg = code_plane(None, q.shape[0], assign, rows, cols)
            segments.append(seg)
            plan_planes.append((q.shape[0], shared.k, len(seg)))
        params = _Plan(shared.block, shared.fingerprint, shared.step, plan_planes).pack()
        budget = target.payload_budget(params)
        payload = b"".join(segments)
        if budget is not None and len(payload) > budget:
            raise RateUnreachableError(
                f"vq-dct: with the shared codebook the stream needs {len(payload)} payload bytes, over the budget of"
                f" {budget}; the rate of a shared-codebook stream is set by the codebook", budget=target.max_bytes,
                smallest=header_length(self.name, h, w, len(params), len(payload)) + len(payload))
        return params, payload

    def decode_image(self, header: Header, payload: bytes) -> np.ndarray:
        plan = _Plan.unpack(header)
        shared = None
        if plan.shared:
            shared = self.codebook
            if shared is None:
                raise InvalidArgumentError(
                    f"vq-dct: the stream was coded with a shared codebook (fingerprint {plan.shared:08x}), which is not"
                    " in the stream: decode with a codec bound to it, wavecodec.get_codec('vq-dct', codebook=cb)"
                    ".decode(data) (cb: a vq_dct.Codebook or the path of its file; CLI: -o codebook=PATH)")
            if shared.fingerprint != plan.shared:
                raise InvalidArgumentError(
                    f"vq-dct: the stream was coded with shared codebook {plan.shared:08x}, the codec is bound to"
                    f" codebook {shared.fingerprint:08x}")
            if shared.block != plan.block or len(shared.planes) != header.channels:
                raise CorruptStreamError("vq-dct stream: shared codebook does not match the stream")
        img = _reconstruct(plan, payload, header.height, header.width, header.channels, header.bit_depth, shared)
        return img.astype(header.dtype)

    def describe(self, header: Header) -> dict[str, Any]:
        plan = _Plan.unpack(header)
        return {
            "block": plan.block,
            "codebook_sizes": [p[0] for p in plan.planes],
            "vector_dimensions": [p[1] for p in plan.planes],
            "codebook_step": plan.step,
            "shared_codebook": f"{plan.shared:08x}" if plan.shared else None,
        }


register(VqDctCodec())
