"""The layering of docs/ARCHITECTURE.md: each package of ``sim`` imports only from its own
layer and the layers below it (function-local imports included), and the model core needs
none of the tooling's third-party packages."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

#: the packages of sim, bottom to top
LAYERS = ["common", "core", "sweeps", "analysis", "app", "cli"]

#: third-party packages only the tooling may import at module level (the model installs
#: without them; a function of the model may import one for an optional feature, such as a
#: named colour or the clash-size power law, and says so)
TOOLING_PACKAGES = {"matplotlib", "SALib", "powerlaw", "PIL", "jinja2", "solara",
                    "ipyvue", "ipyvuetify", "reacton", "distributed", "dask", "dask_jobqueue",
                    "pyabc", "uvicorn"}


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(SIM.rglob("*.py")):
        rel = p.relative_to(SIM.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(name: str, path: Path, top_only: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the module, at any depth (``top_only``: the
    module-level ones)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in (tree.body if top_only else ast.walk(tree)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((node.lineno, mod))
            # "from . import x" names submodules
            if not node.module:
                found += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return found


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "sim":
        return None
    if len(parts) == 1:
        return len(LAYERS)  # the package facade (sim/__init__.py) sits on top
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def test_every_module_of_sim_is_in_a_layer():
    stray = [n for n in _modules() if n != "sim" and _layer(n) is None]
    assert not stray, f"modules outside the packages of docs/ARCHITECTURE.md: {stray}"


def test_no_module_imports_from_a_layer_above_it():
    problems = []
    mods = _modules()
    for name, path in mods.items():
        own = _layer(name)
        for line, target in _imports(name, path):
            other = _layer(target)
            if other is None or name == "sim":
                continue
            if other > own:
                problems.append(f"{path.relative_to(SIM.parent)}:{line} ({LAYERS[own]}) "
                                f"imports {target}")
    assert not problems, "imports from a layer above:\n" + "\n".join(problems)


def test_the_facade_imports_only_the_model():
    for _, target in _imports("sim", SIM / "__init__.py"):
        if target.startswith("sim."):
            assert _layer(target) <= LAYERS.index("core"), target


@pytest.mark.parametrize("layer", ["common", "core"])
def test_the_model_needs_none_of_the_tooling_packages(layer):
    problems = []
    for name, path in _modules().items():
        if _layer(name) != LAYERS.index(layer):
            continue
        for line, target in _imports(name, path, top_only=True):
            if target.split(".")[0] in TOOLING_PACKAGES:
                problems.append(f"{path.relative_to(SIM.parent)}:{line} imports {target}")
    assert not problems, problems


def test_the_model_imports_without_the_tooling(tmp_path):
    """Importing sim and running a short model loads no tooling package."""
    import subprocess

    code = ("import sys, sim\n"
            "sim.run('classroom', steps=3, seed=1)\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(TOOLING_PACKAGES)!r}"
            " or m.startswith(('sim.sweeps', 'sim.analysis', 'sim.app', 'sim.cli')))\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_timeline_kinds_are_the_scenario_format_s():
    from sim.core.enums import EFFECT_KINDS, TimelineKind
    from sim.core.scenario import EVENT_KINDS

    assert set(EVENT_KINDS) == set(TimelineKind)
    assert EFFECT_KINDS <= set(TimelineKind)
    assert "until" not in EVENT_KINDS["set_group"] and all(
        "until" in EVENT_KINDS[k] for k in EFFECT_KINDS)


def test_the_architecture_page_names_every_module():
    text = (SIM.parent / "docs" / "ARCHITECTURE.md").read_text()
    missing = []
    for layer in LAYERS:
        assert f"`sim/{layer}/`" in text, layer
        for p in sorted((SIM / layer).glob("*.py")):
            if p.name not in ("__init__.py", "__main__.py") and f"`{p.name}`" not in text:
                missing.append(f"sim/{layer}/{p.name}")
    assert not missing, f"docs/ARCHITECTURE.md does not say what these modules are: {missing}"


#: the longest function the tooling may have (lines, docstring included)
MAX_FUNCTION_LINES = 80


@pytest.mark.parametrize("layer", ["common", "sweeps", "analysis", "app", "cli"])
def test_no_function_of_the_tooling_is_over_80_lines(layer):
    long = []
    for p in sorted((SIM / layer).glob("*.py")):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{p.relative_to(SIM.parent)}:{node.lineno} {node.name} ({n})")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: " + ", ".join(long)


def test_the_model_s_dependencies_are_not_the_tooling_s():
    import tomllib

    project = tomllib.loads((SIM.parent / "pyproject.toml").read_text())["project"]
    core = {d.split(">")[0].split("[")[0].split("<")[0].strip().lower()
            for d in project["dependencies"]}
    assert not core & {p.lower() for p in TOOLING_PACKAGES | {"pillow"}}, core
    extras = project["optional-dependencies"]
    assert any(d.startswith("militant-sim[tools") for d in extras["test"])
