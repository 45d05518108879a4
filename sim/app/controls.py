"""The teaching app's model and its live controls, without any browser code.

:class:`AppModel` is the model as the app runs it: built from a scenario name and a seed (as
the app's "Model Parameters" card gives them), stopping at the scenario's length, and guarded
by a lock so that a slider moved in the browser never changes the model in the middle of a
week.

:func:`knobs` lists the app's sliders. Their ranges, defaults and meanings come from the one
parameter source, :mod:`sim.core.params` (``teach_params()`` for global parameters, the ``teach``
fields of ``GROUP_FIELDS`` for group attributes) and, for the restriction level, from the
``restriction`` event of :data:`sim.core.scenario.EVENT_KINDS`. A slider shows the running model's
current value and moving it changes the running model at once (:func:`apply`), through
``MilitantModel.set_param``, ``set_group`` and ``set_restriction``.
"""

from __future__ import annotations

import contextlib
import math
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from ..analysis.labels import zone_words
from ..core.model import MilitantModel
from ..core.params import GROUP_FIELDS, PARAMS, Param, teach_params
from ..core.scenario import EVENT_KINDS, ScenarioError, available_scenarios, load_scenario

#: scenario the app opens with when none is named
APP_SCENARIO = "classroom"
#: environment variables through which ``militant-sim app`` passes its arguments to the page
ENV_SCENARIO = "MILITANT_SIM_APP_SCENARIO"
ENV_SEED = "MILITANT_SIM_APP_SEED"
#: where a parameter's allowed range is far wider than its default (``clash_kappa`` may go
#: from 0 to 10 around a default of 0.02), its slider stops at this many times the default
#: (or twice the scenario's value, if that is larger), so that the useful range is not squeezed
#: into the first pixels of the slider
SLIDER_SPAN = 10.0
#: a slider has about this many steps from end to end
SLIDER_STEPS = 100


def parse_seed(seed: Any) -> int | None:
    """The seed typed into the app: blank means the scenario's own seed."""
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        return None
    try:
        value = int(str(seed).strip())
    except ValueError:
        raise ScenarioError("<app>", "seed", "must be a whole number", seed,
                            "an integer >= 0, or blank for the scenario's seed") from None
    if value < 0:
        raise ScenarioError("<app>", "seed", "must not be negative", seed, "an integer >= 0")
    return value


class AppModel(MilitantModel):
    """The model as the teaching app runs it.

    Args:
        scenario_name: a scenario name (see ``militant-sim scenarios``) or a TOML path.
        seed: an integer, or blank / None for the scenario's seed.

    The run stops (``running`` becomes False, which disables Play and Step) when it reaches
    the scenario's length ``steps``. ``lock`` is held while a week is computed, while a
    control changes the model and while the views read it.
    """

    def __init__(self, scenario_name: str = APP_SCENARIO, seed: Any = None):
        #: a message for the page when the seed typed in could not be used
        self.seed_problem = ""
        try:
            rng = parse_seed(seed)
        except ScenarioError as exc:
            # a typing slip in the browser must not break the page: run with the scenario's
            # seed and say so in the monitors
            rng = None
            self.seed_problem = f"{exc}; the scenario's own seed is used"
        super().__init__(scenario_name, rng=rng)
        self.scenario_name = scenario_name
        self.lock = threading.RLock()
        self.running = self.week < self.p.steps
        #: (week, what) of every change made with the sliders, in order (marked on the charts)
        self.changes: list[tuple[int, str]] = []
        self._change_keys: list[tuple] = []
        _MODELS.add(self)

    def note_change(self, key: tuple, text: str) -> None:
        """Record a change made with a slider; moving the same slider again in the same week
        replaces the entry (a slider reports several values while it is dragged)."""
        if self.changes and self._change_keys[-1] == key and self.changes[-1][0] == self.week:
            self.changes[-1] = (self.week, text)
        else:
            self.changes.append((self.week, text))
            self._change_keys.append(key)

    def step(self) -> None:
        with self.lock:
            if _STOPPING.is_set():  # the server is shutting down
                self.running = False
                return
            super().step()
            if self.week >= self.p.steps:
                self.running = False


_MODELS: weakref.WeakSet = weakref.WeakSet()
_STOPPING = threading.Event()


def stop_all_models() -> None:
    """Stop every app model (the server is shutting down): a page left playing stops."""
    _STOPPING.set()
    for m in list(_MODELS):
        m.running = False


def app_scenarios() -> tuple[list[str], dict[str, str]]:
    """The scenarios the app can offer: (loadable names, {broken name: its error})."""
    ok, broken = [], {}
    for name in available_scenarios():
        try:
            load_scenario(name)
        except ScenarioError as exc:
            broken[name] = str(exc)
        else:
            ok.append(name)
    return ok, broken


# ---------------------------------------------------------------------------------------------
# The sliders
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Knob:
    """One slider of the app.

    ``scope`` says what it acts on: ``"param"`` a global parameter (``key`` is its name),
    ``"group"`` an attribute of one group (``key`` is claim or propaganda), ``"restriction"``
    a group's restriction in one zone.
    """

    key: str
    scope: str
    label: str
    meaning: str
    low: float
    high: float
    unit: str = "-"
    source: str = ""
    #: what the slider does, in plain words (shown on hover and in the guide)
    help: str = ""

    def slider_range(self, current: float | None = None) -> tuple[float, float, float]:
        """(min, max, step) of the slider, given the model's current value."""
        return _slider_range(self.low, self.high, self.default, current)

    @property
    def default(self) -> float:
        if self.scope == "param":
            return PARAMS[self.key].default
        if self.scope == "group":
            return GROUP_FIELDS[self.key].default
        return EVENT_KINDS["restriction"]["level"].default


def _slider_range(low, high, default, current) -> tuple[float, float, float]:
    lo = 0.0 if low is None else float(low)
    hi = float(high) if high is not None else max(1.0, 2 * float(default or 1))
    if default and hi > 2 * SLIDER_SPAN * default:
        hi = min(hi, max(SLIDER_SPAN * default, 2 * (current or 0.0)))
    return lo, hi, _nice_step((hi - lo) / SLIDER_STEPS)


def _nice_step(x: float) -> float:
    """The 1-2-5 number at or below x (a slider step a person can read)."""
    if x <= 0:
        return 0.01
    e = math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * 10 ** e <= x * (1 + 1e-9):
            return float(f"{m * 10 ** e:.12g}")
    return float(f"{10 ** e:.12g}")


#: the sliders' names and help in plain words, by parameter (a parameter marked ``teach``
#: that is not here gets its name and its meaning from the parameter table)
PLAIN = {
    "claim": ("claim", "1: the group claims to be the Caliphate and demands the allegiance of "
              "all; 0: no such claim"),
    "propaganda": ("propaganda", "how intensely the group's messaging works on its fighters; a "
                   "group whose doctrine brands rivals apostates makes them hostile"),
    "restriction": ("restriction", "share of the group's attacks forbidden in the zone, as by "
                    "a ceasefire brokered from outside (1: it may not fight at all)"),
    "clash_kappa": ("clash intensity", "how readily fighters of hostile groups who meet fight "
                    "each other (0: never); parameter clash_kappa"),
    "governance_support": ("governance support", "scale of the scenario's programmes that "
                           "restore governance and security (0: none, 1: as written)"),
    "intervention_scale": ("intervention scale", "scale of the scenario's outside "
                           "interventions (0: none, 1: as written)"),
}


def _label(p: Param) -> str:
    return PLAIN.get(p.name, (p.name.replace("_", " "),))[0]


def _help(p: Param) -> str:
    return PLAIN[p.name][1] if p.name in PLAIN else p.meaning


def knobs() -> list[Knob]:
    """Every slider of the app, in the order shown, built from the parameter tables."""
    out = [Knob(p.name, "group", _label(p), p.meaning, p.low, p.high, p.unit, p.source,
                _help(p)) for p in GROUP_FIELDS.values() if p.teach]
    lv = EVENT_KINDS["restriction"]["level"]
    out.append(Knob("restriction", "restriction", "restriction", lv.meaning, lv.low, lv.high,
                    "-", "restriction event (sim.core.scenario.EVENT_KINDS)",
                    PLAIN["restriction"][1]))
    out += [Knob(p.name, "param", _label(p), p.meaning, p.low, p.high, p.unit, p.source,
                 _help(p)) for p in teach_params()]
    return out


def knob_title(knob: Knob, group: str | None = None, zone: str | None = None) -> str:
    """The slider's name as the app shows it: 'claim of Caliphate', 'restriction of Front in
    all', 'clash intensity'."""
    if knob.scope == "group":
        return f"{knob.label} of {group}"
    if knob.scope == "restriction":
        return f"{knob.label} of {group} in {zone_words(zone)}"
    return knob.label


def current_value(model: MilitantModel, knob: Knob, group: str | None = None,
                  zone: str | None = None) -> float:
    """The running model's value of what a knob controls."""
    if knob.scope == "param":
        return float(getattr(model.p, knob.key))
    g = model.group_names.index(group)
    if knob.scope == "group":
        return float(getattr(model, knob.key)[g])
    return restriction_level(model, group, zone)


def restriction_level(model: MilitantModel, group: str, zone: str) -> float:
    """The level of the restriction on ``group`` in ``zone`` now in force (0 if none)."""
    levels = [e.args["level"] for e in model.active_effects
              if e.kind == "restriction" and e.args["group"] == group and e.args["zone"] == zone]
    return float(max(levels, default=0.0))


def apply(model: MilitantModel, knob: Knob, value: float, group: str | None = None,
          zone: str | None = None) -> None:
    """Change the running model as the slider says (takes effect from the next week)."""
    with getattr(model, "lock", None) or contextlib.nullcontext():
        if knob.scope == "param":
            model.set_param(knob.key, _as_kind(PARAMS[knob.key], value))
        elif knob.scope == "group":
            model.set_group(group, knob.key, float(value))
        else:
            model.set_restriction(group, zone, float(value))
        note = getattr(model, "note_change", None)
        if note is not None:
            note((knob.key, group, zone), f"{knob_title(knob, group, zone)} \u2192 {value:.3g}")


def _as_kind(p: Param, value: float):
    return int(round(value)) if p.kind is int else float(value)


def knob_state(model: MilitantModel) -> tuple:
    """Everything the sliders show, as one comparable value (it changes when a slider moves
    or a scheduled event changes one of these values)."""
    out = []
    for k in knobs():
        if k.scope == "param":
            out.append(getattr(model.p, k.key))
        elif k.scope == "group":
            out.append(tuple(getattr(model, k.key).tolist()))
    out.append(tuple(sorted((e.args["group"], e.args["zone"], e.args["level"])
                            for e in model.active_effects if e.kind == "restriction")))
    return tuple(out)


#: global parameters that scale one kind of scenario event: without such an event in the
#: scenario's timeline, their slider has nothing to act on
SCALES_EVENT = {"governance_support": "governance_programme",
                "intervention_scale": "intervention"}


def has_target(model: MilitantModel, knob: Knob) -> bool:
    """False for a slider that scales an event the scenario does not have."""
    kind = SCALES_EVENT.get(knob.key) if knob.scope == "param" else None
    return kind is None or any(ev.kind == kind for ev in model.spec.timeline)


def claimant(model: MilitantModel) -> str:
    """The group with the strongest exclusive claim (the first one on a tie)."""
    g = max(range(model.n_groups), key=lambda i: (model.claim[i], -i))
    return model.group_names[g]


def default_restricted(model: MilitantModel) -> tuple[str, str]:
    """(group, zone) the restriction slider starts on.

    A restriction the scenario has already imposed if there is one; otherwise the group with
    the weakest claim (the rival a ceasefire would tie down, as in the article) on the whole
    map (zone ``all``).
    """
    for e in model.active_effects:
        if e.kind == "restriction":
            return e.args["group"], e.args["zone"]
    for ev in model.spec.timeline:
        if ev.kind == "restriction":
            return ev.args["group"], ev.args["zone"]
    g = min(range(model.n_groups), key=lambda i: (model.claim[i], i))
    return model.group_names[g], "all"


def zone_choices(model: MilitantModel) -> list[str]:
    """Zones a restriction can be placed in (``all`` is the whole map)."""
    return [z for z in model.zones if z != "all"] + ["all"]
