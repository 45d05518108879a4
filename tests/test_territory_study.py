"""The kept territory study (docs/ODD.md section 10, known issue 6) is what its JSON files say,
and its shipped column is what the model gives now."""

from __future__ import annotations

from script_loader import load_script
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _study():
    return load_script("territory_study")


def test_the_kept_table_is_made_from_the_kept_checks():
    mod = _study()
    assert (mod.FOLDER / "TABLE.md").read_text() == mod.table() + "\n"


def test_the_kept_checks_are_of_the_shipped_patterns():
    from sim import load_scenario

    for scenario in _study().STUDY:
        ids = [p.id for p in load_scenario(scenario).patterns]
        for stem, _, overrides in _study().STUDY[scenario]:
            f = ROOT / "studies" / "territory" / f"{scenario}_{stem}.json"
            kept = json.loads(f.read_text())
            assert [p["id"] for p in kept["patterns"]] == ids, f.name
            assert kept["overrides"] == overrides, f.name


@pytest.mark.slow
def test_the_shipped_column_is_what_the_model_gives_now():
    from sim.analysis.check import evaluate

    stem = _study().STUDY["syria_2013"][0][0]   # the shipped model
    kept = json.loads((ROOT / "studies" / "territory" / f"syria_2013_{stem}.json").read_text())
    seed = kept["seeds"][0]
    now = evaluate("syria_2013", seeds=[seed], overrides=kept["overrides"], workers=1,
                   progress=False)
    for pid, values in kept["values"].items():
        v, k = now[pid].iloc[0], values[0]
        k = float(k) if isinstance(k, str) else k   # "inf" / "-inf" in the JSON
        assert (k is None and v != v) or k == pytest.approx(v, rel=1e-9), pid


def test_the_retention_study_is_what_its_json_says_and_the_odd_quotes_it():
    """scripts/retention_study.py: the kept table is made from the kept runs, the runs are of
    the declared pattern read with each `smooth` at the seeds of `check --seeds 30`, and
    docs/ODD.md quotes the table as it is."""
    from sim import load_scenario
    from sim.analysis.check import seed_list

    mod = load_script("retention_study")
    data = json.loads(mod.FILE.read_text())
    assert mod.TABLE.read_text() == mod.table(data)
    odd = (ROOT / "docs" / "ODD.md").read_text()
    block = odd.split("<!-- retention:start -->")[1].split("<!-- retention:end -->")[0]
    assert block.strip() == mod.table(data).strip()
    seeds = seed_list(load_scenario(mod.SCENARIO).seed, mod.SEEDS)
    assert [c["heading"] for c in data["columns"]] == [h for h, _ in mod.COLUMNS]
    for col, (_, overrides) in zip(data["columns"], mod.COLUMNS):
        assert col["overrides"] == overrides and col["seeds"] == seeds
        assert set(col["values"]) == {p.id for p in mod.patterns()}
    assert [p.args.get("smooth", 1) for p in mod.patterns()] == list(mod.SMOOTH)


def test_the_onset_study_is_what_its_checks_say_and_the_odd_quotes_it():
    from sim import load_scenario

    mod = load_script("onset_study")
    assert (mod.FOLDER / "TABLE.md").read_text() == mod.table()
    odd = (ROOT / "docs" / "ODD.md").read_text()
    block = odd.split("<!-- onset:start -->")[1].split("<!-- onset:end -->")[0]
    assert block.strip() == mod.table().strip()
    ids = [p.id for p in load_scenario(mod.SCENARIO).patterns]
    for stem, _, overrides in mod.COLUMNS:
        kept = json.loads((mod.FOLDER / f"{mod.SCENARIO}_{stem}.json").read_text())
        assert [p["id"] for p in kept["patterns"]] == ids, stem
        assert kept["overrides"] == overrides, stem
        col = mod.column(kept)
        assert len(col["before"]) + len(col["after"]) == col["seeds"] == 30
    syria_ids = [p.id for p in load_scenario(mod.SYRIA).patterns]
    assert set(mod.SYRIA_PATTERNS) <= set(syria_ids)
    for stem, _, overrides in mod.COLUMNS:
        f = mod.FOLDER / f"{mod.SYRIA}_{stem}.json"
        assert f.exists() == (stem in mod.SYRIA_TOO), stem
        if f.exists():
            kept = json.loads(f.read_text())
            assert [p["id"] for p in kept["patterns"]] == syria_ids, stem
            assert kept["overrides"] == overrides and len(kept["seeds"]) == 30, stem


def test_the_onset_column_splits_the_seeds_at_the_window_end():
    mod = load_script("onset_study")
    data = {"patterns": [{"id": mod.DEATHS, "value": 250.0, "holds": True, "low": 30,
                          "high": 500, "held_resampled": 0.4, "weeks": [0, 87]}],
            "values": {mod.DEATHS: [600.0, 10.0, 200.0, 0.0],
                       mod.WAR: [80.0, 90.0, 87.0, "inf"]}}
    col = mod.column(data)
    assert col["before"] == [200.0, 600.0] and col["after"] == [0.0, 10.0]
    assert col["in_target"] == 1 and col["seeds"] == 4


@pytest.mark.slow
def test_the_retention_studys_shipped_column_is_what_the_model_gives_now():
    from sim.analysis.check import evaluate

    mod = load_script("retention_study")
    col = json.loads(mod.FILE.read_text())["columns"][0]
    now = evaluate(mod.SCENARIO, seeds=col["seeds"][:1], overrides=col["overrides"],
                   workers=1, patterns=mod.patterns())
    for pid, values in col["values"].items():
        assert now[pid].iloc[0] == pytest.approx(values[0], rel=1e-12), pid


def test_what_the_odd_says_of_the_two_studies_follows_from_them():
    """The words of docs/ODD.md section 10, items 6 and 8, checked against the kept runs."""
    ret = load_script("retention_study")
    data = json.loads(ret.FILE.read_text())
    med = ret.medians(data)
    low = ret.patterns()[0].low
    # "reading the ends over several weeks hardly moves retention in any column"
    for h in (c["heading"] for c in data["columns"]):
        assert abs(med[h, max(ret.SMOOTH)] - med[h, 1]) <= 0.05, h
    # "... does not reach the target either": no column, no measure
    assert all(v < low for v in med.values())

    from sim import load_scenario
    from sim.analysis.check import seed_list

    ons = load_script("onset_study")
    raw = {stem: json.loads((ons.FOLDER / f"{ons.SCENARIO}_{stem}.json").read_text())
           for stem, _, _ in ons.COLUMNS}
    cols = {stem: ons.column(data) for stem, data in raw.items()}
    changes = dict(ons.CHANGES)
    kappa = {s: cols[s] for s, o in changes.items()
             if set(o) == {"clash_kappa"} and s not in ons.SCENARIO_OF}
    others = {s: cols[s] for s in ("shipped", "battle_reach1", "war_clash_factor1",
                                   "clash_lethality0.15", "w_danger4")}
    assert len(kappa) == 4
    for stem, c in others.items():   # "none of the four other changes removes the two modes"
        assert c["before"] and c["after"] and c["in_target"] <= c["seeds"] / 6, stem
        assert c["before"][-1] > 10 * max(c["after"][-1], 1), stem
    # "at 0.003 their first four weeks kill a few dozen, not several hundred"
    assert max(cols["clash_kappa0.003"]["last4"]) < 100 <= 300 <= min(cols["shipped"]["last4"])
    # "the share of seeds in the target rises as the intensity falls, and from 0.03 down the
    # median is inside the target"
    by_kappa = sorted(kappa, key=lambda s: -changes[s]["clash_kappa"])
    counts = [cols["shipped"]["in_target"]] + [kappa[s]["in_target"] for s in by_kappa]
    assert counts == sorted(counts) and len(set(counts)) == len(counts), counts
    assert all(kappa[s]["holds"] for s in by_kappa) and not cols["shipped"]["holds"]
    # "in each of its columns the same 11 seeds begin their war after August 2020 and have
    # at most 30 deaths"
    for stem in ["shipped", *kappa]:
        assert raw[stem]["values"][ons.WAR] == raw["shipped"]["values"][ons.WAR], stem
        assert len(cols[stem]["after"]) == 11 and cols[stem]["after"][-1] <= 30, stem
    # "at 0.0176 the check's 30 seeds give a median of 269 with 9 in the target; 30 other
    # seeds give 668 with 4 in the target, and the pattern fails"
    same, other = cols["clash_kappa0.0176"], cols["clash_kappa0.0176_other_seeds"]
    assert (round(same["median"]), same["in_target"], same["holds"]) == (269, 9, True)
    assert (round(other["median"]), other["in_target"], other["holds"]) == (668, 4, False)
    seeds_same = raw["clash_kappa0.0176"]["seeds"]
    assert not set(raw["clash_kappa0.0176_other_seeds"]["seeds"]) & set(seeds_same)
    # "the check's seeds" are those of `militant-sim check sahel_2019 --seeds 30`
    assert seeds_same == seed_list(load_scenario(ons.SCENARIO).seed, 30)
    assert load_scenario(ons.OTHER_SEEDS).seed == 5001
    ship, half = cols["shipped"], cols["clash_lethality0.15"]
    # "several hundred ... hardly any": the shipped modes
    assert ship["before"][0] >= 300 and ship["after"][-1] <= 50
    # halving the lethality softens the first weeks of a war ...
    assert max(half["last4"]) < min(ship["last4"])
    # ... but lowers the deaths of the early wars by little (the five deadliest: < 25%)
    assert sum(half["before"][-5:]) > 0.75 * sum(ship["before"][-5:])
    # standing back from danger delays the war past August 2020 in most seeds
    wd = cols["w_danger4"]
    assert len(wd["after"]) > wd["seeds"] / 2 > len(ship["after"])

    # what sets when the truce breaks "moves seeds from one mode to the other and fills
    # neither gap": 13 and 5 seeds at war only after August 2020 at the incident rates 0.005
    # and 0.08, 19 and 3 at the tolerances 1.25 and 0.8, against 11 as shipped
    timing = {"incident_rate0.005": 13, "incident_rate0.08": 5, "truce_tolerance1.25": 19,
              "truce_tolerance0.8": 3}
    assert len(ship["after"]) == 11
    for stem, n_after in timing.items():
        c = cols[stem]
        assert set(changes[stem]) <= {"incident_rate", "truce_tolerance"}, stem
        assert len(c["after"]) == n_after and c["before"] and c["in_target"] <= 5, stem
    # "... (and the open war's onset, median week 95.5, is then too late)"
    late = {p["id"]: p for p in raw["truce_tolerance1.25"]["patterns"]}[ons.WAR]
    assert (late["value"], late["holds"]) == (95.5, False) and late["value"] > late["high"]
    # "in every column with the shipped clash intensity and lethality, a seed whose war is more
    # than four weeks old at the end of August 2020 has more than 500 deaths by then"
    for stem, data in raw.items():
        if {"clash_kappa", "clash_lethality"} & set(changes[stem]):
            continue
        end = ons._window_end(data)
        old_wars = [d for w, d in zip(data["values"][ons.WAR], data["values"][ons.DEATHS])
                    if float(w) <= end - 4]
        assert old_wars and min(old_wars) > 500, stem

    def sahel(stem, pid):
        return {p["id"]: p for p in raw[stem]["patterns"]}[pid]

    def syria(stem, pid):
        data = json.loads((ons.FOLDER / f"{ons.SYRIA}_{stem}.json").read_text())
        return {p["id"]: p for p in data["patterns"]}[pid]

    # a truce that breaks into rivalry, at the shipped threshold: "its onset's median is week
    # 132, the Sahel's open war pattern fails, the deaths' median (23) is below the target;
    # the Sahel's war within a year of the breakdown comes in 47% of the seeds, and on
    # syria_2013 ... falls from every seed to 40%, so both war patterns fail"
    rb = cols["breakdown_war0"]
    onset = sahel("breakdown_war0", ons.WAR)
    assert (onset["value"], onset["holds"]) == (132, False)
    assert round(rb["median"]) == 23 < sahel("breakdown_war0", ons.DEATHS)["low"]
    war = sahel("breakdown_war0", "jnim_isgs_war")
    assert round(100 * war["value"]) == 47 and not war["holds"]
    assert syria("shipped", "isis_rebels_war")["value"] == 1.0
    war = syria("breakdown_war0", "isis_rebels_war")
    assert round(100 * war["value"]) == 40 and not war["holds"]
    # with a lower threshold (0.5): "the wars come back (97% of Sahel seeds, 87% of Syrian
    # ones), the Sahel's open war is still late (median week 96, the target ends at 91) and
    # the deaths' median is inside the target, but as the median of two modes again (19 seeds
    # with 0 to 66, 11 with 410 to 1,342; 8 in the target)" and "when it comes it still kills
    # hundreds in its first weeks"
    lo = "breakdown_war0_war_threshold0.5"
    war, syr = sahel(lo, "jnim_isgs_war"), syria(lo, "isis_rebels_war")
    assert (round(100 * war["value"]), round(100 * syr["value"])) == (97, 87)
    assert war["holds"] and syr["holds"]
    onset = sahel(lo, ons.WAR)
    assert (onset["value"], onset["high"], onset["holds"]) == (96, 91, False)
    c = cols[lo]
    assert c["holds"] and c["in_target"] == 8
    assert (len(c["after"]), c["after"][0], c["after"][-1]) == (19, 0, 66)
    assert (len(c["before"]), c["before"][0], c["before"][-1]) == (11, 410, 1342)
    assert c["last4"] and min(c["last4"]) >= 200
    # "no shipped scenario uses the option (breakdown_war 1)"
    from sim.core.scenario import available_scenarios

    assert all(load_scenario(n).params["breakdown_war"] == 1.0 for n in available_scenarios())


@pytest.mark.slow
def test_the_onset_studys_shipped_column_is_what_the_model_gives_now():
    from sim.analysis.check import evaluate

    mod = load_script("onset_study")
    kept = json.loads((mod.FOLDER / f"{mod.SCENARIO}_shipped.json").read_text())
    now = evaluate(mod.SCENARIO, seeds=kept["seeds"][:1], workers=1, progress=False)
    for pid in (mod.DEATHS, mod.WAR):
        k = kept["values"][pid][0]
        k = float(k) if isinstance(k, str) else k
        assert now[pid].iloc[0] == pytest.approx(k, rel=1e-12), pid
