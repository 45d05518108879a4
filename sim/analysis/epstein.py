"""Docking the project's mobilisation rule with Epstein's (2002) civil violence model.

:class:`EpsteinModel` is Epstein's "Model I" with the activation rule of ``rules.mobilise``:
grievance, perceived arrest probability and the activation test are the functions
``rules.grievance``, ``rules.arrest_probability`` and ``rules.activates`` that ``mobilise``
calls, so the docking tests the project's rule, not a copy of it. Around the rule it has what
the project's model does not: persistent citizens who turn active and quiet again every step,
cops who arrest, and jail. World and defaults are those of Mesa's bundled example
(``mesa.examples.advanced.epstein_civil_violence``): a 40 x 40 torus, citizen density 0.7,
cop density 0.074, von Neumann vision 7, legitimacy 0.8, threshold 0.1, k = 2.3, jail terms
drawn uniformly from 0 to 1000 steps.

One step, vectorised over agents (no per-agent Python loop), each phase on one snapshot:

1. jailed citizens serve one step; every free citizen decides at once, on the cops and actives
   in its vision at the start of the step (synchronous update);
2. every cop arrests one random active citizen in its vision (conflicts: a cop whose choice
   is taken by another cop picks again among those left);
3. cops and free citizens move to a random empty cell in their vision (in random order, in
   batches: a cell claimed by several movers of a batch goes to the first; the others draw
   again).

Jailed citizens keep their cell, as in Mesa's example (in Epstein's paper they leave the
lattice). Docking statistics of the active-citizen series (:func:`series_stats`,
:func:`pooled_stats`) and the comparison with Mesa's example (:func:`dock`) are measured by::

    .venv/bin/python -m sim.analysis.epstein --mesa-reference tests/data/epstein_mesa.json

(Mesa's runs stored by ``--write-mesa-reference``; ``--seeds N --steps S`` alone runs Mesa's
example too, at about 0.04 s a step). The comparison is paired by default: the project's run of
seed s starts from the initial agents of Mesa's run of seed s (:func:`mesa_initial_state`).

(docs/ODD.md, "Docking with Epstein (2002)"; tests/test_epstein.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import mesa
import numpy as np

from ..common.files import atomic_text
from ..core import rules

#: the defaults of Mesa's example (EpsteinScenario); tests/test_epstein.py checks they agree
DEFAULTS: dict[str, Any] = dict(width=40, height=40, citizen_density=0.7, cop_density=0.074,
                                vision=7, legitimacy=0.8, max_jail_term=1000, threshold=0.1,
                                arrest_k=2.3)

QUIET, ACTIVE, JAILED = 0, 1, 2

#: docking statistics: an outburst is a run of steps with at least BURST_MIN actives; the first
#: BURN_IN steps (the release of the most aggrieved when everyone starts quiet and no one is in
#: jail) are left out
BURST_MIN = 5
BURN_IN = 10


def vision_offsets(radius: int, neighbourhood: str = "von_neumann") -> np.ndarray:
    """(K, 2) offsets (dx, dy) of the cells in vision, the own cell excluded: von Neumann
    (|dx| + |dy| <= radius, Mesa's default) or Moore (max(|dx|, |dy|) <= radius)."""
    r = np.arange(-radius, radius + 1)
    dx, dy = np.meshgrid(r, r, indexing="xy")
    dx, dy = dx.ravel(), dy.ravel()
    if neighbourhood == "von_neumann":
        keep = np.abs(dx) + np.abs(dy) <= radius
    elif neighbourhood == "moore":
        keep = np.ones_like(dx, dtype=bool)
    else:
        raise ValueError(f"neighbourhood {neighbourhood!r}: von_neumann or moore")
    keep &= (dx != 0) | (dy != 0)
    return np.column_stack([dx[keep], dy[keep]])


class EpsteinModel(mesa.Model):
    """Epstein's civil violence model I, with the project's activation rule.

    Args:
        rng: seed or generator (Mesa's ``rng=``).
        width, height: the torus.
        citizen_density, cop_density: each cell holds a citizen, a cop or nothing with these
            probabilities.
        vision: radius of the citizens' and cops' vision (and of their moves).
        legitimacy: L in G = H (1 - L).
        max_jail_term: jail terms are uniform on 0, 1, ..., max_jail_term steps.
        threshold: T in G - R P > T.
        arrest_k: k in P = 1 - exp(-k round(C / A)).
        neighbourhood: "von_neumann" (Mesa's default) or "moore".
        initial: a given initial state instead of drawing one, ``{"citizens": cells,
            "cops": cells, "hardship": H, "risk": R}`` (as :func:`mesa_initial_state` reads
            from Mesa's example, for paired comparisons).

    ``self.active``, ``self.quiet``, ``self.jailed``: per-step counts, the initial state first
    (as Mesa's data collector).
    """

    def __init__(self, *, rng: Any = None, neighbourhood: str = "von_neumann",
                 initial: dict[str, np.ndarray] | None = None, **params: Any):
        super().__init__(rng=rng)
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown parameters {sorted(unknown)}; known: {sorted(DEFAULTS)}")
        self.params = {**DEFAULTS, **params}
        for k, v in self.params.items():
            setattr(self, k, v)
        if self.citizen_density + self.cop_density > 1:
            raise ValueError("citizen_density + cop_density must be at most 1")
        W, H = self.width, self.height
        self.offsets = vision_offsets(self.vision, neighbourhood)
        #: half-width of the row of vision at each dy = -vision..vision
        self.half = [self.vision - abs(dy) if neighbourhood == "von_neumann" else self.vision
                     for dy in range(-self.vision, self.vision + 1)]
        #: (cells, K): the cells in the vision of each cell, in the order of ``offsets``
        xs, ys = np.arange(W * H) % W, np.arange(W * H) // W
        self.sight = (((ys[:, None] + self.offsets[:, 1]) % H) * W
                      + (xs[:, None] + self.offsets[:, 0]) % W).astype(np.int32)
        self.neighbourhood = neighbourhood

        if initial is None:
            u = self.rng.random(W * H)
            cit_cells = np.flatnonzero(u < self.citizen_density)
            cop_cells = np.flatnonzero((u >= self.citizen_density)
                                       & (u < self.citizen_density + self.cop_density))
        else:
            cit_cells, cop_cells = initial["citizens"], initial["cops"]
        self.n_citizens, self.n_cops = len(cit_cells), len(cop_cells)
        #: cell (y * width + x) of every agent: citizens first, then cops
        self.pos = np.concatenate([cit_cells, cop_cells])
        self.occupied = np.zeros(W * H, dtype=bool)
        self.occupied[self.pos] = True
        if len(np.unique(self.pos)) != len(self.pos):
            raise ValueError("initial: two agents in one cell")
        n = self.n_citizens
        if initial is None:
            self.hardship = self.rng.random(n)
            self.risk = self.rng.random(n)
        else:
            self.hardship = np.asarray(initial["hardship"], dtype=np.float64)
            self.risk = np.asarray(initial["risk"], dtype=np.float64)
        self.G = rules.grievance(self.hardship, self.legitimacy)
        self.state = np.full(n, QUIET, dtype=np.int8)
        self.jail = np.zeros(n, dtype=np.int64)
        self.active: list[int] = []
        self.quiet: list[int] = []
        self.jailed: list[int] = []
        self._record()

    # -- helpers -------------------------------------------------------------------------------
    def _in_vision(self, cells: np.ndarray) -> np.ndarray:
        """Number of the given agents' cells in the vision of every cell, flat (W * H,): for
        each row dy of the vision, a run of half-width ``half[dy]`` from prefix sums along x,
        on the torus (the grid is wrapped by ``vision`` cells on every side)."""
        W, H, v = self.width, self.height, self.vision
        grid = np.bincount(cells, minlength=W * H).reshape(H, W)
        wide = np.pad(grid, v, mode="wrap")
        csum = np.zeros((H + 2 * v, W + 2 * v + 1), dtype=np.int64)
        np.cumsum(wide, axis=1, out=csum[:, 1:])
        out = -grid  # the own cell is not in vision
        for dy, w in zip(range(-v, v + 1), self.half):
            rows = csum[v + dy:v + dy + H]
            out += rows[:, v + w + 1:v + w + 1 + W] - rows[:, v - w:v - w + W]
        return out.ravel()

    def _record(self) -> None:
        counts = np.bincount(self.state, minlength=3)
        self.quiet.append(int(counts[QUIET]))
        self.active.append(int(counts[ACTIVE]))
        self.jailed.append(int(counts[JAILED]))

    def _sees(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(len(a), len(b)): cell b[j] is in the vision of cell a[i] (torus distance)."""
        W, H = self.width, self.height
        dx = np.abs(a[:, None] % W - b[None, :] % W)
        dy = np.abs(a[:, None] // W - b[None, :] // W)
        dx, dy = np.minimum(dx, W - dx), np.minimum(dy, H - dy)
        if self.neighbourhood == "von_neumann":
            d = dx + dy
        else:
            d = np.maximum(dx, dy)
        return (d <= self.vision) & (d > 0)

    # -- the step ------------------------------------------------------------------------------
    def step(self) -> None:
        citizens = self.pos[:self.n_citizens]
        # 1. jail, then every free citizen decides, all on the same snapshot
        serving = self.jail > 0
        self.jail[serving] -= 1
        free = np.flatnonzero(~serving)
        cops_v = self._in_vision(self.pos[self.n_citizens:])
        actives_v = self._in_vision(citizens[self.state == ACTIVE])
        c = citizens[free]
        P = rules.arrest_probability(cops_v[c], 1 + actives_v[c], self.arrest_k)
        go = rules.activates(self.G[free], self.risk[free], P, self.threshold)
        self.state[free] = np.where(go, ACTIVE, QUIET)
        # 2. arrests
        self._arrest()
        # 3. moves: cops and citizens who are not in jail
        movers = np.ones(len(self.pos), dtype=bool)
        movers[:self.n_citizens] = self.state != JAILED
        self._move(np.flatnonzero(movers))
        self._record()

    def _arrest(self) -> np.ndarray:
        """Each cop arrests one random active citizen in its vision; returns the arrested."""
        actives = np.flatnonzero(self.state == ACTIVE)
        if len(actives) == 0:
            return actives
        cops = self.pos[self.n_citizens:]
        sees = self._sees(cops, self.pos[actives])  # (cops, actives)
        free_act = np.ones(len(actives), dtype=bool)
        pending = np.flatnonzero(sees.any(1))
        taken = []
        while len(pending):
            options = sees[pending] & free_act[None, :]
            has = options.any(1)
            pending, options = pending[has], options[has]
            if not len(pending):
                break
            keys = np.where(options, self.rng.random(options.shape), -1.0)
            choice = keys.argmax(1)
            # a target chosen by several cops goes to one of them at random
            order = self.rng.permutation(len(pending))
            _, first = np.unique(choice[order], return_index=True)
            won = order[first]
            taken.append(choice[won])
            free_act[choice[won]] = False
            pending = np.delete(pending, won)
        arrested = actives[np.concatenate(taken)] if taken else actives[:0]
        self.state[arrested] = JAILED
        self.jail[arrested] = self.rng.integers(0, self.max_jail_term + 1, len(arrested))
        return arrested

    def _move(self, movers: np.ndarray, draws: int = 16) -> None:
        """Every mover goes to a uniformly random empty cell in its vision, if there is one.

        The movers queue in random order and move in batches of half the number of empty
        cells, each batch on the occupancy left by the ones before: a mover draws ``draws``
        cells of its vision and takes the first empty one (uniform among the empty cells); a
        cell claimed by several movers of a batch goes to the first in the queue; the others,
        and movers whose draws were all occupied, go back to the head of the queue.
        """
        queue = self.rng.permutation(movers)
        batch_size = max(1, (len(self.occupied) - len(self.pos)) // 2)
        rounds = 0
        while len(queue):
            rounds += 1
            if rounds % 50 == 0:  # rare: leave out movers with no empty cell in vision
                empty_v = self._in_vision(np.flatnonzero(~self.occupied))
                queue = queue[empty_v[self.pos[queue]] > 0]
                if not len(queue):
                    break
            batch, queue = queue[:batch_size], queue[batch_size:]
            k = self.rng.integers(len(self.offsets), size=(len(batch), draws), dtype=np.int16)
            tgt = self.sight[self.pos[batch][:, None], k]
            ok = ~self.occupied[tgt]
            target = tgt[np.arange(len(batch)), ok.argmax(1)]
            claim = np.flatnonzero(ok.any(1))
            _, first = np.unique(target[claim], return_index=True)
            won = claim[first]
            who, where = batch[won], target[won]
            self.occupied[self.pos[who]] = False
            self.occupied[where] = True
            self.pos[who] = where
            lost = np.ones(len(batch), dtype=bool)
            lost[won] = False
            queue = np.concatenate([batch[lost], queue])

    def run(self, steps: int) -> np.ndarray:
        """Run ``steps`` steps; return the active series (initial state first)."""
        for _ in range(steps):
            self.step()
        return np.asarray(self.active)


# =============================================================================================
# Mesa's example, and the docking statistics
# =============================================================================================
def mesa_defaults() -> dict[str, Any]:
    """The defaults of Mesa's example, in this module's names."""
    import inspect

    from mesa.examples.advanced.epstein_civil_violence.model import (EpsteinCivilViolence,
                                                                     EpsteinScenario)

    s = EpsteinScenario()
    size = inspect.signature(EpsteinCivilViolence.__init__).parameters
    return dict(width=size["width"].default, height=size["height"].default,
                citizen_density=s.citizen_density,
                cop_density=s.cop_density, vision=s.citizen_vision,
                legitimacy=s.legitimacy, max_jail_term=s.max_jail_term,
                threshold=s.active_threshold, arrest_k=s.arrest_prob_constant,
                cop_vision=s.cop_vision, grid_type=s.grid_type, movement=s.movement)


def run_mesa(seed: int, steps: int) -> tuple[np.ndarray, int]:
    """Mesa's bundled example at its defaults: (active series with the initial state first,
    number of citizens)."""
    from mesa.examples.advanced.epstein_civil_violence.model import (EpsteinCivilViolence,
                                                                     EpsteinScenario)

    m = EpsteinCivilViolence(scenario=EpsteinScenario(rng=seed))
    for _ in range(steps):
        m.step()
    df = m.datacollector.get_model_vars_dataframe()
    return df["active"].to_numpy(), int(df.iloc[0][["active", "quiet", "arrested"]].sum())


def write_mesa_reference(path, seeds: list[int], steps: int) -> None:
    """Run Mesa's example for ``seeds`` and store the active series (tests/test_epstein.py
    compares the project's mode with them, and re-runs some seeds to check they are current:
    Mesa's example takes about 0.04 s a step, too long to re-run every seed in the test)."""
    import json
    import platform
    from pathlib import Path

    runs = {}
    for s in seeds:
        active, n = run_mesa(s, steps)
        runs[str(s)] = {"n_citizens": n, "active": " ".join(map(str, active.tolist()))}
    doc = {"what": "active citizens per step of Mesa's epstein_civil_violence example at its "
                   "defaults, EpsteinScenario(rng=seed), the initial state first",
           "command": f"python -m sim.analysis.epstein --write-mesa-reference {path} "
                      f"--seeds {len(seeds)} --steps {steps}",
           "made_with": {"mesa": mesa.__version__, "numpy": np.__version__,
                         "python": platform.python_version()},
           "defaults": mesa_defaults(), "steps": steps, "seeds": list(seeds), "runs": runs}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_text(path, json.dumps(doc, indent=1) + "\n")


def read_mesa_reference(path) -> tuple[dict[str, Any], list[tuple[np.ndarray, int]]]:
    """(the stored document, [(active series, citizens) per seed in order])."""
    import json
    from pathlib import Path

    doc = json.loads(Path(path).read_text())
    runs = [(np.array(doc["runs"][str(s)]["active"].split(), dtype=np.int64),
             doc["runs"][str(s)]["n_citizens"]) for s in doc["seeds"]]
    return doc, runs


def mesa_initial_state(seed: int) -> dict[str, np.ndarray]:
    """The initial agents of Mesa's example with ``seed`` (cells as y * width + x, citizens'
    hardship and risk aversion), for :class:`EpsteinModel`'s ``initial``."""
    from mesa.examples.advanced.epstein_civil_violence.agents import Citizen, Cop
    from mesa.examples.advanced.epstein_civil_violence.model import (EpsteinCivilViolence,
                                                                     EpsteinScenario)

    m = EpsteinCivilViolence(scenario=EpsteinScenario(rng=seed))
    width = m.grid.dimensions[0]

    def cells(agents):
        return np.array([a.cell.coordinate[1] * width + a.cell.coordinate[0] for a in agents],
                        dtype=np.int64)

    citizens, cops = list(m.agents_by_type[Citizen]), list(m.agents_by_type[Cop])
    return {"citizens": cells(citizens), "cops": cells(cops),
            "hardship": np.array([a.hardship for a in citizens]),
            "risk": np.array([a.risk_aversion for a in citizens])}


def run_project(seed: int, steps: int, paired: bool = False,
                **params: Any) -> tuple[np.ndarray, int]:
    """:class:`EpsteinModel`: (active series with the initial state first, citizens). With
    ``paired``, it starts from the initial state of Mesa's example with the same seed (then
    runs on its own random numbers)."""
    initial = mesa_initial_state(seed) if paired else None
    m = EpsteinModel(rng=seed, initial=initial, **params)
    return m.run(steps), m.n_citizens


def _runs(x: np.ndarray) -> tuple[list[int], list[int]]:
    """(peaks of the outbursts, lengths of the quiet spells) of one series: an outburst is a
    maximal run of steps with x >= BURST_MIN, a quiet spell a maximal run of the others (those
    cut by the start or end of the series included)."""
    hot = x >= BURST_MIN
    edges = np.flatnonzero(np.diff(hot.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [len(x)]])
    peaks, quiet = [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b > a:
            (peaks.append(int(x[a:b].max())) if hot[a] else quiet.append(int(b - a)))
    return peaks, quiet


def series_stats(active: np.ndarray, n_citizens: int) -> dict[str, float]:
    """Docking statistics of one active series (initial state first; the first BURN_IN steps
    are dropped): lag-1 autocorrelation, mean outburst peak, mean quiet spell, mean share
    active, outbursts per 100 steps."""
    x = np.asarray(active, dtype=np.float64)[1 + BURN_IN:]
    d = x - x.mean()
    den = float((d * d).sum())
    peaks, quiet = _runs(x)
    return {"lag1": float((d[:-1] * d[1:]).sum() / den) if den > 0 else float("nan"),
            "burst_peak": float(np.mean(peaks)) if peaks else float("nan"),
            "quiet_spell": float(np.mean(quiet)) if quiet else float("nan"),
            "share_active": float(x.mean() / n_citizens),
            "bursts_per_100": 100.0 * len(peaks) / len(x)}


def pooled_stats(runs: list[tuple[np.ndarray, int]]) -> dict[str, float]:
    """The same statistics pooled over runs (seeds): the autocorrelation from the pooled
    sums of products about the grand mean (pairs within runs only), peaks and spells from all
    runs together, the share from all steps of all runs."""
    xs = [np.asarray(a, dtype=np.float64)[1 + BURN_IN:] for a, _ in runs]
    mu = np.concatenate(xs).mean()
    num = sum(float(((x[:-1] - mu) * (x[1:] - mu)).sum()) for x in xs)
    den = sum(float(((x - mu) ** 2).sum()) for x in xs)
    peaks, quiet = [], []
    for x in xs:
        p, q = _runs(x)
        peaks += p
        quiet += q
    steps = sum(len(x) for x in xs)
    return {"lag1": num / den if den > 0 else float("nan"),
            "burst_peak": float(np.mean(peaks)) if peaks else float("nan"),
            "quiet_spell": float(np.mean(quiet)) if quiet else float("nan"),
            "share_active": float(sum(x.sum() / n for x, (_, n) in zip(xs, runs)) / steps),
            "bursts_per_100": 100.0 * len(peaks) / steps,
            "bursts": len(peaks)}


def dock(seeds: list[int], steps: int, mesa_runs: list[tuple[np.ndarray, int]] | None = None,
         paired: bool = True, **params: Any) -> dict[str, dict[str, Any]]:
    """Run both models on ``seeds`` for ``steps`` steps (Mesa's runs may be given); with
    ``paired`` (the default) the project's run of a seed starts from the initial state of
    Mesa's run of that seed. Returns {"mesa": ..., "project": ...}, each with the pooled
    statistics ("pooled") and the per-seed ones ("per_seed": statistic -> list over seeds)."""
    out = {}
    if mesa_runs is None:
        mesa_runs = [run_mesa(s, steps) for s in seeds]
    project_runs = [run_project(s, steps, paired=paired, **params) for s in seeds]
    for name, runs in (("mesa", mesa_runs), ("project", project_runs)):
        per = [series_stats(a, n) for a, n in runs]
        out[name] = {"pooled": pooled_stats(runs),
                     "per_seed": {k: [p[k] for p in per] for k in per[0]}}
    return out


def format_dock(result: dict[str, dict[str, Any]]) -> str:
    """A table: each statistic pooled, and its mean [min, max] over seeds."""
    lines = [f"{'statistic':16s} {'model':8s} {'pooled':>9s}   per seed: mean [min, max]"]
    for k in ("lag1", "burst_peak", "quiet_spell", "share_active", "bursts_per_100"):
        for name, r in result.items():
            v = np.asarray(r["per_seed"][k], dtype=float)
            ok = v[~np.isnan(v)]
            per = (f"{ok.mean():9.4g} [{ok.min():.4g}, {ok.max():.4g}]"
                   f"{'' if len(ok) == len(v) else f' ({len(v) - len(ok)} seeds undefined)'}"
                   if len(ok) else "undefined")
            lines.append(f"{k:16s} {name:8s} {r['pooled'][k]:9.4g}   {per}")
    return "\n".join(lines)


def series_summary(active: np.ndarray, n_citizens: int) -> str:
    """One run: its statistics and a sparse listing of its outbursts."""
    s = series_stats(active, n_citizens)
    x = np.asarray(active)
    return (f"{n_citizens} citizens, {len(x) - 1} steps; actives: mean {x[1:].mean():.2f}, "
            f"max {x[1:].max()}\n"
            + "\n".join(f"  {k:15s} {v:.4g}" for k, v in s.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.analysis.epstein", description=(
        "Docking with Epstein (2002): the project's activation rule in Epstein's world, "
        "against Mesa's bundled example at its defaults."))
    ap.add_argument("--seeds", type=int, default=16, help="seeds 1..N for each model")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--project-only", action="store_true", help="skip Mesa's (slow) example")
    ap.add_argument("--unpaired", action="store_true", help="the project's runs draw their "
                    "own initial state (default: each starts from Mesa's for the same seed)")
    ap.add_argument("--mesa-reference", metavar="JSON",
                    help="take Mesa's runs from this file (seeds and steps as stored)")
    ap.add_argument("--write-mesa-reference", metavar="JSON",
                    help="run Mesa's example for the seeds and store its series here")
    a = ap.parse_args(argv)
    seeds = list(range(1, a.seeds + 1))
    if a.write_mesa_reference:
        write_mesa_reference(a.write_mesa_reference, seeds, a.steps)
        print(f"wrote {a.write_mesa_reference}")
        return 0
    t = time.perf_counter()
    if a.project_only:
        runs = [run_project(s, a.steps) for s in seeds]
        res = {"project": {"pooled": pooled_stats(runs), "per_seed": {
            k: [series_stats(r, n)[k] for r, n in runs] for k in series_stats(*runs[0])}}}
    elif a.mesa_reference:
        doc, mesa_runs = read_mesa_reference(a.mesa_reference)
        seeds, a.steps, a.seeds = doc["seeds"], doc["steps"], len(doc["seeds"])
        res = dock(seeds, a.steps, mesa_runs=mesa_runs, paired=not a.unpaired)
    else:
        res = dock(seeds, a.steps, paired=not a.unpaired)
    print(f"{a.seeds} seeds x {a.steps} steps (first {BURN_IN} dropped; outburst: "
          f">= {BURST_MIN} actives; {'own' if a.unpaired else 'paired'} initial states); "
          f"{time.perf_counter() - t:.1f} s")
    print(format_dock(res))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
