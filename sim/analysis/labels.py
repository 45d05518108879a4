"""Plain words for people: scheduled events, zones and changes made while a model runs.

Used by the teaching app and the run charts (:mod:`sim.analysis.charts`) so that a class reads
"ISIS declares the Caliphate" or "outside forces strike ISIS in east", never
``set_group(group=ISIS, field=claim, value=1.0)``. A timeline event's ``note`` in the scenario
file, when there is one, is used as it is written.
"""

from __future__ import annotations

from typing import Any


def zone_words(zone: str) -> str:
    """'the whole map' for the zone ``all``, else 'ZONE'."""
    return "the whole map" if zone == "all" else str(zone)


def _and(names) -> str:
    names = [str(n) for n in (names if isinstance(names, (list, tuple)) else [names])]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _num(v: Any) -> str:
    try:
        return f"{float(v):g}"
    except (TypeError, ValueError):
        return str(v)


def _until(args: dict[str, Any]) -> str:
    u = args.get("until")
    return f", until week {u}" if u is not None else ""


def event_words(kind: str, args: dict[str, Any]) -> str:
    """A scheduled event of kind ``kind`` with fields ``args``, in plain words."""
    a = args
    if kind == "set_group":
        g, field, v = a.get("group", "?"), a.get("field", "?"), a.get("value")
        if field == "claim":
            if v is not None and float(v) >= 1:
                return f"{g} declares the Caliphate and demands everyone's allegiance"
            if v is not None and float(v) <= 0:
                return f"{g} gives up its claim to the Caliphate"
            return f"{g}'s claim to the Caliphate set to {_num(v)}"
        if field == "propaganda":
            return f"{g}'s propaganda set to {_num(v)}"
        if field == "momentum":
            return f"{g} gains momentum from events elsewhere (momentum {_num(v)})"
        if field == "foreign_inflow":
            return f"foreign fighters joining {g}: {_num(v)} a week"
        if field in ("takfir", "coercion"):
            return f"{g}'s doctrine changes ({field} {_num(v)})"
        return f"{g}: {field} set to {_num(v)}"
    if kind == "intervention":
        return (f"outside forces strike {_and(a.get('targets', '?'))} in "
                f"{zone_words(a.get('zone', '?'))} (strength {_num(a.get('strength'))}"
                f"{_until(a)})")
    if kind == "restriction":
        level = a.get("level")
        share = (f"{100 * float(level):.0f}% of its operations" if level is not None
                 else "its operations")
        return (f"a ceasefire brokered from outside forbids {a.get('group', '?')} {share} in "
                f"{zone_words(a.get('zone', '?'))}{_until(a)}")
    if kind == "leader_killed":
        return f"{a.get('group', '?')}'s leader is killed"
    if kind == "governance_programme":
        return (f"a programme restores governance and security in "
                f"{zone_words(a.get('zone', '?'))}{_until(a)}")
    if kind == "ground_offensive":
        return (f"ground forces allied to the state advance on {_and(a.get('targets', '?'))} in "
                f"{zone_words(a.get('zone', '?'))}{_until(a)}")
    return kind.replace("_", " ")


def event_label(event) -> str:
    """A :class:`sim.core.scenario.Event` in plain words: its ``note`` if the scenario gives one."""
    note = getattr(event, "note", "") or ""
    return note if note else event_words(event.kind, event.args)


def effect_words(kind: str, args: dict[str, Any]) -> str:
    """An effect in force (intervention, restriction, programme, offensive), in plain words."""
    return event_words(kind, {k: v for k, v in args.items() if k != "until"})
