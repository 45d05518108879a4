"""The 45-minute lesson of ``docs/TEACHING.md`` as data: its seed, its steps (what to change in
the app at which week) and what each step shows, measured on the model without a browser.

The same steps are walked in a real browser by ``tests/test_app_browser.py``; the lesson's
claims are checked at the lesson's seed by ``tests/test_app.py``; and
``python -m sim.app.lesson --seeds 0-29`` measures them over other seeds, which is where the
guide's "in N of 30 runs" come from. Every step starts from a fresh model (Reset) of the
``classroom`` scenario at the lesson's seed; a change is made at the start of the week given
(after that many weeks have run), as a slider moved while the app is paused there.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..common.files import atomic_text
from ..core.columns import subject_col
from ..core.enums import Relation

SCENARIO = "classroom"
#: the lesson's seed (the classroom scenario's own seed, so that the app opens with it)
SEED = 23
#: the first run is paused here for discussion, then played to the end
FIRST_PAUSE = 104
#: the claim: dropped at week 0, the run played to this week
CLAIM_END = 104
#: propaganda: off at this week, on (at 1) at the next, the run played to the third
PROPAGANDA_OFF, PROPAGANDA_ON, PROPAGANDA_END = 70, 120, 170
#: a restriction on the Front on the whole map from this week, the run played to the next
RESTRICT_AT, RESTRICT_END = 40, 100


@dataclass(frozen=True)
class Change:
    """A slider moved at the start of ``week``: ``kind`` is ``group`` (claim, propaganda),
    ``restriction`` or ``param``."""

    week: int
    kind: str
    key: str
    value: float
    group: str | None = None
    zone: str | None = None


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    changes: tuple[Change, ...] = ()
    end: int = 260


STEPS = {
    "first": Step("first", "The first run, as written", (), 260),
    "claim": Step("claim", "Drop the claim", (Change(0, "group", "claim", 0.0, "Caliphate"),),
                  CLAIM_END),
    "propaganda": Step("propaganda", "Propaganda off, then on", (
        Change(PROPAGANDA_OFF, "group", "propaganda", 0.0, "Caliphate"),
        Change(PROPAGANDA_ON, "group", "propaganda", 1.0, "Caliphate")), PROPAGANDA_END),
    "restriction": Step("restriction", "Tie the Front's hands", (
        Change(RESTRICT_AT, "restriction", "restriction", 1.0, "Front", "all"),),
        RESTRICT_END),
    "governance": Step("governance", "No governance programme", (
        Change(0, "param", "governance_support", 0.0),), 260),
}


def run_step(step: Step, seed: int = SEED, scenario: str = SCENARIO):
    """The step's run: a fresh model, the step's changes at their weeks, played to its end.
    Returns the model (its recorder holds every week)."""
    from ..core.model import MilitantModel

    m = MilitantModel(scenario, rng=seed)
    end = min(step.end, m.p.steps)
    todo = sorted(step.changes, key=lambda c: c.week)
    while True:
        for c in todo:
            if c.week == m.week:
                apply_change(m, c)
        if m.week >= end:
            break
        m.step()
    return m


def apply_change(m, c: Change) -> None:
    if c.kind == "group":
        m.set_group(c.group, c.key, c.value)
    elif c.kind == "restriction":
        m.set_restriction(c.group, c.zone, c.value)
    else:
        m.set_param(c.key, c.value)


@dataclass
class Series:
    """The columns of a run that the lesson reads, one value per week from week 0."""

    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, k: str) -> np.ndarray:
        return self.data[k]

    @classmethod
    def of_model(cls, m) -> Series:
        rec = m.recorder
        return cls({c: rec.data[: rec.rows, i].copy() for i, c in enumerate(rec.columns)})

    @classmethod
    def of_csv(cls, text: str) -> Series:
        """The app's CSV download (one row per week, a header of column names)."""
        lines = text.strip().splitlines()
        cols = lines[0].split(",")
        values = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
        return cls({c: values[:, i] for i, c in enumerate(cols)})


PAIR = "Caliphate|Front"


def _mean(x, a, b) -> float:
    return float(np.mean(np.asarray(x)[a:b]))


def first_week(rel: np.ndarray, state: Relation, after: int = -1) -> int | None:
    w = np.flatnonzero((np.asarray(rel) == int(state)) & (np.arange(len(rel)) > after))
    return int(w[0]) if len(w) else None


def militant(s: Series) -> np.ndarray:
    return s["territory.Caliphate"] + s["territory.Front"]


def measure(step: str, s: Series, first: Series | None = None) -> dict[str, Any]:
    """What a step shows, from its run's series (and the first run's, for comparisons)."""
    rel = s[subject_col("relation", PAIR)].astype(int)
    out: dict[str, Any] = {}
    if step == "first":
        brk = first_week(rel, Relation.WAR)
        out["truce_broken_week"] = brk
        out["militant_at_break"] = int(militant(s)[brk]) if brk is not None else None
        out["militant_104"] = int(militant(s)[FIRST_PAUSE])
        out["militant_0"] = int(militant(s)[0])
        out["ungoverned_0"] = int(s["ungoverned"][0])
        out["ungoverned_104"] = int(s["ungoverned"][FIRST_PAUSE])
        out["clashes_war_104"] = (_mean(s["clashes"], brk + 1, FIRST_PAUSE + 1)
                                  if brk is not None and brk < FIRST_PAUSE else 0.0)
        out["militant_156"] = int(militant(s)[156])
        out["militant_260"] = int(militant(s)[-1])
        out["ungoverned_260"] = int(s["ungoverned"][-1])
    elif step == "claim":
        out["truce_weeks"] = int((rel[: CLAIM_END + 1] == Relation.TRUCE).sum())
        out["holds"] = bool((rel[: CLAIM_END + 1] == Relation.TRUCE).all())
        out["clashes"] = float(s["clashes"][1: CLAIM_END + 1].sum())
        out["militant_104"] = int(militant(s)[CLAIM_END])
        if first is not None:
            out["first_clashes"] = float(first["clashes"][1: CLAIM_END + 1].sum())
            out["first_militant_104"] = int(militant(first)[CLAIM_END])
    elif step == "propaganda":
        h = s[subject_col("hostility", PAIR)]
        a, b, c = PROPAGANDA_OFF, PROPAGANDA_ON, PROPAGANDA_END
        out["at_war_when_off"] = bool(rel[a] == Relation.WAR)
        out["hostility_off"], out["hostility_low"] = float(h[a]), float(h[b])
        out["hostility_back"] = float(h[c])
        out["clashes_before"] = _mean(s["clashes"], a - 20, a + 1)
        out["clashes_off"] = _mean(s["clashes"], a + 20, b + 1)
        out["clashes_on"] = _mean(s["clashes"], b + 20, c + 1)
        out["truce_weeks_off"] = int((rel[a:b + 1] == Relation.TRUCE).sum())
        out["truce_weeks_on"] = int((rel[b + 20:c + 1] == Relation.TRUCE).sum())
    elif step == "restriction":
        a, b = RESTRICT_AT, RESTRICT_END
        d = s["defect.Front>Caliphate"]
        out["defections_before"] = _mean(d, a - 20, a + 1)
        out["defections_after"] = _mean(d, a + 5, b + 1)
        out["front_at"], out["front_end"] = int(s["fighters.Front"][a]), int(s["fighters.Front"][b])
        out["caliphate_at"] = int(s["fighters.Caliphate"][a])
        out["caliphate_end"] = int(s["fighters.Caliphate"][b])
        if first is not None:
            out["first_defections"] = _mean(first["defect.Front>Caliphate"], a + 5, b + 1)
            out["first_front_end"] = int(first["fighters.Front"][b])
    elif step == "governance":
        out["militant_156"] = int(militant(s)[156])
        out["militant_260"] = int(militant(s)[-1])
        out["ungoverned_260"] = int(s["ungoverned"][-1])
        if first is not None:
            out["first_militant_260"] = int(militant(first)[-1])
            out["first_ungoverned_260"] = int(first["ungoverned"][-1])
    return out


def claims(step: str, m: dict[str, Any]) -> dict[str, bool]:
    """The lesson's statements about a step (docs/TEACHING.md), as tests of its measures."""
    if step == "first":
        brk = m["truce_broken_week"]
        return {"the truce breaks into war within two years": brk is not None
                and brk <= FIRST_PAUSE,
                "the groups hold more ground at week 104 than when the war began":
                    brk is not None and m["militant_104"] > m["militant_at_break"],
                "the programme from week 156 shrinks the ground they hold":
                    m["militant_260"] < 0.75 * m["militant_156"]}
    if step == "claim":
        out = {"without the claim the truce holds to week 104": m["holds"]}
        if "first_clashes" in m:
            out["without the claim there are far fewer clashes"] = (
                m["clashes"] <= 0.2 * max(1.0, m["first_clashes"]))
        return out
    if step == "propaganda":
        return {"the pair is at war when propaganda is turned off": m["at_war_when_off"],
                "hostility falls by a third or more with propaganda off":
                    m["hostility_low"] <= m["hostility_off"] - m["hostility_off"] / 3,
                "new truces form while propaganda is off": m["truce_weeks_off"] > 0,
                "clashes fall by half or more with propaganda off":
                    m["clashes_off"] <= 0.5 * m["clashes_before"],
                "hostility is back above half with propaganda on": m["hostility_back"] > 0.5,
                "clashes at least double with propaganda back on":
                    m["clashes_on"] >= 2 * max(0.1, m["clashes_off"])}
    if step == "restriction":
        out = {"the Front's fighters defect to the Caliphate at least five times as often":
               m["defections_after"] >= 5 * max(0.1, m["defections_before"]),
               "the Front loses fighters": m["front_end"] < m["front_at"],
               "the Caliphate gains fighters": m["caliphate_end"] > m["caliphate_at"]}
        if "first_defections" in m:
            out["at least three times the first run's defections in the same weeks"] = (
                m["defections_after"] >= 3 * max(0.1, m["first_defections"]))
            out["the Front has fewer fighters than in the first run"] = (
                m["front_end"] < m["first_front_end"])
        return out
    if step == "governance":
        out = {}
        if "first_militant_260" in m:
            out["without the programme the groups hold at least half as much ground again"] = (
                m["militant_260"] >= 1.5 * m["first_militant_260"])
        return out
    raise ValueError(step)


def lesson(seed: int = SEED) -> dict[str, dict[str, Any]]:
    """Every step at ``seed``: its measures and its claims."""
    first = Series.of_model(run_step(STEPS["first"], seed))
    out = {}
    for name, step in STEPS.items():
        s = first if name == "first" else Series.of_model(run_step(step, seed))
        m = measure(name, s, first)
        out[name] = {"measures": m, "claims": claims(name, m)}
    return out


def _seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",")]


def _one(seed: int) -> dict[str, Any]:
    return {"seed": seed, **lesson(seed)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Measure the lesson's steps over seeds (the "
                                 "numbers of docs/TEACHING.md).")
    ap.add_argument("--seeds", default=str(SEED), help="e.g. 0-29 or 3,23 (default: the "
                    "lesson's seed)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", help="write every seed's measures to this file")
    a = ap.parse_args(argv)
    seeds = _seeds(a.seeds)
    if a.workers > 1:
        from multiprocessing import Pool

        with Pool(a.workers) as pool:
            rows = pool.map(_one, seeds)
    else:
        rows = [_one(s) for s in seeds]
    counts: dict[str, int] = {}
    for r in rows:
        for step in STEPS:
            for claim, ok in r[step]["claims"].items():
                counts[f"{step}: {claim}"] = counts.get(f"{step}: {claim}", 0) + int(ok)
    for r in rows:
        print(f"seed {r['seed']}: " + "; ".join(
            f"{k}: " + ", ".join(f"{n}={_fmt(v)}" for n, v in r[k]["measures"].items())
            for k in STEPS))
    print(f"\nclaims holding, of {len(rows)} seeds:")
    for k, v in counts.items():
        print(f"  {v:3d}  {k}")
    if a.json:
        atomic_text(a.json, json.dumps(rows, indent=1, default=float), durable=False)
    return 0


def _fmt(v) -> str:
    return f"{v:.2f}" if isinstance(v, float) else str(v)


if __name__ == "__main__":
    sys.exit(main())
