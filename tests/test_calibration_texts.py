"""The numbers the documentation quotes about the kept calibration folders are those of the
folders: each quoted phrase is rebuilt here from the Parquet files, so a calibration run again
(or a text edited by hand) that no longer agrees fails until the text is brought up to date."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from sim.analysis.calibration_report import (calibration_facts, draws_note,
                                             heaviest_particle, patterns_held)

ROOT = Path(__file__).resolve().parents[1]
TERRITORY = ROOT / "calibrations" / "syria_territory"
CROWDING = ROOT / "calibrations" / "crowding_clashes"
WIDE = ROOT / "calibrations" / "crowding_wide"
PILOT = ROOT / "studies" / "calibration_pilot"
CALIBRATION_MD = ROOT / "docs" / "CALIBRATION.md"
ODD_MD = ROOT / "docs" / "ODD.md"


def _text(path: Path, start: str | None = None, end: str | None = None) -> str:
    """The file (or its part from the line that begins with ``start`` to the next that begins
    with ``end``), its line breaks and runs of spaces made single spaces (prose wraps)."""
    text = path.read_text(encoding="utf-8")
    if start is not None:
        lines = text.splitlines()
        i = next(k for k, x in enumerate(lines) if x.strip().startswith(start))
        j = next((k for k in range(i + 1, len(lines)) if lines[k].strip().startswith(end)),
                 len(lines))
        text = "\n".join(lines[i:j])
    return " ".join(text.split())


#: the parts of the documents that speak of each kept folder
PILOT_PART = (CALIBRATION_MD, "### The pilot, and what it showed", "###")
TERRITORY_PARTS = {CALIBRATION_MD: ("### A small calibration that can be read", "###"),
                   ODD_MD: ("6. **Territory is a moving footprint", "7. **")}
CROWDING_PARTS = {CALIBRATION_MD: ("### Crowding, with Syria and the Sahel together", "###"),
                  ODD_MD: ("A pilot calibration of crowding", "**Over wider priors.**")}
WIDE_PARTS = {CALIBRATION_MD: ("### Crowding over wider priors", "###"),
              ODD_MD: ("**Over wider priors.**", "-----")}


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())["calibration"]


def _target(folder: Path, key: str) -> tuple[float, float]:
    p = next(p for p in _manifest(folder)["patterns"] if p["name"] == key)
    return float(p["low"]), float(p["high"])


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _too_low(folder: Path, key: str) -> int:
    """Predictive draws in which pattern ``key`` (scenario:pattern) is below its target."""
    man = json.loads((folder / "manifest.json").read_text())
    low = next(p for p in man["calibration"]["patterns"] if p["name"] == key)["low"]
    pred = pd.read_parquet(folder / "predictive.parquet")
    s, name = key.split(":")
    v = pred[(pred["scenario"] == s) & (pred["pattern"] == name)]["value"]
    return int((v < float(low)).sum())


def _shipped_strengths() -> str:
    """The shipped strengths of the offensives the territory calibration fits (one value when
    they agree)."""
    from sim import load_scenario

    keys = [p["key"] for p in _manifest(TERRITORY)["priors"] if p["key"].endswith(".strength")]
    events = {e.get("id"): e for e in load_scenario("syria_2013").raw["timeline"]}
    vals = {f"{events[k.split('.')[1]]['strength']:g}" for k in keys}
    return vals.pop() if len(vals) == 1 else " and ".join(sorted(vals))


def _territory_phrases() -> list[str]:
    f = calibration_facts(TERRITORY)
    w = f["params"]["w_defend"]
    post = pd.read_parquet(TERRITORY / "posterior.parquet")
    above = float(post.loc[post["w_defend"] > 2.5, "weight"].sum() / post["weight"].sum())
    pat = f["patterns"]
    held = pat["syria_2013:isis_territory_held_2015"]
    brk = pat["syria_2013:isis_rebels_breakdown"]
    offensives = [f["params"][k]["median"] for k in f["params"] if k.endswith(".strength")]
    man = _manifest(TERRITORY)
    prior = next(p for p in man["priors"] if p["key"] == "w_defend")
    prior_above = (prior["high"] - 2.5) / (prior["high"] - prior["low"])   # uniform
    lo_b, hi_b = _target(TERRITORY, "syria_2013:isis_rebels_breakdown")
    lo_h, _ = _target(TERRITORY, "syria_2013:isis_territory_held_2015")
    common = [
        f"effective sample size is {f['ess']:.0f} of {f['particles']}",
        f"weight {above:.2f} on `w_defend` > 2.5 against {prior_above:.1f} under",
        f"median {w['median']:.1f}",
        f"90% interval ({w['q05']:.2f} to {w['q95']:.1f})",
        f"{f['draws']} draws by weight",
        f"{f['distinct']} distinct particles",
        f"median {_pct(held['median'])}",
    ]
    return {
        CALIBRATION_MD: common + [
            f"{f['generations']} generations, {man['seeds']} seeds, {_n(f['evaluations'])} "
            "particle evaluations",
            f"(median {_pct(held['median'])} against at least {_pct(lo_h)})",
            f"heaviest particle has {w['heaviest']:.2f}",
            f"retention over 2015 in {'none' if held['holds'] == 0 else held['holds']}",
            f"the ISIS-rebel breakdown in {brk['holds']}",
        ],
        ODD_MD: common + [
            f"{f['generations']} generations, {man['seeds']} seeds per particle",
            f"{man['predictive']['seeds']} new seeds each",
            f"(0 to 5; 5 because" if (prior["low"], prior["high"]) == (0.0, 5.0) else
            f"({prior['low']:g} to {prior['high']:g}",
            f"the target at least {_pct(lo_h)}",
            f"median week {brk['median']:.0f}",
            f"(weight {f['top_weights'][0]:.2f}) has {w['heaviest']:.2f}",
            f"{f['heaviest_draws']} of them the heaviest",
            f"5% to 95%: {_pct(held['q05'])} to {_pct(held['q95'])}",
            f"in {'no draw' if held['holds'] == 0 else str(held['holds']) + ' draws'}",
            f"falls in its window in {brk['holds']} draw of {f['draws']}"
            if brk["holds"] == 1 else
            f"falls in its window in {brk['holds']} draws of {f['draws']}",
            f"median week {brk['median']:.0f}",
            "too fast in "
            f"{_too_low(TERRITORY, 'syria_2013:isis_territory_2017h1')}",
            f"medians {min(offensives):.0f} to {max(offensives):.0f}, against "
            f"{_shipped_strengths()} hand-tuned",
        ],
    }


def _kept(folder: Path):
    """A kept calibration folder's facts, resolved calibration, generations, posterior and
    posterior-predictive draws."""
    return (calibration_facts(folder), _manifest(folder),
            pd.read_parquet(folder / "generations.parquet"),
            pd.read_parquet(folder / "posterior.parquet"),
            pd.read_parquet(folder / "predictive.parquet"))


def _sahel_war_draws(folder: Path, pred: pd.DataFrame):
    """Of the Sahel's predictive draws: the end of the open war's window, which draws bring
    open war by then, and the deaths by August 2020 of those draws and of the others."""
    sahel = pred[pred["scenario"] == "sahel_2019"].pivot_table(index="draw", columns="pattern",
                                                              values="value")
    war_hi = _target(folder, "sahel_2019:jnim_isgs_open_war")[1]
    soon = sahel["jnim_isgs_open_war"] <= war_hi
    deaths = sahel["jnim_isgs_deaths_aug2020"]
    return war_hi, soon, deaths[soon], deaths[~soon]


def _crowding_phrases() -> dict:
    """Per document, the phrases it quotes of calibrations/crowding_clashes; under "facts",
    what the texts say of it in words, each True when it holds."""
    f, man, gen, post, pred = _kept(CROWDING)
    par, pat = f["params"], f["patterns"]
    w, own, kappa = par["w_crowd"], par["w_own"], par["clash_kappa"]
    prior = next(p for p in man["priors"] if p["key"] == "w_crowd")
    held = pat["syria_2013:isis_territory_held_2015"]
    brk = pat["syria_2013:isis_rebels_breakdown"]
    co = pat["sahel_2019:jnim_isgs_coexistence"]
    dead = pat["sahel_2019:jnim_isgs_deaths_aug2020"]

    def rho(a, b):   # Spearman rank correlation over the particles (unweighted)
        return f"{post[a].corr(post[b], method='spearman'):.2f}"

    v = "value:syria_2013:", "value:sahel_2019:"
    top = heaviest_particle(post)
    # the draws that miss ISIS's ground over 2015, and the particles they are of
    ground = pred[(pred["scenario"] == "syria_2013")
                  & (pred["pattern"] == "isis_territory_held_2015")]
    missed = set(ground.loc[~ground["holds"].astype(bool), "particle"])
    # the Sahel's draws in which open war comes by the end of its window, and their deaths
    war_hi, soon, d_soon, d_late = _sahel_war_draws(CROWDING, pred)
    # patterns each particle holds at the calibration's seeds
    per_particle = patterns_held(post)
    brk_hi = _target(CROWDING, "syria_2013:isis_rebels_breakdown")[1]
    late = float(post.loc[post[v[0] + "isis_rebels_breakdown"] > brk_hi, "weight"].sum()
                 / post["weight"].sum())
    many = 14   # "more than 13": the most of the two points run at 30 seeds (its own test)

    def draws(p):
        return "none" if p["holds"] == 0 else str(p["holds"])

    common = [
        f"{f['particles']} particles, {f['generations']} generations, {man['seeds']} seeds",
        f"{_n(f['evaluations'])} particle evaluations",
        f"median {w['median']:.1f}, 90% interval ({w['q05']:.1f} to {w['q95']:.1f})",
        f"uniform prior {prior['low']:g} to {prior['high']:g}" if prior["prior"] == "uniform"
        else f"prior {prior['prior']}",
        f"{kappa['q05']:.4f} to {kappa['q95']:.2f}",
        f"{f['distinct']} distinct particles",
        f"over 2015 in {held['holds']}",
        f"in its window in {brk['holds']}",
        f"by August 2020 in {draws(dead)}",
    ]
    return {
        CALIBRATION_MD: common + [
            f"effective sample size is {f['ess']:.0f} of {f['particles']} "
            f"({gen['ess'].iloc[-2]:.0f} in the second",
            f"Of {f['draws']} posterior-predictive draws",
            f"epsilon fell from {gen['epsilon'].iloc[0]:.2f} to {gen['epsilon'].iloc[-1]:.2f}",
            f"acceptance from {gen['acceptance'].iloc[0]:.2f} to "
            f"{gen['acceptance'].iloc[-1]:.2f}",
        ],
        ODD_MD: common + [
            f"(effective sample size {gen['ess'].iloc[-2]:.0f} of {f['particles']} in the second",
            f"about {gen['ess'].iloc[-2]:.0f} particles; {f['ess']:.0f} of {f['particles']} "
            "in the third)",
            f"rises with the levy (Spearman rank correlation {rho('w_crowd', 'levy_rate')})",
            f"Over {f['draws']} draws from the posterior",
            f"`w_own` has median {own['median']:.2f} ({own['q05']:.2f} to {own['q95']:.2f}",
            f"(median {kappa['median']:.3f}, 90% interval",
            f"({f['distinct']} distinct particles, {man['predictive']['seeds']} new seeds each)",
            f"in {held['holds']} draws (median {_pct(held['median'])} over the draws)",
            f"follows the levy (Spearman {rho('levy_rate', v[0] + 'isis_territory_held_2015')})"
            f" more than crowding ({rho('w_crowd', v[0] + 'isis_territory_held_2015')})",
            f"in {brk['holds']} draws (median week {brk['median']:.1f})",
            f"coexistence in {co['holds']} (median {co['median']:.1f} years)",
            f"the {int(soon.sum())} draws in which open war comes by week {war_hi:.0f} kill "
            f"{_n(d_soon.min())} to {_n(d_soon.max())} fighters by then, the others at most "
            f"{_n(d_late.max())}",
            f"(weight {f['top_weights'][0]:.2f}, `clash_kappa` {kappa['heaviest']:.2f}, almost "
            "no levy)",
            f"{int((per_particle >= many).sum())} of the {f['particles']} particles hold {many} "
            "or more",
            f"In most of the posterior ({_pct(late)} of its weight) the ISIS-rebel truce breaks "
            "too late",
            f"(Spearman {rho('clash_kappa', v[1] + 'jnim_isgs_deaths_aug2020')} and "
            f"{abs(float(rho('clash_kappa', v[1] + 'jnim_isgs_open_war'))):.2f})",
        ],
        "facts": [missed == {int(top["particle"])}, top["levy_rate"] < 0.05 * par["levy_rate"][
            "q95"], bool(((d_soon >= 1000).all() and (d_late <= 50).all()) and soon.any()),
                  late > 0.5],
    }


def _wide_phrases() -> dict:
    """Per document, the phrases it quotes of calibrations/crowding_wide; under "facts", what
    the texts say of it in words, each True when it holds."""
    f, man, gen, post, pred = _kept(WIDE)
    par, pat = f["params"], f["patterns"]
    prior = {p["key"]: p for p in man["priors"]}
    first = {p["key"]: p for p in _manifest(CROWDING)["priors"]}
    v = "value:syria_2013:", "value:sahel_2019:"

    def rho(a, b):   # Spearman rank correlation over the particles (unweighted)
        return f"{post[a].corr(post[b], method='spearman'):.2f}"

    lo, hi = _target(WIDE, "syria_2013:isis_rebels_breakdown")
    early = float(post.loc[post[v[0] + "isis_rebels_breakdown"] < lo, "weight"].sum()
                  / post["weight"].sum())
    war_hi, soon, d_soon, d_late = _sahel_war_draws(WIDE, pred)
    sessions = json.loads((WIDE / "manifest.json").read_text())["sessions"]
    minutes = f"{sum(x['wall_seconds'] for x in sessions) / 60:.0f} minutes"
    weight = post["weight"] / post["weight"].sum()

    def below(k):   # the posterior's weight below the first fit's lower edge
        return float(weight[post[k] < first[k]["low"]].sum())

    def prior_below(k):   # the (log-uniform) prior's mass there
        a, b, c = prior[k]["low"], first[k]["low"], prior[k]["high"]
        assert prior[k]["prior"] == "loguniform"
        return math.log(b / a) / math.log(c / a)

    kappa, desert, crowd = par["clash_kappa"], par["desert_rate"], par["w_crowd"]
    dead = pat["sahel_2019:jnim_isgs_deaths_aug2020"]
    none = "none" if dead["holds"] == 0 else str(dead["holds"])
    common = [
        f"{f['particles']} particles, {f['generations']} generations, {man['seeds']} seeds",
        f"{_n(f['evaluations'])} particle evaluations, {minutes} on 2 cores",
        f"down to {prior['clash_kappa']['low']:g}",
        f"({f['distinct']} distinct particles)",
    ]
    return {
        CALIBRATION_MD: common + [
            f"{prior['desert_rate']['low']:g} (the first fit's best particle",
            f"epsilon fell from {gen['epsilon'].iloc[0]:.2f} to {gen['epsilon'].iloc[-1]:.2f}",
            f"effective sample size is {f['ess']:.0f} of {f['particles']}",
            f"breakdown falls in its window in {pat['syria_2013:isis_rebels_breakdown']['holds']}",
            f"in {_pct(early)} of the weight it comes too early",
            f"the Sahel's deaths by August 2020 in {none}",
        ],
        ODD_MD: common + [
            f"effective sample size {f['ess']:.0f} of {f['particles']}, and epsilon still "
            f"falling ({', '.join(f'{e:.2f}' for e in gen['epsilon'])})",
            f"in {_pct(early)} of the posterior's weight the ISIS-rebel truce breaks before week "
            f"{lo:.0f}",
            f"the Sahel's deaths by August 2020 hold in {none}",
            f"has median {kappa['median']:.4f} (90% interval {kappa['q05']:.5f} to "
            f"{kappa['q95']:.2f}), with {_pct(below('clash_kappa'))} of the weight below the "
            f"first fit's lower edge of {first['clash_kappa']['low']:g} where the prior puts "
            f"{_pct(prior_below('clash_kappa'))}",
            f"desertion stays wide ({desert['q05']:.4f} to {desert['q95']:.3f}), "
            f"{_pct(below('desert_rate'))} of the weight below the old edge of "
            f"{first['desert_rate']['low']:g} (prior {_pct(prior_below('desert_rate'))})",
            f"`w_crowd` has median {crowd['median']:.1f} ({crowd['q05']:.1f} to "
            f"{crowd['q95']:.1f}), about the prior's",
            f"goes with the levy (Spearman {rho('levy_rate', v[0] + 'isis_territory_held_2015')})"
            f" more than with crowding ({rho('w_crowd', v[0] + 'isis_territory_held_2015')})",
            f"(Spearman {rho('tension_per_incident', v[0] + 'isis_rebels_breakdown')})",
            f"(Spearman {rho('defect_beta', v[0] + 'isis_defections_mid2014')}; its median "
            f"{par['defect_beta']['median']:.2f})",
            f"Over {f['draws']} draws",
            f"the {int(soon.sum())} draws in which open war comes by week {war_hi:.0f} kill "
            f"{_n(d_soon.min())} to {_n(d_soon.max())} fighters by then, the others at most "
            f"{_n(d_late.max())}",
        ],
        # "below the first fit's lower edge" (in part), "about the prior's", "still falling",
        # "errs the other way", "do not go with defect_beta"
        "facts": [kappa["q05"] < first["clash_kappa"]["low"] < kappa["median"],
                  abs(crowd["median"] - (prior["w_crowd"]["low"] + prior["w_crowd"]["high"]) / 2)
                  < 0.5, bool((gen["epsilon"].diff().dropna() < 0).all()), early > 0.5,
                  abs(post["defect_beta"].corr(post[v[0] + "isis_defections_mid2014"],
                                               method="spearman")) < 0.2],
    }


def _pilot_phrases() -> list[str]:
    f = calibration_facts(PILOT)
    pat = f["patterns"]
    brk = pat["syria_2013:isis_rebels_breakdown"]
    held = pat["syria_2013:isis_territory_held_2015"]
    dec = pat["syria_2013:clash_size_decades"]
    had = pat["idlib_2020:had_to_isis"]

    def count(p):
        return "none" if p["holds"] == 0 else f"{p['holds']} of {f['draws']}"

    man = _manifest(PILOT)
    lo_b, hi_b = _target(PILOT, "syria_2013:isis_rebels_breakdown")
    lo_h, _ = _target(PILOT, "syria_2013:isis_territory_held_2015")
    return [
        f"--particles {f['particles']} --generations {f['generations']} --seeds {man['seeds']}"
        f" --draws {f['draws']}",
        f"against {lo_b:.0f} to {hi_b:.0f})",
        f"against at least {_pct(lo_h)})",
        f"{man['predictive']['seeds']} new seeds each",
        f"effective sample size is {f['ess']:.1f} of {f['particles']} particles",
        f"two particles carry {_pct(sum(f['top_weights'][:2]))} of the weight",
        f"{_n(f['evaluations'])} particle evaluations in the {f['generations']} generations",
        f"{f['draws']} draws by weight from the pilot's posterior, which are "
        f"{f['distinct']} distinct particles",
        f"in {brk['holds']} draws of {f['draws']} (median week {brk['median']:.0f}",
        f"ground over 2015 is kept in {count(held)} (median {_pct(held['median'])}",
        f"spans 2 decades in {count(dec)}",
        f"holds in {had['holds']} of {f['draws']}",
    ]


#: per kept calibration folder: the parts of the documents on it and the phrases they quote
KEPT_TEXTS = {"syria_territory": (TERRITORY_PARTS, _territory_phrases),
              "crowding_clashes": (CROWDING_PARTS, _crowding_phrases),
              "crowding_wide": (WIDE_PARTS, _wide_phrases)}


@pytest.mark.parametrize("name", sorted(KEPT_TEXTS))
@pytest.mark.parametrize("doc", [CALIBRATION_MD, ODD_MD], ids=lambda p: p.name)
def test_the_texts_on_a_kept_calibration_quote_its_folder(doc, name):
    parts, phrases = KEPT_TEXTS[name]
    text = _text(doc, *parts[doc])
    missing = [p for p in phrases()[doc] if p not in text]
    assert not missing, f"{doc.name} no longer quotes calibrations/{name}: {missing}"


def test_what_the_texts_say_of_the_wide_crowding_calibration_in_words_holds():
    """docs/ODD.md section 10, item 10, "Over wider priors": the clash rate's interval reaches
    below the first fit's lower edge (its median does not), w_crowd's median is about the
    prior's, epsilon was still falling, the breakdown errs the other way (most of the weight
    breaks too soon), and the defections do not go with defect_beta."""
    assert all(_wide_phrases()["facts"])


def test_what_the_texts_say_of_the_crowding_calibration_in_words_holds():
    """docs/ODD.md section 10, item 10: "both draws that miss are of the heaviest particle,
    whose levy is near 0", "almost no levy", "in most of the posterior", and the Sahel's draws
    that bring the war in time kill about a thousand while the others kill few."""
    assert all(_crowding_phrases()["facts"])


def test_the_text_on_the_pilot_quotes_its_folder():
    text = _text(*PILOT_PART)
    missing = [p for p in _pilot_phrases() if p not in text]
    assert not missing, f"CALIBRATION.md no longer quotes studies/calibration_pilot: {missing}"
    # the README's word on the pilot
    f = calibration_facts(PILOT)
    readme = _text(ROOT / "README.md")
    assert (f"({f['particles']} particles, {f['generations']} generations) rests on an "
            f"effective sample of {f['ess']:.0f} particles") in readme


def test_a_section_is_cut_where_the_next_begins():
    text = _text(CALIBRATION_MD, *TERRITORY_PARTS[CALIBRATION_MD])
    assert text.startswith("### A small calibration") and "### The pilot" not in text


def test_the_report_says_how_many_particles_the_predictive_draws_are():
    post = pd.read_parquet(TERRITORY / "posterior.parquet")
    pred = pd.read_parquet(TERRITORY / "predictive.parquet")
    f = calibration_facts(TERRITORY)
    note = draws_note(pred, post)
    assert note.startswith(f"The {f['draws']} draws are {f['distinct']} distinct particles")
    assert f"{f['heaviest_draws']} of them are the heaviest particle" in note
    # a hand-made case: three draws of two particles, the heavier drawn twice
    post2 = pd.DataFrame({"particle": [0, 1], "weight": [0.25, 0.75]})
    pred2 = pd.DataFrame({"draw": [0, 0, 1, 2], "particle": [1, 1, 0, 1]})
    assert draws_note(pred2, post2).startswith(
        "The 3 draws are 2 distinct particles; 2 of them are the heaviest particle (weight 0.75)")
    assert draws_note(pred2.iloc[:0], post2) == ""


