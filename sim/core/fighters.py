"""Fighters: a structure of numpy arrays, with a Mesa agent for each fighter.

The rules read and write the arrays (one row per living fighter), vectorised. Each fighter is
also a :class:`Fighter`, a ``mesa.Agent`` registered with the model, so a user can reach every
fighter through ``model.agents`` and read its attributes; those attributes are views on the
arrays, so they are always current. The agents are made only when someone looks: the first
read of ``model.agents`` (or ``model.fighter(fid)``, or the ``agents`` of a cell of
``model.grid``, a :class:`FighterCell`) makes one per living
fighter, and every later read first brings them up to date (agents of recruits made, those of
the dead and deserted removed). A run nobody looks into creates and removes no agent at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np
from mesa.discrete_space import Cell

from . import kernels

if TYPE_CHECKING:  # pragma: no cover
    from .model import MilitantModel

#: the per-fighter columns and their dtypes
COLUMNS: dict[str, type] = {
    "fid": np.int64,          # stable fighter id (also the key of its Mesa agent)
    "group": np.int16,        # index of the fighter's group
    "cell": np.int32,         # flat cell index c = y * width + x
    "takfir": np.float64,     # ideology theta_i, takfir axis
    "coercion": np.float64,   # ideology theta_i, coercion axis
    "hardship": np.float64,   # the fighter's own hardship H_i (grievance G_i = H_i (1 - L))
    "risk": np.float64,       # risk aversion R_i
    "commitment": np.float64,  # c_i
    "hostility": np.float64,  # eta_i: readiness to treat rival jihadists as apostates
    "frustration": np.float64,  # f_i
    "tenure": np.int32,       # weeks in the current group
    "experience": np.int32,   # operations and clashes fought
    "fought": np.bool_,       # fought this week (attack or clash)
    "routed": np.bool_,       # lost a clash this week: must leave the cell
    "unit": np.int64,         # the fighting unit it belongs to (units merge and split)
}


#: the columns stored together, one block (a 2-d array, a row per column) per dtype
_BLOCKS: dict[type, list[str]] = {}
for _name, _dt in COLUMNS.items():
    _BLOCKS.setdefault(_dt, []).append(_name)


class FighterTable:
    """Columns of equal length, one row per living fighter.

    The columns of one dtype live in one block with spare capacity, so that recruits are
    written in place at the end and the dead are removed by one compiled pass per block
    (in place: the rows after a removal move up). Each column attribute (``F.hostility``)
    is a view of its block's first ``len(F)`` entries, renewed after every add and removal:
    take it again after either rather than holding it.
    """

    def __init__(self):
        self._n = 0
        self._cap = 0
        self._blocks = {dt: np.empty((len(names), 0), dtype=dt) for dt, names in _BLOCKS.items()}
        self._rows()
        self._views()
        self.row_of = np.full(1024, -1, dtype=np.int64)  # fid -> row (-1: gone)
        self.next_fid = 0
        self.removals = 0  # how many times rows were removed (for the lazy Mesa agents)

    def __len__(self) -> int:
        return self._n

    # the column attributes are views of the blocks: a copy or a pickle keeps the blocks and
    # makes the views again, so that the columns still write into them
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in COLUMNS and k != "_full"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._rows()
        self._views()

    def _rows(self) -> None:
        """Each column's whole row of its block (made again whenever the blocks are)."""
        self._full = [(name, self._blocks[dt][r]) for dt, names in _BLOCKS.items()
                      for r, name in enumerate(names)]

    def _views(self) -> None:
        n = self._n
        self.__dict__.update({name: row[:n] for name, row in self._full})

    def _reserve(self, total: int) -> None:
        if total <= self._cap:
            return
        cap = max(1024, 2 * self._cap, total)
        for dt, names in _BLOCKS.items():
            grown = np.zeros((len(names), cap), dtype=dt)
            grown[:, : self._n] = self._blocks[dt][:, : self._n]
            self._blocks[dt] = grown
        self._cap = cap
        self._rows()

    def add(self, **cols) -> np.ndarray:
        """Append fighters; return their new fids. Missing columns get zeros."""
        n = len(cols["group"])
        fids = np.arange(self.next_fid, self.next_fid + n, dtype=np.int64)
        self.next_fid += n
        cols["fid"] = fids
        cols.setdefault("unit", fids)  # a new fighter is a unit of one
        start = self._n
        self._reserve(start + n)
        for name, row in self._full:  # cast to the column's dtype as it is written
            new = cols.get(name)
            row[start:start + n] = 0 if new is None else new
        self._n = start + n
        self._views()
        if self.next_fid > len(self.row_of):
            grown = np.full(max(2 * len(self.row_of), self.next_fid), -1, dtype=np.int64)
            grown[: len(self.row_of)] = self.row_of
            self.row_of = grown
        self.row_of[fids] = np.arange(start, start + n)
        return fids

    def keep(self, mask: np.ndarray) -> np.ndarray:
        """Keep the rows where mask is true; return the fids removed."""
        mask = np.asarray(mask, dtype=bool)
        blocks = list(self._blocks.values())
        if len(blocks) == 5:  # one compiled call for the table as COLUMNS lays it out
            gone = kernels.remove_rows(mask, self.fid, self.row_of, self._n, *blocks)
        else:
            gone, dropped = kernels.drop_rows(mask, self.fid, self.row_of)
            if len(gone):
                for block in blocks:
                    kernels.compact_block(block, self._n, dropped)
        if len(gone) == 0:
            return gone
        self._n -= len(gone)
        self._views()
        self.removals += 1
        return gone

    def ideology(self) -> np.ndarray:
        """Ideology theta_i as an (n, 2) array (takfir, coercion)."""
        return np.column_stack([self.takfir, self.coercion])


class Fighter(mesa.Agent):
    """One fighter. Its attributes are read from the model's arrays.

    Attributes (read-only): ``group`` (name), ``group_index``, ``pos`` (x, y), ``cell`` (the
    Mesa ``discrete_space`` cell), ``ideology`` (takfir, coercion), ``grievance``,
    ``hardship``, ``risk_aversion``, ``commitment``, ``hostility``, ``frustration``,
    ``tenure`` (weeks), ``experience`` (fights), ``alive``.
    """

    def __init__(self, model: MilitantModel, fid: int):
        super().__init__(model)
        self.fid = int(fid)

    # -- helpers ---------------------------------------------------------------------------
    def _row(self) -> int:
        r = int(self.model.fighters.row_of[self.fid])
        if r < 0:
            raise RuntimeError(f"fighter {self.fid} is no longer in the model")
        return r

    def _get(self, column: str):
        return getattr(self.model.fighters, column)[self._row()].item()

    @property
    def alive(self) -> bool:
        return bool(self.model.fighters.row_of[self.fid] >= 0)

    @property
    def group_index(self) -> int:
        return self._get("group")

    @property
    def group(self) -> str:
        return self.model.group_names[self.group_index]

    @property
    def pos(self) -> tuple[int, int]:
        c = self._get("cell")
        return (c % self.model.width, c // self.model.width)

    @pos.setter
    def pos(self, value) -> None:
        # mesa.Agent.__init__ sets pos = None; a fighter's position lives in the arrays
        if value is not None:
            raise AttributeError("a fighter moves only through the model's rules")

    @property
    def cell(self):
        return self.model.grid[self.pos]

    @property
    def ideology(self) -> tuple[float, float]:
        return (self._get("takfir"), self._get("coercion"))

    @property
    def grievance(self) -> float:
        r = self._row()
        f = self.model.fighters
        return float(f.hardship[r] * (1.0 - self.model.governance[f.cell[r]]))

    hardship = property(lambda self: self._get("hardship"))
    risk_aversion = property(lambda self: self._get("risk"))
    commitment = property(lambda self: self._get("commitment"))
    hostility = property(lambda self: self._get("hostility"))
    frustration = property(lambda self: self._get("frustration"))
    tenure = property(lambda self: self._get("tenure"))
    experience = property(lambda self: self._get("experience"))

    def __repr__(self) -> str:
        if not self.alive:
            return f"<Fighter {self.fid} (gone)>"
        return f"<Fighter {self.fid} of {self.group} at {self.pos}>"


class FighterCell(Cell):
    """A cell of ``model.grid`` whose ``agents`` are the fighters standing in it, read from
    the arrays when asked (their Mesa agents brought up to date first)."""

    model: MilitantModel | None = None

    @property
    def agents(self) -> list:
        m = self.model
        if m is None:
            return Cell.agents.fget(self)
        x, y = self.coordinate
        F = m.fighters
        m._sync_agents()
        return [m._agent_of[f] for f in F.fid[F.cell == y * m.width + x].tolist()]

    @property
    def is_empty(self) -> bool:
        return len(self.agents) == 0
