"""The kept crowding study (docs/ODD.md section 10, known issue 10) is what its files say, its
shipped column is what the model gives now, and the ODD's words follow from it."""

from __future__ import annotations

import pytest
from script_loader import load_script

from sim import load_scenario


def _study():
    return load_script("crowding_study")


def _shown(v: float) -> float:
    """A median of the places as the table shows it (to the unit, half to even)."""
    return float(f"{v:.0f}")


def test_the_kept_table_is_made_from_the_kept_runs_and_the_odd_quotes_it():
    mod = _study()
    data = mod.load()
    assert set(data) == {stem for stem, _, _ in mod.COLUMNS}, "a column was not kept"
    for stem in data:
        assert set(data[stem]) == set(mod.SCENARIOS), stem
    assert (mod.FOLDER / "TABLE.md").read_text() == mod.table()
    odd = (mod.ROOT / "docs" / "ODD.md").read_text()
    block = odd.split("<!-- crowding:start -->")[1].split("<!-- crowding:end -->")[0]
    assert block.strip() == mod.table().strip()


def test_the_kept_checks_are_of_the_shipped_patterns_seeds_and_columns():
    from sim.analysis.check import seed_list

    mod = _study()
    data = mod.load()
    for scenario in mod.SCENARIOS:
        spec = load_scenario(scenario)
        ids = [p.id for p in spec.patterns]
        for stem, _, overrides in mod.COLUMNS:
            check = data[stem][scenario]["check"]
            assert [p["id"] for p in check["patterns"]] == ids, (scenario, stem)
            assert check["seeds"] == seed_list(spec.seed, mod.SEEDS), (scenario, stem)
            assert check["overrides"] == overrides, (scenario, stem)
            groups = [g.name for g in spec.groups]
            assert list(data[stem][scenario]["places"]) == groups, (scenario, stem)


def test_places_reads_where_each_groups_fighters_stand(tiny):
    mod = _study()
    m = tiny.build(tiny.world(width=10, height=4))          # 40 cells: the top 5% are 2
    tiny.place(m, "A", 0, n=6)
    tiny.place(m, "A", 1, n=3)
    tiny.place(m, "A", 2, n=1)
    tiny.place(m, "B", 5, n=2)
    m.owner[[0, 1, 7]] = 0
    got = mod.places(m)
    assert got["A"] == {"fighters": 10.0, "top_share": 0.9, "occupied": 3.0, "held": 3.0,
                        "most": 6.0}
    assert got["B"] == {"fighters": 2.0, "top_share": 1.0, "occupied": 1.0, "held": 0.0,
                        "most": 2.0}


@pytest.mark.slow
def test_the_shipped_column_is_what_the_model_gives_now():
    from sim.analysis.check import evaluate, seed_list

    mod = _study()
    for scenario in mod.SCENARIOS:
        kept = mod.load()["shipped"][scenario]["check"]
        seed = kept["seeds"][0]
        now = evaluate(scenario, seeds=[seed], workers=1, progress=False)
        for pid, values in kept["values"].items():
            v, k = now[pid].iloc[0], values[0]
            k = float(k) if isinstance(k, str) else k
            assert (k is None and v != v) or k == pytest.approx(v, rel=1e-9), pid
    # and the places of one seed are the model's now (the kept ones are medians over 30)
    seed = seed_list(load_scenario("sahel_2019").seed, mod.SEEDS)[0]
    one = mod.places_of_run(("sahel_2019", {}, seed))
    assert set(one) == set(mod.load()["shipped"]["sahel_2019"]["places"])


def test_what_the_odd_says_of_the_crowding_study_follows_from_it():
    mod = _study()
    data = mod.load()
    syr, sah = "syria_2013", "sahel_2019"
    pat = {s: {sc: {p["id"]: p for p in d[sc]["check"]["patterns"]} for sc in d}
           for s, d in data.items()}
    pl = {s: {sc: d[sc]["places"] for sc in d} for s, d in data.items()}
    held = {s: {sc: sum(p["holds"] for p in pat[s][sc].values()) for sc in pat[s]}
            for s in pat}
    ship = pl["shipped"]
    # "a year into syria_2013, 98% of ISIS's fighters, 100% of Nusra's and 99% of the rebels'
    # stand in the most crowded 5% of the map's cells"
    assert mod.TOP == 0.05 and mod.WEEK == 52
    assert [round(100 * ship[syr][g]["top_share"]) for g in ("ISIS", "Nusra", "Rebels")] == \
        [98, 100, 99]
    # "the rebels, who start with 7,000 fighters spread over 170 cells, have fighters in 80
    # cells and up to 456 in one of them, and hold 64 cells of the 168 they started with"
    spec = load_scenario(syr)
    rebels = next(g for g in spec.groups if g.name == "Rebels")
    assert rebels.fighters == 7000 and int(spec.zones[rebels.zone].sum()) == 170
    r = ship[syr]["Rebels"]
    assert tuple(_shown(r[k]) for k in ("occupied", "most", "held")) == (80, 456, 64)
    strength = load_script("strength_study").load()["shipped"]["flows"]
    assert strength["rebels_strength_2015"]["cells_week0"] == 168
    # "in sahel_2019 92% of JNIM's and 100% of ISGS's fighters stand in the most crowded 5%"
    assert [round(100 * ship[sah][g]["top_share"]) for g in ("JNIM", "ISGS")] == [92, 100]
    # "456 agents are some 2,300 fighters in one cell of 154 km2"
    assert spec.scale.fighters_per_agent == 5 and spec.scale.km2_per_cell == 154
    assert round(456 * 5, -2) == 2300
    # "supply_ratio 0.01: 30 fighters in a cell of 3,000 people cost about w_crowd"
    from sim.core.params import defaults
    assert defaults()["supply_ratio"] == 0.01 and defaults()["w_crowd"] == 0.0
    assert 0.95 < 30 / (0.01 * 3000 + 1) < 1.0
    # "At w_crowd 3 the rebels have fighters in 176 cells (80 as shipped), at most 96 in one
    # cell (456), and hold 137 cells a year in (64); ISIS holds 174 (92)"
    r3 = pl["w_crowd3"][syr]["Rebels"]
    assert tuple(_shown(r3[k]) for k in ("occupied", "most", "held")) == (176, 96, 137)
    assert (_shown(pl["w_crowd3"][syr]["ISIS"]["held"]), _shown(ship[syr]["ISIS"]["held"])) \
        == (174, 92)
    # "Even at 10 more than half of each group's fighters stand in the most crowded 5%"
    for sc in (syr, sah):
        assert all(v["top_share"] > 0.5 for v in pl["w_crowd10"][sc].values()), sc
    # "7, 7, 10, 8 and 5 of 14 patterns hold at w_crowd 1, 2, 3, 5 and 10 (6 as shipped), and 5
    # at 3 with twice the supply"
    order = ("shipped", "w_crowd1", "w_crowd2", "w_crowd3", "w_crowd5", "w_crowd10",
             "w_crowd3_supply0.02")
    assert [held[s][syr] for s in order] == [6, 7, 7, 10, 8, 5, 5]
    assert len(pat["shipped"][syr]) == 14
    # "ISIS's strength pattern holds only there (-6%; -45% at 2, +39% at 5), its loss of 2015
    # misses by a point (-36% against -35% to -5%), and 2017's is on the edge (-57%)"
    isis = {s: pat[s][syr]["isis_strength_2016"] for s in order}
    assert [s for s in order if isis[s]["holds"]] == ["w_crowd3"]
    assert [round(100 * isis[s]["value"]) for s in ("w_crowd3", "w_crowd2", "w_crowd5")] == \
        [-6, -45, 39]
    t15 = pat["w_crowd3"][syr]["isis_territory_2015"]
    assert round(100 * t15["value"]) == -36 and not t15["holds"]
    t17 = pat["w_crowd3"][syr]["isis_territory_2017h1"]
    assert round(100 * t17["value"]) == -57 and t17["holds"]
    # "The rebels' strength fails in every column (-80% to -91%)"
    reb = [pat[s][syr]["rebels_strength_2015"] for s in order]
    assert not any(p["holds"] for p in reb)
    assert (round(100 * max(p["value"] for p in reb)), round(100 * min(p["value"] for p in reb))) \
        == (-80, -91)
    # "ISIS's retention of its ground over 2015 stays at 27-35% in every column"
    ret = [round(100 * pat[s][syr]["isis_territory_held_2015"]["value"]) for s in order]
    assert (min(ret), max(ret)) == (27, 35)
    # "1.49 decades as shipped, 1.16 at 3, 0.57 at 10"
    dec = [pat[s][syr]["clash_size_decades"]["value"] for s in ("shipped", "w_crowd3",
                                                                 "w_crowd10")]
    assert [round(v, 2) for v in dec] == [1.49, 1.16, 0.57]
    # Sahel: "2.7 to 2.9 years of coexistence, 3.6 as shipped, all in the target), open war
    # ... (median weeks 38 to 49, 83 as shipped) and kills 824 to 1,027 fighters by the end of
    # 2019, against at most 50 ... 4 or 5 of 7 hold (6 as shipped)"
    crowd = [s for s in order if s != "shipped"]
    co = [pat[s][sah]["jnim_isgs_coexistence"] for s in crowd]
    assert all(p["holds"] for p in co)
    assert (round(min(p["value"] for p in co), 1), round(max(p["value"] for p in co), 1)) == \
        (2.7, 2.9)
    assert round(pat["shipped"][sah]["jnim_isgs_coexistence"]["value"], 1) == 3.6
    war = [pat[s][sah]["jnim_isgs_open_war"]["value"] for s in crowd]
    assert (int(min(war)), int(max(war))) == (38, 49)
    assert pat["shipped"][sah]["jnim_isgs_open_war"]["value"] == 83
    d19 = [pat[s][sah]["jnim_isgs_deaths_2019"] for s in crowd]
    assert not any(p["holds"] for p in d19)
    assert (min(p["value"] for p in d19), max(p["value"] for p in d19)) == (824, 1027)
    assert sorted({held[s][sah] for s in crowd}) == [4, 5] and held["shipped"][sah] == 6
