"""Data flows one way: the summary's provenance records the parameters in effect and every
change made while the model runs, and the run length has one route."""

from __future__ import annotations

import json

import sim
from sim.core.model import MilitantModel


def test_a_parameter_moved_mid_run_is_in_summary_json(tmp_path):
    m = MilitantModel("classroom", rng=4)
    old = m.p.clash_kappa
    m.run(5)
    m.set_param("clash_kappa", old * 2)
    m.set_group("Front", "propaganda", 0.25)
    res = m.run(3)
    res.save(tmp_path)
    prov = json.loads((tmp_path / "summary.json").read_text())["provenance"]
    assert prov["params"]["clash_kappa"] == old * 2
    assert prov["changes"] == [
        {"week": 5, "kind": "set_param", "name": "clash_kappa", "value": old * 2},
        {"week": 5, "kind": "set_group", "group": "Front", "name": "propaganda", "value": 0.25}]
    live = res.events[res.events["kind"] == "live_change"]
    assert live["week"].tolist() == [5, 5]
    assert live["detail"].tolist() == [f"set_param clash_kappa={old * 2}",
                                       "set_group propaganda=0.25"]
    assert live["size"].tolist() == [old * 2, 0.25]
    # the scenario as loaded stays what it was
    assert prov["resolved_scenario"] == m.spec.to_dict()


def test_a_run_without_live_changes_records_none():
    res = sim.run("classroom", steps=3, seed=1)
    assert res.summary["provenance"]["changes"] == []
    assert "live_change" not in set(res.events["kind"])


def test_the_run_length_and_the_summary_agree():
    res = sim.run("classroom", steps=20, seed=1)
    assert res.summary["weeks"] == 20
    assert res.summary["provenance"]["weeks"] == 20
    assert res.summary["provenance"]["params"]["steps"] == 20
    m = MilitantModel("classroom", rng=1)
    m.run(4)
    res = m.run(6)
    assert res.summary["weeks"] == 10 == res.summary["provenance"]["params"]["steps"]


def test_a_slider_dragged_within_a_week_is_one_change():
    m = MilitantModel("classroom", rng=2)
    m.run(2)
    for v in (0.1, 0.2, 0.3):
        m.set_group("Front", "claim", v)
    res = m.run(1)
    assert [c["value"] for c in m.live_changes] == [0.3]
    assert res.events[res.events["kind"] == "live_change"]["size"].tolist() == [0.3]


def test_an_option_at_its_neutral_value_leaves_the_scenario_digest_as_without_it():
    """An option added to the model (a parameter with a ``neutral`` value) changes no run at
    that value, so a scenario at it hashes as if the option did not exist: a kept sweep or
    calibration of the scenario stays valid; set otherwise, the digest changes."""
    from sim.core.params import PARAMS
    from sim.core.scenario import load_scenario

    options = [p for p in PARAMS.values() if p.neutral is not None]
    assert options and all(p.default == p.neutral for p in options)
    spec = load_scenario("sahel_2019")
    without = {k: v for k, v in spec.raw["params"].items()
               if k not in {p.name for p in options}}
    stripped = load_scenario("sahel_2019")
    stripped.raw["params"] = without
    assert spec.digest() == stripped.digest()
    for p in options:
        on = load_scenario("sahel_2019", {p.name: p.high})
        assert on.digest() != spec.digest(), p.name


def test_a_setting_of_an_option_that_is_off_leaves_the_scenario_digest_alone():
    """A setting used only by an option (``needs``) changes no run while the option is at its
    neutral value, so it changes no digest then; with the option on, it does."""
    from sim.core.params import PARAMS
    from sim.core.scenario import load_scenario

    settings = [p for p in PARAMS.values() if p.needs is not None]
    assert settings, "no setting of an option declares what it needs"
    spec = load_scenario("sahel_2019")
    for p in settings:
        option = PARAMS[p.needs]
        assert option.neutral is not None and option.default == option.neutral, p.name
        other = p.high if p.default != p.high else p.low
        assert load_scenario("sahel_2019", {p.name: other}).digest() == spec.digest(), p.name
        on = {p.needs: option.high}
        assert (load_scenario("sahel_2019", {**on, p.name: other}).digest()
                != load_scenario("sahel_2019", on).digest()), p.name
