"""The one place that names the columns of a run's ``steps`` table.

Model-level columns have plain names (``ungoverned``); per-group columns are ``VAR.GROUP``
(``fighters.ISIS``); per-pair columns ``VAR.A|B`` (``relation.ISIS|JN``, the pair in scenario
order) and directed ones ``VAR.A>B`` (``defect.JN>ISIS``: from A to B). Every module that
builds or reads such a name goes through :func:`group_col`, :func:`pair_col`,
:func:`directed_col` and :func:`parse_col` (and :func:`pair_key` for ``A|B`` alone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

#: per-group variables (``VAR.GROUP``)
GROUP_VARS = ["fighters", "territory", "recruits", "deaths_state", "deaths_clash",
              "deaths_strike", "deaths_ground", "desertions", "defect_in", "defect_out", "hostility",
              "commitment", "frustration", "momentum", "cohesion", "claim", "support", "ops",
              "hits", "threat", "alive"]
#: per-pair variables (``VAR.A|B``)
PAIR_VARS = ["relation", "hostility", "clashes", "incidents", "clash_casualties"]
#: directed pair variables (``VAR.A>B``)
DIRECTED_VARS = ["tension", "defect"]
#: model-level variables (plain names)
MODEL_VARS = ["week", "year", "fighters", "recruits", "latent", "deaths", "desertions",
              "defections", "clashes", "clash_casualties", "hits", "ungoverned",
              "governance_mean", "security_total", "state_cells", "free_cells",
              "militant_cells", "population"]
#: variables that count what happened during the week (flows); every other column is the
#: state at the end of the week (a stock). Kept series sum flows over each collection period.
FLOW_VARS = {"recruits", "latent", "deaths", "deaths_state", "deaths_clash", "deaths_strike",
             "desertions", "defections", "defect_in", "defect_out", "clashes",
             "clash_casualties", "hits", "ops", "defect"}
#: variables stored as whole numbers (and ``alive`` as booleans)
INT_VARS = {"week", "fighters", "territory", "recruits", "latent", "deaths",
            "deaths_state", "deaths_clash", "deaths_strike", "deaths_ground",
            "desertions", "defect_in", "defect_out", "defections", "clashes",
            "incidents", "clash_casualties", "ungoverned",
            "state_cells", "free_cells", "militant_cells", "relation", "defect", "ops",
            "hits"}
BOOL_VARS = {"alive"}

PAIR_SEP = "|"
DIRECTED_SEP = ">"


@dataclass(frozen=True)
class Column:
    """A parsed column name: its variable and what it is about (``kind`` is ``"model"``,
    ``"group"``, ``"pair"`` or ``"directed"``; ``a`` the group or the pair's first, ``b`` the
    pair's second)."""

    var: str
    kind: str = "model"
    a: str | None = None
    b: str | None = None

    @property
    def name(self) -> str:
        if self.kind == "group":
            return group_col(self.var, self.a)
        if self.kind == "pair":
            return pair_col(self.var, self.a, self.b)
        if self.kind == "directed":
            return directed_col(self.var, self.a, self.b)
        return self.var

    @property
    def subject(self) -> str | None:
        """What follows the variable: ``GROUP``, ``A|B`` or ``A>B`` (None for a model column)."""
        return None if self.kind == "model" else self.name.split(".", 1)[1]


def pair_key(a: str, b: str) -> str:
    """``A|B``: the name of a pair (the summary's keys, the suffix of pair columns)."""
    return f"{a}{PAIR_SEP}{b}"


def directed_key(a: str, b: str) -> str:
    """``A>B``: from A to B."""
    return f"{a}{DIRECTED_SEP}{b}"


def split_pair(key: str) -> list[str]:
    """``"A|B"`` -> ``["A", "B"]``."""
    return key.split(PAIR_SEP)


def split_pair_arg(text: str, directed: bool = False) -> list[str]:
    """A pair as a user writes it (an outcome's or a pattern's argument) -> its two names:
    ``"A|B"`` or ``"A>B"`` for a pair, only ``"A>B"`` for a directed one."""
    sep = re.escape(DIRECTED_SEP) if directed else f"[{re.escape(PAIR_SEP + DIRECTED_SEP)}]"
    return [p.strip() for p in re.split(sep, text)]


def group_col(var: str, group: str) -> str:
    """``VAR.GROUP``."""
    return f"{var}.{group}"


def pair_col(var: str, a: str, b: str) -> str:
    """``VAR.A|B``."""
    return f"{var}.{pair_key(a, b)}"


def directed_col(var: str, a: str, b: str) -> str:
    """``VAR.A>B``."""
    return f"{var}.{directed_key(a, b)}"


def subject_col(var: str, subject: str) -> str:
    """``VAR.SUBJECT`` for a subject already named (``GROUP``, ``A|B`` or ``A>B``)."""
    return f"{var}.{subject}"


def col_var(name: str) -> str:
    """The variable of a column name (``fighters`` of ``fighters.ISIS``)."""
    return name.split(".", 1)[0]


def parse_col(name: str) -> Column:
    """A column name -> :class:`Column`."""
    var, dot, rest = name.partition(".")
    if not dot:
        return Column(var)
    if PAIR_SEP in rest:
        a, b = rest.split(PAIR_SEP, 1)
        return Column(var, "pair", a, b)
    if DIRECTED_SEP in rest:
        a, b = rest.split(DIRECTED_SEP, 1)
        return Column(var, "directed", a, b)
    return Column(var, "group", rest)


def pairs(G: int) -> list[tuple[int, int]]:
    """The unordered pairs of G groups, in scenario order."""
    return [(a, b) for a in range(G) for b in range(a + 1, G)]


def steps_columns(names: Sequence[str]) -> list[str]:
    """The columns of a run's ``steps`` table for groups ``names``, in the table's order."""
    G = len(names)
    cols = list(MODEL_VARS)
    cols += [group_col(v, n) for v in GROUP_VARS for n in names]
    for v in PAIR_VARS:
        cols += [pair_col(v, names[a], names[b]) for a, b in pairs(G)]
    for v in DIRECTED_VARS:
        cols += [directed_col(v, names[a], names[b]) for a in range(G) for b in range(G)
                 if a != b]
    return cols


def is_flow(column: str) -> bool:
    """Whether a ``steps`` column is a flow (a count of the week) rather than a stock."""
    return col_var(column) in FLOW_VARS
