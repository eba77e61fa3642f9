"""Population metaheuristics: FPARA (flower pollination + rider optimisation), FPA, ROA.

All three *maximise* ``fitness(x) -> float`` over real vectors ``x`` of dimension D,
starting from an ``initial_population`` (R, D) that the caller builds (for the
``vq-dct`` codec: an LBG codebook and perturbed copies of it, one flattened
codebook per individual).  Every random draw comes from
``numpy.random.default_rng(seed)``, so a run is deterministic for a given seed
(and a deterministic fitness).  The equations, with the choices we had to make
where the sources are silent, are in ``docs/optimize.md``:

* :func:`fpa` - flower pollination algorithm (Yang, UCNC 2012): global Levy-flight
  pollination toward the best with probability ``switch_probability`` (the paper's
  reading; Yang's demo code takes the global branch when ``rand > p``, available as
  ``global_when="rand>p"``), local pollination ``x + eps (x_j - x_k)`` otherwise,
  greedy replacement.
* :func:`roa` - rider optimisation algorithm (Binu & Kariyappa, IEEE TIM 2019):
  four equal rider groups (bypass, follower, overtaker, attacker) moving with the
  published position equations, steering angle, gear, accelerator and brake
  updated by the activity counter; riders always move, the best position ever
  seen is the result.
* :func:`fpara` - the hybrid used by ``vq-dct`` (our reconstruction of Chavan et al.
  2020, whose equations we could not obtain): the four ROA groups with their
  moves rewritten in difference form and merged with the FPA steps (bypass =
  FPA local pollination between two riders, follower = FPA global Levy flight
  toward the leader on the selected coordinates, overtaker = success-scaled move
  toward the leader, attacker = Levy flight around the leader), chosen with
  probability ``switch_probability`` and otherwise the FPA global step; greedy
  (FPA) acceptance; ROA gear/steering bookkeeping.

``local_search`` (all three): an optional ``f(x) -> (x', fitness')`` applied each
iteration to the best trial of the iteration (a memetic step; ``vq-dct`` passes a
Lloyd step), accepted only if it improves that rider.

Progress: ``callback(iteration, best_fitness)`` after every iteration (return True
to stop early) and, with ``progress=True``, a tqdm bar when tqdm is installed
(silently none otherwise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import InvalidArgumentError

__all__ = ["OptimizeResult", "fpara", "fpa", "roa", "optimize", "levy_steps", "METHODS"]

Fitness = Callable[[np.ndarray], float]
LocalSearch = Callable[[np.ndarray], "tuple[np.ndarray, float]"]
Callback = Callable[[int, float], "bool | None"]

TOP_GEAR = 4


@dataclass
class OptimizeResult:
    """Outcome of an optimiser run (fitness is maximised)."""

    method: str
    best: np.ndarray
    best_fitness: float
    initial_best_fitness: float
    history: np.ndarray  # best fitness before the first iteration and after each one
    mean_history: np.ndarray  # population mean fitness, same indexing
    evaluations: int
    iterations: int
    population: np.ndarray = field(repr=False)
    fitness: np.ndarray = field(repr=False)

    @property
    def improvement(self) -> float:
        """Best fitness gained over the initial population."""
        return self.best_fitness - self.initial_best_fitness


def levy_steps(rng: np.random.Generator, shape, beta: float = 1.5) -> np.ndarray:
    """Levy-stable steps by Mantegna's algorithm (as in Yang's FPA code)."""
    sigma = (math.gamma(1 + beta) * math.sin(math.pi * beta / 2)
             / (math.gamma((1 + beta) / 2) * beta * 2 ** ((beta - 1) / 2))) ** (1 / beta)
    u = rng.normal(0.0, sigma, size=shape)
    v = rng.normal(0.0, 1.0, size=shape)
    return u / np.abs(v) ** (1 / beta)


# --------------------------------------------------------------------------- shared machinery


class _Run:
    """Population, fitness, bookkeeping and progress reporting of one run."""

    def __init__(self, method, fitness, initial_population, iterations, seed, bounds, local_search, callback,
                 progress, min_riders=2):
        if not callable(fitness):
            raise InvalidArgumentError("fitness must be callable")
        pop = np.array(initial_population, dtype=np.float64, copy=True)
        if pop.ndim != 2 or pop.shape[0] < min_riders or pop.shape[1] < 1:
            raise InvalidArgumentError(
                f"{method}: initial_population must be a 2-D array (R, D) with R >= {min_riders}, got shape {pop.shape}")
        if not np.all(np.isfinite(pop)):
            raise InvalidArgumentError(f"{method}: initial_population has non-finite values")
        if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
            raise InvalidArgumentError(f"{method}: iterations must be an int >= 0, got {iterations!r}")
        self.method = method
        self.rng = np.random.default_rng(seed)
        self.iterations = int(iterations)
        self.fitness_fn = fitness
        self.local_search = local_search
        self.callback = callback
        self.lower = self.upper = None
        if bounds is not None:
            lo, hi = bounds
            self.lower = np.broadcast_to(np.asarray(lo, dtype=np.float64), pop.shape[1:])
            self.upper = np.broadcast_to(np.asarray(hi, dtype=np.float64), pop.shape[1:])
            pop = self.clip(pop)
        self.pop = pop
        self.evaluations = 0
        self.fit = np.array([self.evaluate(x) for x in pop])
        b = int(np.argmax(self.fit))
        self.best = pop[b].copy()
        self.best_fit = float(self.fit[b])
        self.initial_best = self.best_fit
        self.history = [self.best_fit]
        self.mean_history = [float(np.mean(self.fit))]
        self.bar = None
        if progress:
            try:
                from tqdm.auto import tqdm  # optional dependency
                self.bar = tqdm(total=self.iterations, desc=method, leave=False)
            except ImportError:
                self.bar = None

    def clip(self, x):
        if self.lower is None:
            return x
        return np.clip(x, self.lower, self.upper)

    def evaluate(self, x) -> float:
        self.evaluations += 1
        f = float(self.fitness_fn(x))
        return f if math.isfinite(f) else -math.inf

    def consider(self, i: int, x: np.ndarray, f: float) -> None:
        if f > self.best_fit:
            self.best_fit = f
            self.best = x.copy()

    def memetic(self, trial_fit: np.ndarray) -> None:
        """Local search on the rider whose trial was best this iteration."""
        if self.local_search is None:
            return
        i = int(np.argmax(trial_fit))
        x, f = self.local_search(self.pop[i].copy())
        self.evaluations += 1
        x = self.clip(np.asarray(x, dtype=np.float64))
        if f > self.fit[i]:
            self.pop[i] = x
            self.fit[i] = f
            self.consider(i, x, f)

    def end_iteration(self, t: int) -> bool:
        self.history.append(self.best_fit)
        self.mean_history.append(float(np.mean(self.fit[np.isfinite(self.fit)])) if np.any(np.isfinite(self.fit))
                                 else -math.inf)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(best=f"{self.best_fit:.4f}")
        if self.callback is not None:
            return bool(self.callback(t + 1, self.best_fit))
        return False

    def result(self) -> OptimizeResult:
        if self.bar is not None:
            self.bar.close()
        return OptimizeResult(self.method, self.best, self.best_fit, self.initial_best, np.array(self.history),
                              np.array(self.mean_history), self.evaluations, len(self.history) - 1, self.pop,
                              self.fit)


def _check_probability(name: str, p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0.0 <= p <= 1.0:
        raise InvalidArgumentError(f"{name} must be a probability in [0, 1], got {p!r}")
    return float(p)


# --------------------------------------------------------------------------- FPA


def fpa(fitness: Fitness, initial_population, *, iterations: int = 50, seed: int = 0,
        switch_probability: float = 0.8, levy_scale: float = 0.01, levy_beta: float = 1.5,
        global_when: str = "rand<p", bounds=None, local_search: LocalSearch | None = None,
        callback: Callback | None = None, progress: bool = False) -> OptimizeResult:
    """Flower pollination algorithm (Yang 2012), maximising ``fitness``.

    Each iteration, each flower i draws a trial: global pollination
    ``x_i + levy_scale * L * (g - x_i)`` (L: Mantegna Levy steps per coordinate, g:
    best flower) when ``rand < switch_probability`` (``global_when="rand<p"``, the
    paper) or ``rand > p`` (``"rand>p"``, Yang's demo code), else local pollination
    ``x_i + eps * (x_j - x_k)`` (eps ~ U(0, 1), j != k random).  The trial replaces
    x_i if its fitness is not lower.
    """
    p = _check_probability("switch_probability", switch_probability)
    if global_when not in ("rand<p", "rand>p"):
        raise InvalidArgumentError(f"global_when must be 'rand<p' or 'rand>p', got {global_when!r}")
    run = _Run("fpa", fitness, initial_population, iterations, seed, bounds, local_search, callback, progress, 3)
    rng = run.rng
    r_count, dim = run.pop.shape
    for t in range(run.iterations):
        trial_fit = np.full(r_count, -math.inf)
        for i in range(r_count):
            draw = rng.random()
            take_global = draw < p if global_when == "rand<p" else draw > p
            if take_global:
                trial = run.pop[i] + levy_scale * levy_steps(rng, dim, levy_beta) * (run.best - run.pop[i])
            else:
                j, k = rng.choice(r_count, size=2, replace=False)
                trial = run.pop[i] + rng.random() * (run.pop[j] - run.pop[k])
            trial = run.clip(trial)
            f = run.evaluate(trial)
            trial_fit[i] = f
            if f >= run.fit[i]:
                run.pop[i] = trial
                run.fit[i] = f
                run.consider(i, trial, f)
        run.memetic(trial_fit)
        if run.end_iteration(t):
            break
    return run.result()


# --------------------------------------------------------------------------- ROA


class _Riders:
    """ROA bookkeeping: groups, steering angles (degrees), gears, activity counters."""

    def __init__(self, r_count: int, dim: int, iterations: int):
        self.group = (np.arange(r_count) * 4) // r_count  # 0 bypass, 1 follower, 2 overtaker, 3 attacker
        theta = np.arange(r_count) * 360.0 / r_count
        self.steer = theta[(np.arange(r_count)[:, None] + np.arange(dim)[None, :]) % r_count]
        self.gear = np.zeros(r_count, dtype=np.int64)
        self.off_time = max(1, iterations)

    def speed(self, i: int) -> float:
        """v = (g v_g + v_max a + (1 - b) v_max) / 3 with v_max = 1, v_g = v_max / top gear,
        accelerator a = g / top gear, brake b = 1 - a."""
        a = self.gear[i] / TOP_GEAR
        return (self.gear[i] / TOP_GEAR + a + a) / 3.0

    def distance(self, i: int) -> float:
        return self.speed(i) / self.off_time

    def update(self, improved: np.ndarray) -> None:
        """Activity counter: gear up / down, steering taken from the next / previous rider."""
        r_count = self.gear.shape[0]
        nxt = self.steer[(np.arange(r_count) + 1) % r_count]
        prv = self.steer[(np.arange(r_count) - 1) % r_count]
        self.steer = np.where(improved[:, None], nxt, prv)
        self.gear = np.where(improved, np.minimum(self.gear + 1, TOP_GEAR), np.maximum(self.gear - 1, 0))


def _relative_success(fit: np.ndarray) -> np.ndarray:
    """Success rates in (0, 1], 1 for the leader (fitness min-max normalised)."""
    finite = np.isfinite(fit)
    lo = np.min(fit[finite]) if np.any(finite) else 0.0
    hi = np.max(fit[finite]) if np.any(finite) else 1.0
    span = hi - lo
    out = np.where(finite, (fit - lo + 1e-12 * (1 + abs(span))) / (span + 1e-12 * (1 + abs(span))), 1e-12)
    return np.clip(out, 1e-12, 1.0)


def _coordinate_mask(rng: np.random.Generator, dim: int, fraction: float) -> np.ndarray:
    mask = rng.random(dim) < fraction
    if not mask.any():
        mask[rng.integers(dim)] = True
    return mask


def roa(fitness: Fitness, initial_population, *, iterations: int = 50, seed: int = 0,
        coordinate_fraction: float = 0.5, bounds=None, local_search: LocalSearch | None = None,
        callback: Callback | None = None, progress: bool = False) -> OptimizeResult:
    """Rider optimisation algorithm (Binu & Kariyappa 2019), maximising ``fitness``.

    Riders split into four equal groups by index; the leader L is the rider of
    highest fitness.  Position updates (all riders move every iteration):
    bypass ``delta (x_eta beta + x_xi (1 - beta))``; follower
    ``x_L,k + cos(S_ik) x_L,k d_i`` on selected coordinates k (others copy x_L);
    overtaker ``x_ik + D_i x_L,k`` on selected k, ``D_i = 2 / (1 - ln r_i) - 1``;
    attacker ``x_L + cos(S_i) x_L + d_i``.  ``d_i`` = speed / off time.  A fraction
    ``coordinate_fraction`` of coordinates is selected per move.  The best
    position ever evaluated is returned.
    """
    _check_probability("coordinate_fraction", coordinate_fraction)
    run = _Run("roa", fitness, initial_population, iterations, seed, bounds, local_search, callback, progress, 4)
    rng = run.rng
    r_count, dim = run.pop.shape
    riders = _Riders(r_count, dim, run.iterations)
    for t in range(run.iterations):
        leader = run.pop[int(np.argmax(run.fit))].copy()
        success = _relative_success(run.fit)
        new_pop = np.empty_like(run.pop)
        new_fit = np.empty(r_count)
        for i in range(r_count):
            g = riders.group[i]
            rad = np.deg2rad(riders.steer[i])
            if g == 0:
                eta, xi = rng.integers(r_count, size=2)
                beta = rng.random(dim)
                trial = rng.random() * (run.pop[eta] * beta + run.pop[xi] * (1 - beta))
            elif g == 1:
                mask = _coordinate_mask(rng, dim, coordinate_fraction)
                trial = leader.copy()
                trial[mask] = leader[mask] + np.cos(rad[mask]) * leader[mask] * riders.distance(i)
            elif g == 2:
                mask = _coordinate_mask(rng, dim, coordinate_fraction)
                direction = 2.0 / (1.0 - math.log(success[i])) - 1.0
                trial = run.pop[i].copy()
                trial[mask] = run.pop[i][mask] + direction * leader[mask]
            else:
                trial = leader + np.cos(rad) * leader + riders.distance(i)
            trial = run.clip(trial)
            new_pop[i] = trial
            new_fit[i] = run.evaluate(trial)
            run.consider(i, trial, new_fit[i])
        improved = new_fit > run.fit
        run.pop, run.fit = new_pop, new_fit
        riders.update(improved)
        run.memetic(new_fit)
        if run.end_iteration(t):
            break
    return run.result()


# --------------------------------------------------------------------------- FPARA


def fpara(fitness: Fitness, initial_population, *, iterations: int = 50, seed: int = 0,
          switch_probability: float = 0.8, levy_scale: float = 0.01, levy_beta: float = 1.5,
          coordinate_fraction: float = 0.5, bounds=None, local_search: LocalSearch | None = None,
          callback: Callback | None = None, progress: bool = False) -> OptimizeResult:
    """FPARA: rider groups with flower-pollination moves (our reconstruction; docs/optimize.md).

    Each iteration every rider i draws a trial.  With probability
    ``switch_probability`` it makes its group's move, else the FPA global step
    ``x_i + levy_scale * L * (x_L - x_i)`` on all coordinates.  Group moves (L: Levy
    steps, x_L: the leader, S_i: steering angles, d_i: ROA distance, D_i: the
    overtaker's direction indicator):

    * bypass: FPA local pollination ``x_i + eps (x_eta - x_xi)``;
    * follower: ``x_i + (1 + cos S_i) * levy_scale * L * (x_L - x_i)`` on the selected coordinates;
    * overtaker: ``x_i + D_i (x_L - x_i)`` on the selected coordinates;
    * attacker: ``x_L + cos(S_i) * levy_scale * L * (x_L - x_r)`` (r random), a Levy
      flight around the leader whose reach is the population's spread, plus ``d_i``
      times the same direction;

    the trial replaces x_i if not worse (FPA's greedy rule), the gear and steering
    follow the ROA activity counter.
    """
    p = _check_probability("switch_probability", switch_probability)
    _check_probability("coordinate_fraction", coordinate_fraction)
    run = _Run("fpara", fitness, initial_population, iterations, seed, bounds, local_search, callback, progress, 4)
    rng = run.rng
    r_count, dim = run.pop.shape
    riders = _Riders(r_count, dim, run.iterations)
    for t in range(run.iterations):
        lead = int(np.argmax(run.fit))
        leader = run.pop[lead].copy()
        success = _relative_success(run.fit)
        improved = np.zeros(r_count, dtype=bool)
        trial_fit = np.full(r_count, -math.inf)
        for i in range(r_count):
            g = riders.group[i]
            x = run.pop[i]
            if rng.random() < p:
                rad = np.deg2rad(riders.steer[i])
                if g == 0:  # bypass = local pollination
                    eta, xi = rng.choice(r_count, size=2, replace=False)
                    trial = x + rng.random() * (run.pop[eta] - run.pop[xi])
                elif g == 1:  # follower = global pollination toward the leader, selected coordinates
                    mask = _coordinate_mask(rng, dim, coordinate_fraction)
                    trial = x.copy()
                    step = levy_scale * levy_steps(rng, int(mask.sum()), levy_beta)
                    trial[mask] = x[mask] + (1.0 + np.cos(rad[mask])) * step * (leader[mask] - x[mask])
                elif g == 2:  # overtaker
                    mask = _coordinate_mask(rng, dim, coordinate_fraction)
                    direction = 2.0 / (1.0 - math.log(success[i])) - 1.0
                    trial = x.copy()
                    trial[mask] = x[mask] + direction * (leader[mask] - x[mask])
                else:  # attacker: Levy flight around the leader
                    r = int(rng.integers(r_count))
                    spread = leader - run.pop[r] if r != lead else leader - x
                    move = levy_scale * levy_steps(rng, dim, levy_beta) * spread
                    trial = leader + np.cos(rad) * move + riders.distance(i) * move
            else:  # FPA global pollination
                trial = x + levy_scale * levy_steps(rng, dim, levy_beta) * (leader - x)
            trial = run.clip(trial)
            f = run.evaluate(trial)
            trial_fit[i] = f
            if f >= run.fit[i]:
                improved[i] = f > run.fit[i]
                run.pop[i] = trial
                run.fit[i] = f
                run.consider(i, trial, f)
        riders.update(improved)
        run.memetic(trial_fit)
        if run.end_iteration(t):
            break
    return run.result()


METHODS = {"fpara": fpara, "fpa": fpa, "roa": roa}


def optimize(method: str, fitness: Fitness, initial_population, **kwargs) -> OptimizeResult:
    """Run the optimiser called ``method`` ('fpara', 'fpa' or 'roa')."""
    if method not in METHODS:
        raise InvalidArgumentError(f"unknown optimiser {method!r}; choose one of {', '.join(METHODS)}")
    return METHODS[method](fitness, initial_population, **kwargs)
