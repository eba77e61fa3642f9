"""vq-dct codec: kernels (search, coders), round trips, rate, determinism, shared
codebooks, truncated and corrupt streams.  Small crops and few optimiser iterations."""

from __future__ import annotations

import numpy as np
import pytest

import wavecodec
from wavecodec import _container
from wavecodec._kernels import arith as ac
from wavecodec._kernels import vq as K
from wavecodec.coders import vq_dct as V
from wavecodec.errors import CorruptStreamError, InvalidArgumentError, WavecodecError

from conftest import make_image, psnr, restream

FAST = dict(iterations=2, population=4)


# --------------------------------------------------------------------------- kernels


# both searches: the DC-ordered walk (large codebooks) and the one that compares every codeword (small ones)
SEARCHES = pytest.mark.parametrize("walk_cost", [0.0, K.WALK_COST, 1e9], ids=["walk", "mixed", "all"])


@SEARCHES
def test_nearest_matches_exhaustive_search(monkeypatch, walk_cost):
    monkeypatch.setattr(K, "WALK_COST", walk_cost)
    rng = np.random.default_rng(0)
    vectors = rng.normal(0, 20, (500, 6))
    vectors[:, 0] = rng.uniform(0, 1000, 500)
    codebook = np.ascontiguousarray(vectors[rng.choice(500, 37, replace=False)] + rng.normal(0, 3, (37, 6)))
    d_all = ((vectors[:, None, :] - codebook[None]) ** 2).sum(axis=2)
    for guess in (np.full(500, -1, np.int32), rng.integers(0, 37, 500).astype(np.int32)):
        assign = np.empty(500, np.int32)
        dist = np.empty(500)
        total = K.nearest(vectors, codebook, guess, assign, dist)
        assert np.allclose(dist, d_all.min(axis=1))
        assert np.allclose(d_all[np.arange(500), assign], d_all.min(axis=1))
        assert total == pytest.approx(d_all.min(axis=1).sum())
    dist2 = np.empty(500)
    K.second_nearest(vectors, codebook, assign, dist2)
    assert np.allclose(dist2, np.sort(d_all, axis=1)[:, 1])


@SEARCHES
def test_nearest_update_matches_nearest(monkeypatch, walk_cost):
    """Searching only the codewords that moved (or are new) gives the full search's result."""
    monkeypatch.setattr(K, "WALK_COST", walk_cost)
    rng = np.random.default_rng(3)
    vectors = rng.normal(0, 20, (600, 6))
    vectors[:, 0] = rng.uniform(0, 1000, 600)
    old = np.ascontiguousarray(vectors[rng.choice(600, 40, replace=False)] + rng.normal(0, 3, (40, 6)))
    assign, dist = np.empty(600, np.int32), np.empty(600)
    K.nearest(vectors, old, np.full(600, -1, np.int32), assign, dist)
    new = np.vstack([old, vectors[:5] + 1.0])  # five new codewords
    moved = rng.choice(40, 9, replace=False)  # nine moved, one of them far
    new[moved] += rng.normal(0, 4, (9, 6))
    new[moved[0]] += 200.0
    expected_assign, expected_dist = np.empty(600, np.int32), np.empty(600)
    expected_total = K.nearest(vectors, new, assign.copy(), expected_assign, expected_dist)
    total = K.nearest_update(vectors, new, old, assign, dist)
    assert np.array_equal(assign, expected_assign) and np.array_equal(dist, expected_dist)
    assert total == expected_total
    same_assign, same_dist = assign.copy(), dist.copy()  # nothing moved: nothing changes
    assert K.nearest_update(vectors, new, new.copy(), same_assign, same_dist) == total
    assert np.array_equal(same_assign, assign)


def _rd_assign_reference(vectors, codebook, lam, bit_cost, rows, cols, n_bits):
    """Plain-Python statement of rd_assign: greedy raster order, exhaustive search,
    each index priced by the decisions encode_indices would code for it."""
    assign = np.full(rows * cols, -1)
    n_code = codebook.shape[0]
    for r in range(rows):
        for c in range(cols):
            m = r * cols + c
            left = assign[m - 1] if c > 0 else (assign[m - cols] if r > 0 else -1)
            up = assign[m - cols] if r > 0 else -1
            diag = assign[m - cols - 1] if r > 0 and c > 0 else -1

            def bits(v):
                total = 0.0
                if left >= 0:
                    ctx = 2 if up < 0 else (1 if up == left else 0)
                    if v == left:
                        return total + bit_cost[ctx, 1]
                    total += bit_cost[ctx, 0]
                if up >= 0 and up != left:
                    ctx = 3 + (1 if diag == up else 0)
                    if v == up:
                        return total + bit_cost[ctx, 1]
                    total += bit_cost[ctx, 0]
                cls = 4 if left < 0 else (left >> (n_bits - 2) if n_bits >= 2 else (left << 1 if n_bits == 1 else 0))
                base, node = K.INDEX_FLAG_CONTEXTS + cls * (1 << n_bits), 1
                for b in range(n_bits - 1, -1, -1):
                    bit = (v >> b) & 1
                    total += bit_cost[base + node, bit]
                    node = 2 * node + bit
                return total

            costs = [((vectors[m] - codebook[v]) ** 2).sum() + lam * bits(v) for v in range(n_code)]
            assign[m] = int(np.argmin(costs))
    return assign


@SEARCHES
@pytest.mark.parametrize("lam", [0.0, 30.0, 400.0])
def test_rd_assign_matches_reference(monkeypatch, lam, walk_cost):
    monkeypatch.setattr(K, "WALK_COST", walk_cost)
    rng = np.random.default_rng(5)
    rows, cols, n_code = 11, 13, 23
    vectors = rng.normal(0, 15, (rows * cols, 5))
    vectors[:, 0] = rng.uniform(0, 500, rows * cols)
    codebook = np.ascontiguousarray(vectors[rng.choice(rows * cols, n_code, replace=False)] + rng.normal(0, 2, (n_code, 5)))
    n_bits = V._n_bits(n_code)
    start = np.empty(rows * cols, np.int32)
    K.nearest(vectors, codebook, np.full(rows * cols, -1, np.int32), start, np.empty(rows * cols))
    cost = V.index_bit_costs(start, rows, cols, n_bits)
    assign, dist = np.empty(rows * cols, np.int32), np.empty(rows * cols)
    total = K.rd_assign(vectors, codebook, lam, cost, rows, cols, n_bits, assign, dist)
    expected = _rd_assign_reference(vectors, codebook, lam, cost, rows, cols, n_bits)
    assert np.array_equal(assign, expected)
    assert np.allclose(dist, ((vectors - codebook[assign]) ** 2).sum(axis=1))
    assert total == pytest.approx(dist.sum())
    if lam == 0.0:
        assert np.array_equal(assign, start)
    # a guess (any codeword per block, or none) only seeds the search: same result
    guessed = np.empty_like(assign)
    K.rd_assign(vectors, codebook, lam, cost, rows, cols, n_bits, guessed, np.empty(rows * cols),
                rng.integers(-1, n_code, rows * cols).astype(np.int32))
    assert np.array_equal(guessed, expected)


def test_bit_costs_predict_the_coded_size():
    rng = np.random.default_rng(6)
    rows, cols, n_code = 40, 50, 12
    idx = np.repeat(rng.integers(0, n_code, rows * cols // 5), 5).astype(np.int32)  # runs, as in images
    q = np.sort(rng.integers(0, 300, (n_code, 1)), axis=0)
    n_bits = V._n_bits(n_code)
    counts = K.index_decision_counts(idx, rows, cols, n_bits, K.index_context_count(n_bits))
    predicted = float((counts * V.index_bit_costs(idx, rows, cols, n_bits)).sum()) / 8
    coded = len(V.code_plane(q, n_code, idx, rows, cols)) - 10  # minus a generous codebook share
    assert abs(coded - predicted) < 0.1 * predicted


def test_lloyd_lowers_error():
    rng = np.random.default_rng(1)
    vectors = rng.normal(0, 1, (400, 4))
    codebook = np.ascontiguousarray(vectors[:8].copy())
    assign, dist = np.empty(400, np.int32), np.empty(400)
    before = K.nearest(vectors, codebook, np.full(400, -1, np.int32), assign, dist)
    after, iters = K.lloyd(vectors, codebook, assign, dist, 50, 0.0)
    assert after < before and iters >= 1
    assert after == pytest.approx(dist.sum())


@pytest.mark.parametrize("n_code", [1, 2, 5, 64, 300])
def test_index_and_codebook_coders_round_trip(n_code):
    rng = np.random.default_rng(n_code)
    rows, cols = 9, 13
    idx = rng.integers(0, n_code, rows * cols).astype(np.int32)
    idx[:20] = idx[0]  # runs exercise the neighbour flags
    q = rng.integers(-40, 40, (n_code, 5)).astype(np.int64)
    q[:, 0] = np.sort(rng.integers(0, 600, n_code))
    seg = V.code_plane(q, n_code, idx, rows, cols)
    q2, idx2 = V.decode_plane(seg, n_code, 5, rows, cols, None)
    assert np.array_equal(q, q2) and np.array_equal(idx, idx2)
    seg_shared = V.code_plane(None, n_code, idx, rows, cols)
    assert len(seg_shared) < len(seg)
    _, idx3 = V.decode_plane(seg_shared, n_code, 5, rows, cols, q)
    assert np.array_equal(idx, idx3)


def test_decoding_a_short_segment_fails_cleanly():
    idx = np.arange(200, dtype=np.int32) % 7
    q = np.zeros((7, 3), np.int64)
    q[:, 0] = np.arange(7) * 10
    seg = V.code_plane(q, 7, idx, 10, 20)
    with pytest.raises(CorruptStreamError):
        V.decode_plane(seg[: len(seg) // 2], 7, 3, 10, 20, None)


def test_kernels_compile_once(camera_crop):
    """Every vq kernel and helper is compiled for one signature (uniform argument types:
    each further signature is a further compile, seconds on a cold start)."""
    from numba.core.registry import CPUDispatcher

    s = wavecodec.encode(np.dstack([camera_crop] * 3), "vq-dct", bpp=0.5, **FAST)
    wavecodec.decode(s)
    wavecodec.decode(wavecodec.encode(camera_crop, "vq-dct", bpp=0.5, assignment="nearest", **FAST))
    for name in dir(K):
        f = getattr(K, name)
        if isinstance(f, CPUDispatcher):
            assert len(f.signatures) <= 1, (name, f.signatures)


def test_zigzag_and_block_transform_invert():
    assert V.zigzag_order(4)[:6].tolist() == [0, 1, 4, 8, 5, 2]
    plane = make_image(13, 18, seed=3).astype(np.float64)
    for block in V.BLOCKS:
        vec, dropped, rows, cols = V.block_vectors(plane, block, block * block)
        assert np.allclose(V.blocks_to_plane(vec, block, rows, cols, 13, 18), plane)
        assert np.all(dropped == 0)
        vec3, dropped3, _, _ = V.block_vectors(plane, block, 3)
        # orthonormal DCT: the dropped coefficients carry exactly the lost energy
        back = V.blocks_to_plane(vec3, block, rows, cols, rows * block, cols * block)
        padded = np.pad(plane, ((0, rows * block - 13), (0, cols * block - 18)), mode="edge")
        assert np.sum((padded - back) ** 2) == pytest.approx(dropped3.sum())


# --------------------------------------------------------------------------- codec


def test_registered_and_not_embedded():
    codec = wavecodec.get_codec("vq-dct")
    assert codec.capabilities.embedded is False and codec.capabilities.colour is True
    assert not codec.capabilities.lossless


@pytest.mark.parametrize("bpp", [0.25, 1.0])
def test_gray_round_trip_within_budget(camera_crop, bpp):
    data = wavecodec.encode(camera_crop, "vq-dct", bpp=bpp, **FAST)
    assert len(data) <= int(bpp * camera_crop.size / 8)
    out = wavecodec.decode(data)
    assert out.shape == camera_crop.shape and out.dtype == camera_crop.dtype
    assert psnr(camera_crop, out) > (20.0 if bpp < 0.5 else 24.0)


def test_more_rate_more_quality(camera_crop):
    values = []
    for bpp in (0.2, 0.6, 1.5):
        out = wavecodec.decode(wavecodec.encode(camera_crop, "vq-dct", bpp=bpp, optimizer="none"))
        values.append(psnr(camera_crop, out))
    assert values[0] < values[1] < values[2]


def test_colour_round_trip(astronaut_crop):
    data = wavecodec.encode(astronaut_crop, "vq-dct", bpp=1.0, **FAST)
    assert len(data) <= int(1.0 * 96 * 128 / 8)
    out = wavecodec.decode(data)
    assert out.shape == astronaut_crop.shape
    assert psnr(astronaut_crop, out) > 22.0
    assert len(wavecodec.info(data).params["codebook_sizes"]) == 3


def test_block8_kmeans_and_fixed_sizes(camera_crop):
    for opts in (dict(block=8, k=20), dict(design="kmeans"), dict(codebook_size=16, k=8, optimizer="none")):
        kw = {**FAST, **opts}
        if kw.get("optimizer") == "none":  # optimiser settings without an optimiser are an error
            kw = {k: v for k, v in kw.items() if k not in ("iterations", "population")}
        data = wavecodec.encode(camera_crop, "vq-dct", bpp=0.5, **kw)
        info = wavecodec.info(data).params
        if "block" in opts:
            assert info["block"] == 8 and info["vector_dimensions"] == [20]
        if "codebook_size" in opts:
            assert info["codebook_sizes"][0] <= 16
        assert psnr(camera_crop, wavecodec.decode(data)) > 20.0


def test_no_rate_uses_codebook_size(camera_crop):
    info = wavecodec.info(wavecodec.encode(camera_crop, "vq-dct", codebook_size=32, k=16, **FAST))
    assert info.params["codebook_sizes"] == [32] and info.params["vector_dimensions"] == [16]


@pytest.mark.parametrize("assignment", ["rd", "nearest"])
@pytest.mark.parametrize("method", ["fpara", "fpa", "roa"])
def test_optimiser_never_worse_than_lbg(camera_crop, method, assignment):
    res = V.encode_plane(camera_crop.astype(np.float64), block=4, k=10, budget=1200, size=None,
                         design="ailbg", optimizer=method, iterations=4, population=4, seed=0, step=2.0,
                         peak=255.0, assignment=assignment)
    assert res.psnr_final >= res.psnr_start
    if assignment == "rd":  # the rate design replaces the plain one (its first candidate is that size)
        assert res.psnr_lbg is None and res.rate_weight >= 0.0
    assert len(res.segment) <= 1200
    assert res.optimizer is not None and res.optimizer.best_fitness >= res.optimizer.initial_best_fitness
    if assignment == "nearest":
        assert res.rate_weight == 0.0 and res.psnr_start == res.psnr_lbg


def _plane_coder(image, k=8):
    vec, dropped, rows, cols = V.block_vectors(image.astype(np.float64), 4, k)
    ts = V.TrainingSet(vec, float(dropped.sum()), 255.0, rows * cols * 16)
    return ts, V.PlaneCoder(ts, rows, cols, 2.0)


def test_growth_rounds_replay_as_computed(camera_crop):
    """ailbg's recorded rounds (final_refusal) give every later growth, stopping earlier or
    later, the codebook it computes without them, and stay unmodified."""
    ts, _ = _plane_coder(camera_crop)

    def grow(limit, rounds=None):
        def fits(cb, a, d, basis):
            return cb.shape[0] <= limit
        return V.ailbg(ts, 4096, fits=fits, remove_insert_trials=0, schedule=V.rd_growth_schedule,
                       fits_with_assignment=True, final_iterations=0, lazy_from=16, final_refusal=True,
                       rounds=rounds)

    rounds: list = []
    for limit in (20, 60, 10, 60):
        assert np.array_equal(grow(limit, rounds), grow(limit))
    snapshot = [r[0].copy() for r in rounds]
    grow(60, rounds)
    assert all(np.array_equal(r[0], c) for r, c in zip(rounds, snapshot))


def test_fpara_improves_a_poor_codebook(camera_crop):
    # from a codebook far from a Lloyd fixed point (sampled vectors) FPARA must gain
    ts, coder = _plane_coder(camera_crop)
    start = np.ascontiguousarray(ts.vectors[:: ts.vectors.shape[0] // 24][:24])
    _, _, result = V.refine_codebook(ts, coder, start, 0.0, None, method="fpara", iterations=6, population=8,
                                     seed=1, rate_weight=False)
    assert result.best_fitness > result.initial_best_fitness + 0.5


def test_fit_lambda_finds_the_smallest_rate_weight_that_fits(camera_crop):
    ts, coder = _plane_coder(camera_crop)
    cb = V.ailbg(ts, 48)
    plain = len(coder.code(cb, 0.0)[0])
    budget = int(plain * 0.8)
    lam, seg, quality, n, model = coder.fit_lambda(cb, budget)
    assert lam > 0 and len(seg) <= budget and (seg, quality, n) == coder.code(cb, lam, model=model)
    assert len(coder.code(cb, lam / 2 ** (1 / 16), model=model)[0]) > budget  # within the bisection's precision
    assert coder.fit_lambda(cb, plain) == (0.0, *coder.code(cb, 0.0), None)
    assert coder.fit_lambda(cb, 5) is None  # not even the codebook fits


def test_fitness_scores_streams_over_the_budget_below_every_feasible_one(camera_crop):
    ts, coder = _plane_coder(camera_crop)
    cb = V.ailbg(ts, 64)
    n_bytes = len(coder.code(cb, 0.0)[0])
    fit_loose = V.CodebookFitness(ts, coder, 64, n_bytes, rate_weight=False)
    fit_tight = V.CodebookFitness(ts, coder, 64, n_bytes - 50, rate_weight=False)
    assert fit_loose(cb.ravel()) == pytest.approx(ts.psnr(coder.assign(coder.quantised(cb), 0.0)[2]))
    assert -1001 < fit_tight(cb.ravel()) < -1000
    # with a rate weight, the weight is the last coordinate (log2); the floor means nearest-neighbour
    fit_rd = V.CodebookFitness(ts, coder, 64, n_bytes - 50, rate_weight=True)
    assert fit_rd(np.concatenate([cb.ravel(), [-30.0]])) == fit_tight(cb.ravel())
    assert fit_rd(np.concatenate([cb.ravel(), [np.log2(2000.0)]])) > 10


def test_forged_parameters_are_rejected(camera_crop):
    data = wavecodec.encode(camera_crop[:32, :32], "vq-dct", bpp=1.0, **FAST)
    header, _ = _container.parse(data)
    params = bytearray(header.params)
    forged = [
        bytes([2]) + bytes(params[1:]),  # unknown format
        bytes(params[:1]) + bytes([5]) + bytes(params[2:]),  # block 5
        bytes(params[:2]) + np.float32(np.inf).tobytes() + bytes(params[6:]),  # step
        bytes(params[:10]) + np.int32(5000).tobytes() + bytes(params[14:]),  # codebook size
        bytes(params[:10]) + np.int32(0).tobytes() + bytes(params[14:]),
        bytes(params[:14]) + bytes([17]) + bytes(params[15:]),  # k > 16
        bytes(params[:15]) + np.int32(3).tobytes() + bytes(params[19:]),  # segment lengths
        bytes(params) + b"\0",
        bytes(params[:-1]),
    ]
    for p in forged:
        with pytest.raises(CorruptStreamError):
            wavecodec.decode(restream(data, params=p))
    with pytest.raises(WavecodecError, match="shared codebook"):  # unknown shared codebook
        wavecodec.decode(restream(data, params=bytes(params[:6]) + b"\1\2\3\4" + bytes(params[10:])))


def test_shared_codebook(tmp_path, camera_crop, camera):
    cb = V.train_codebook([camera[:128, :128], camera[256:384, 256:384]], k=10, size=32)
    path = tmp_path / "camera.npz"
    cb.save(path)
    data = wavecodec.encode(camera_crop, "vq-dct", codebook=str(path))
    inline = wavecodec.encode(camera_crop, "vq-dct", k=10, codebook_size=32, optimizer="none")
    assert len(data) < len(inline)
    assert wavecodec.info(data).params["shared_codebook"] == f"{cb.fingerprint:08x}"
    # the codebook is not in the stream: the plain codec refuses, naming how to bind it
    with pytest.raises(InvalidArgumentError, match=r"get_codec\('vq-dct', codebook=cb\)"):
        wavecodec.decode(data)
    loaded = V.load_codebook(path)
    assert loaded.fingerprint == cb.fingerprint
    bound = wavecodec.get_codec("vq-dct", codebook=loaded)
    out = bound.decode(data)
    assert psnr(camera_crop, out) > 20.0  # a 32-codeword codebook trained on other parts of the image
    assert np.array_equal(wavecodec.decode(data, codec=wavecodec.get_codec("vq-dct", codebook=str(path))), out)
    assert bound.encode(camera_crop) == data  # a bound codec encodes with its codebook
    with pytest.raises(WavecodecError, match="shared codebook"):  # decoding needs the codebook it was bound to
        wavecodec.get_codec("vq-dct", codebook=V.train_codebook([camera[:64, :64]], k=10, size=8)).decode(data)
    # binding is explicit: the registered codec has not learnt the codebook
    with pytest.raises(InvalidArgumentError):
        wavecodec.decode(data)
    with pytest.raises(InvalidArgumentError):  # budget below what the shared codebook needs
        wavecodec.encode(camera_crop, "vq-dct", codebook=loaded, bpp=0.05)
    with pytest.raises(InvalidArgumentError):
        V.load_codebook(tmp_path / "missing.npz")
    with pytest.raises(InvalidArgumentError):  # a gray codebook for a colour image
        wavecodec.encode(make_image(16, 16, 3), "vq-dct", codebook=loaded)


@pytest.mark.parametrize("opts", [dict(k=17), dict(block=5), dict(k=0), dict(design="x"), dict(optimizer="pso"),
                                  dict(population=3), dict(codebook_step=0), dict(codebook=3), dict(iterations=-1),
                                  dict(assignment="greedy"), dict(chroma_share=0.5), dict(chroma_share="x")])
def test_bad_options(camera_crop, opts):
    with pytest.raises(InvalidArgumentError, match=next(iter(opts))):  # the message names the option
        wavecodec.encode(camera_crop, "vq-dct", bpp=0.5, **opts)


def test_bad_option_combinations_name_the_option(camera_crop, camera):
    cb = V.train_codebook([camera[:64, :64]], k=10, size=8)
    combos = [dict(block=4, k=20), dict(block=8, k=65), dict(codebook=cb, k=6), dict(codebook=cb, block=8),
              dict(codebook=cb, codebook_step=4.0), dict(codebook=cb, optimizer="fpa"),
              dict(codebook=cb, codebook_size=64), dict(codebook=cb, design="kmeans"),
              dict(codebook=cb, assignment="nearest"), dict(codebook=cb, iterations=3),
              dict(codebook=cb, population=6), dict(codebook=cb, chroma_share=0.1)]
    for opts in combos:
        name = [o for o in opts if o != "codebook" or len(opts) == 1][-1]
        with pytest.raises(InvalidArgumentError, match=name):
            wavecodec.encode(camera_crop, "vq-dct", bpp=2.0, **opts)
    # the codebook's own values and the defaults pass
    wavecodec.encode(camera_crop, "vq-dct", codebook=cb, block=4, k=10, codebook_step=2.0)
    for bound, name in ((dict(levels=3), "levels"), (dict(codebook=3), "codebook"),
                        (dict(design_cache={}), "design_cache")):
        with pytest.raises(InvalidArgumentError, match=name):
            wavecodec.get_codec("vq-dct", **bound)
    other = V.train_codebook([camera[64:128, 64:128]], k=10, size=8)
    with pytest.raises(InvalidArgumentError, match="codebook"):  # an option contradicting the bound codebook
        wavecodec.get_codec("vq-dct", codebook=cb).encode(camera_crop, codebook=other)
    with pytest.raises(InvalidArgumentError, match="codebook"):  # colour image, gray codebook
        wavecodec.encode(make_image(16, 16, 3), "vq-dct", codebook=cb)


def test_rate_weighted_assignment_beats_plain_vq_at_equal_rate(camera_crop):
    # the entropy-constrained choice fills the budget with a larger codebook (docs/vq-dct.md)
    plain = wavecodec.encode(camera_crop, "vq-dct", bpp=0.25, optimizer="none", assignment="nearest")
    rd = wavecodec.encode(camera_crop, "vq-dct", bpp=0.25, optimizer="none", assignment="rd")
    assert len(rd) <= 128 * 128 * 0.25 / 8 and len(plain) <= 128 * 128 * 0.25 / 8
    assert psnr(camera_crop, wavecodec.decode(rd)) > psnr(camera_crop, wavecodec.decode(plain)) + 0.1
    sizes = [wavecodec.info(d).params["codebook_sizes"][0] for d in (plain, rd)]
    assert sizes[1] > sizes[0]


def test_auto_chroma_share_never_worse_than_the_fixed_default(astronaut_crop):
    # the search starts at 0.1 and moves only while the RGB error drops
    fixed = wavecodec.encode(astronaut_crop, "vq-dct", bpp=0.25, optimizer="none", chroma_share=0.1)
    auto = wavecodec.encode(astronaut_crop, "vq-dct", bpp=0.25, optimizer="none")
    assert len(auto) <= 128 * 128 * 0.25 / 8
    err = [np.sum((wavecodec.decode(d).astype(float) - astronaut_crop) ** 2) for d in (fixed, auto)]
    assert err[1] <= err[0]
    # with the optimiser, the share found without it is reused (same bytes with or without a design cache)
    cache = V.DesignCache()
    cached = wavecodec.get_codec("vq-dct", design_cache=cache).encode(astronaut_crop, bpp=0.25, **FAST)
    assert len(cache) > 0
    assert cached == wavecodec.encode(astronaut_crop, "vq-dct", bpp=0.25, **FAST)


def test_tiny_budgets(camera_crop):
    data = wavecodec.encode(camera_crop, "vq-dct", max_bytes=60, **FAST)  # one or two codewords
    assert len(data) <= 60 and wavecodec.decode(data).shape == camera_crop.shape
    with pytest.raises(InvalidArgumentError):  # below the container header
        wavecodec.encode(camera_crop, "vq-dct", max_bytes=30)


def test_ailbg_sizes_and_paper_insertion(camera_crop):
    vec, dropped, rows, cols = V.block_vectors(camera_crop.astype(np.float64), 4, 10)
    ts = V.TrainingSet(vec, float(dropped.sum()), 255.0, rows * cols * 16)
    errors = []
    for insert in ("auto", "one"):
        cb = V.ailbg(ts, 24, insert=insert)
        assert cb.shape == (24, 10)
        errors.append(V._assign(vec, cb)[2])
    # both grow to the same size; one-at-a-time insertion is the paper's rule, batches are ours
    assert max(errors) < 1.2 * min(errors)
    small = V.ailbg(ts, 8)
    assert V._assign(vec, small)[2] > max(errors)
    assert np.array_equal(V.ailbg(ts, 24), V.ailbg(ts, 24))


@pytest.mark.parametrize("options, name", [
    ({"chroma_share": 0.1}, "chroma_share"),
    ({"optimizer": "none", "iterations": 5}, "iterations"),
    ({"optimizer": "none", "population": 8}, "population"),
])
def test_options_without_effect_are_errors_naming_them(options, name):
    gray = np.tile(np.arange(64, dtype=np.uint8), (64, 1))
    with pytest.raises(InvalidArgumentError, match=name):
        wavecodec.encode(gray, "vq-dct", bpp=0.5, **options)
