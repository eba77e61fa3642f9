"""wavecodec.optimize: FPARA, FPA and ROA on known functions (maximisation), determinism,
progress reporting and argument checks.  Small populations and dimensions: fast."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from wavecodec import optimize as O
from wavecodec.errors import InvalidArgumentError, WavecodecError

SHIFT = 1.3  # optimum away from the origin, so an origin-seeking rule gets no free win


def sphere(x: np.ndarray) -> float:
    return -float(np.sum((x - SHIFT) ** 2))


def rastrigin(x: np.ndarray) -> float:
    z = x - SHIFT
    return -float(10 * z.size + np.sum(z * z - 10 * np.cos(2 * np.pi * z)))


def start(seed: int = 1, riders: int = 12, dim: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-5, 5, (riders, dim))


@pytest.mark.parametrize("method", ["fpara", "fpa", "roa"])
@pytest.mark.parametrize("function", [sphere, rastrigin], ids=["sphere", "rastrigin"])
def test_improves_known_function(method, function):
    pop = start()
    result = O.optimize(method, function, pop, iterations=150, seed=7, bounds=(-5.12, 5.12))
    initial = max(function(x) for x in pop)
    assert result.initial_best_fitness == pytest.approx(initial)
    assert result.best_fitness == pytest.approx(function(result.best))
    # a clear gain from the same start: at least half of the initial gap to the optimum (0)
    assert result.best_fitness > initial / 2, (method, initial, result.best_fitness)
    assert np.all(np.diff(result.history) >= 0)  # best-so-far never decreases
    assert result.history.shape == (151,)
    assert result.evaluations >= 12 * 151


def test_fpara_converges_on_sphere():
    result = O.fpara(sphere, start(dim=4), iterations=400, seed=3)
    assert result.best_fitness > -1e-3
    assert np.allclose(result.best, SHIFT, atol=0.05)


@pytest.mark.parametrize("method", ["fpara", "fpa", "roa"])
def test_deterministic_per_seed(method):
    pop = start()
    a = O.optimize(method, rastrigin, pop, iterations=20, seed=11)
    b = O.optimize(method, rastrigin, pop, iterations=20, seed=11)
    c = O.optimize(method, rastrigin, pop, iterations=20, seed=12)
    assert np.array_equal(a.best, b.best) and np.array_equal(a.history, b.history)
    assert np.array_equal(a.population, b.population)
    assert not np.array_equal(a.population, c.population)


def test_initial_population_not_modified():
    pop = start()
    copy = pop.copy()
    O.fpara(sphere, pop, iterations=5, seed=0)
    assert np.array_equal(pop, copy)


def test_callback_and_early_stop():
    seen = []

    def callback(iteration, best):
        seen.append((iteration, best))
        return iteration == 4

    result = O.fpara(sphere, start(), iterations=50, seed=0, callback=callback)
    assert [s[0] for s in seen] == [1, 2, 3, 4]
    assert result.iterations == 4 and result.history.shape == (5,)
    assert seen[-1][1] == result.best_fitness


def test_progress_with_tqdm_if_installed():
    result = O.fpa(sphere, start(), iterations=3, seed=0, progress=True)
    assert result.iterations == 3


def test_progress_without_tqdm(monkeypatch):
    # tqdm is optional: with it missing, progress=True silently shows nothing
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    plain = O.fpa(sphere, start(), iterations=3, seed=0)
    result = O.fpa(sphere, start(), iterations=3, seed=0, progress=True)
    assert np.array_equal(result.best, plain.best)


def test_local_search_is_used():
    calls = []

    def polish(x):
        calls.append(1)
        y = x + 0.5 * (SHIFT - x)  # halfway to the optimum: always an improvement
        return y, sphere(y)

    plain = O.fpara(sphere, start(), iterations=10, seed=0)
    memetic = O.fpara(sphere, start(), iterations=10, seed=0, local_search=polish)
    assert len(calls) == 10
    assert memetic.best_fitness > plain.best_fitness


def test_fpa_global_branch_convention():
    a = O.fpa(sphere, start(), iterations=10, seed=0, global_when="rand<p")
    b = O.fpa(sphere, start(), iterations=10, seed=0, global_when="rand>p")
    assert not np.array_equal(a.population, b.population)


def test_bounds_respected():
    result = O.roa(sphere, start(), iterations=20, seed=0, bounds=(-1.0, 1.0))
    assert np.all(result.population >= -1.0) and np.all(result.population <= 1.0)
    assert np.all(np.abs(result.best) <= 1.0)


def test_non_finite_fitness_is_worst():
    def bad(x):
        return float("nan") if x[0] > 0 else sphere(x)

    result = O.fpara(bad, start(), iterations=10, seed=0)
    assert np.isfinite(result.best_fitness)


@pytest.mark.parametrize("kwargs", [
    dict(iterations=-1), dict(iterations=1.5), dict(switch_probability=1.5), dict(seed=0, switch_probability=True),
])
def test_bad_arguments(kwargs):
    kwargs = {"iterations": 3, **kwargs}
    with pytest.raises(InvalidArgumentError):
        O.fpara(sphere, start(), **kwargs)


def test_bad_population_and_method():
    with pytest.raises(InvalidArgumentError):
        O.fpara(sphere, np.zeros(5), iterations=1)
    with pytest.raises(InvalidArgumentError):
        O.fpara(sphere, np.zeros((2, 3)), iterations=1)  # fewer riders than groups
    with pytest.raises(InvalidArgumentError):
        O.fpa(sphere, np.full((4, 2), np.nan), iterations=1)
    with pytest.raises(WavecodecError):
        O.optimize("pso", sphere, start(), iterations=1)
    with pytest.raises(InvalidArgumentError):
        O.fpara("not callable", start(), iterations=1)


def test_levy_steps_are_heavy_tailed():
    steps = O.levy_steps(np.random.default_rng(0), 20000)
    assert np.median(np.abs(steps)) < 1.0 < np.max(np.abs(steps))
    assert np.mean(np.abs(steps) > 10) > 0.001  # far more than a Gaussian of the same median
