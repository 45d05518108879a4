"""The naive Mesa idiom of the model's fighter rules, as a speed reference for bench_model.py.

One Python ``step()`` per agent, agents on a Mesa ``OrthogonalMooreGrid`` (``CellAgent``),
neighbourhoods read from the grid's cells, one ``random`` call per decision: the way a Mesa
model is usually written. Each fighter, every week, in random order (``shuffle_do``):

* socialises (ideology, hostility and commitment toward its group's, frustration),
* moves with probability ``move_rate`` to the best of its Moore neighbourhood by
  w_own log(1 + own fighters) + w_opportunity (1 - governance) s0 / (s0 + security)
  - w_danger hostile / (hostile + own + 1) + noise, counting the agents of every cell,
* attacks the state where there is security, and may be hit back,
* may defect to the group with most fighters in sight, or desert.

It is a reference for the cost per fighter-step of that idiom, not a copy of the model: its
outcomes are not compared with the model's, only its speed, on the same map and fighter
count. Speed is measured in bench_model.py, never asserted in the tests.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid


class NaiveFighter(CellAgent):
    def __init__(self, model, cell, group, takfir, hardship, risk):
        super().__init__(model)
        self.cell = cell
        self.group = group
        self.takfir = takfir
        self.coercion = 0.5
        self.hardship = hardship
        self.risk = risk
        self.commitment = 0.5
        self.hostility = 0.5 * takfir
        self.frustration = 0.0
        self.tenure = 0
        self.fought = False

    def step(self):
        m, p, rnd = self.model, self.model.p, self.model.random
        g = self.group
        # socialise
        pi = m.propaganda[g]
        self.takfir += p["ideology_rate"] * pi * (m.doctrine[g][0] - self.takfir)
        self.coercion += p["ideology_rate"] * pi * (m.doctrine[g][1] - self.coercion)
        self.hostility += (p["hostility_rate"] * pi * (m.doctrine[g][0] - self.hostility)
                           + p["hostility_relax"] * (0.5 * self.takfir - self.hostility))
        self.hostility = min(1.0, max(0.0, self.hostility))
        self.commitment += p["commitment_rate"] * (m.cohesion[g] - self.commitment)
        self.frustration *= 1.0 - (p["frustration_decay"] if self.fought else
                                   p["frustration_relax"])
        self.tenure += 1
        self.fought = False
        # move
        if rnd.random() < p["move_rate"]:
            best, best_score = self.cell, -math.inf
            for c in [self.cell, *self.cell.neighborhood]:
                own = hostile = 0
                for a in c.agents:
                    if a.group == g:
                        own += 1
                    else:
                        hostile += 1
                x = c.coordinate[1] * m.width + c.coordinate[0]
                sec = m.security[x]
                hostile += sec
                score = (p["w_own"] * math.log1p(own)
                         + p["w_opportunity"] * (1 - m.governance[x]) * 10.0 / (10.0 + sec)
                         - p["w_danger"] * hostile / (hostile + own + 1.0)
                         + p["move_noise"] * rnd.random())
                if score > best_score:
                    best, best_score = c, score
            self.cell = best
        # operate and the state's fire
        x = self.cell.coordinate[1] * m.width + self.cell.coordinate[0]
        sec = m.security[x]
        if sec > 0:
            mates = sum(1 for a in self.cell.agents if a.group == g)
            if rnd.random() < p["op_rate"] * mates / (mates + sec):
                m.security[x] = max(0.0, sec - p["security_per_hit"])
            self.fought = True
            if rnd.random() < 1.0 - math.exp(-p["state_lethality"] * sec / max(1, mates)):
                self.remove()
                return
        # defect or desert
        if rnd.random() < p["defect_epsilon"]:
            counts = [0] * m.n_groups
            for c in self.cell.neighborhood:
                for a in c.agents:
                    counts[a.group] += 1
            counts[g] = -1
            h = max(range(m.n_groups), key=counts.__getitem__)
            if counts[h] > 0 and rnd.random() < 0.5 * (1.0 - self.commitment):
                self.group, self.commitment, self.frustration, self.tenure = h, 0.5, 0.0, 0
        if rnd.random() < p["desert_rate"] * (1.0 - self.commitment) * (1.0 - self.hardship):
            self.remove()

    def remove(self):
        self.cell = None
        super().remove()


class NaiveModel(mesa.Model):
    """``fighters`` fighters of three groups on a width x height grid, the model's baseline
    parameters, security and governance drawn per cell."""

    def __init__(self, width: int = 80, height: int = 60, fighters: int = 20_000,
                 rng: int = 1):
        super().__init__(rng=rng)
        from sim.core.params import PARAMS

        self.p = {k: v.default for k, v in PARAMS.items()}
        self.width, self.height = width, height
        self.n_groups = 3
        self.grid = OrthogonalMooreGrid((width, height), torus=False, random=self.random)
        gen = np.random.default_rng(rng)
        self.security = list(gen.uniform(0.0, 3.0, width * height))
        self.governance = list(gen.uniform(0.1, 0.6, width * height))
        self.propaganda = [0.8, 0.5, 0.3]
        self.doctrine = [(0.9, 0.8), (0.6, 0.5), (0.2, 0.3)]
        self.cohesion = [0.8, 0.7, 0.5]
        cells = list(self.grid.all_cells)
        for i in range(fighters):
            NaiveFighter(self, self.random.choice(cells), i % 3, self.random.random(),
                         self.random.random(), self.random.random())

    def step(self):
        self.agents.shuffle_do("step")
