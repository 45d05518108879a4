"""benchmarks/bench_rules.py: what it times is the week's rules, and it leaves them as found."""

import importlib.util
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_bench():
    spec = importlib.util.spec_from_file_location(
        "bench_rules", ROOT / "benchmarks" / "bench_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_times_every_rule_the_step_calls():
    from sim.core.model import MilitantModel

    called = re.findall(r"rules\.(\w+)\(self\)", inspect.getsource(MilitantModel.step))
    bench = load_bench()
    assert [r for r in bench.RULES if r != "_fight"] == called


def test_the_rule_times_add_up_and_the_rules_are_restored():
    from sim.core import rules

    bench = load_bench()
    before = {name: getattr(rules, name) for name in bench.RULES}
    spent, wall, cpu = bench.measure("classroom", steps=6, seed=3, repeats=1)
    assert {name: getattr(rules, name) for name in bench.RULES} == before
    assert set(spent) == set(bench.RULES) and all(v >= 0 for v in spent.values())
    top = sum(v for k, v in spent.items() if k != "_fight")
    assert 0 < top <= wall and spent["_fight"] <= spent["interact"]
    assert cpu > 0
