"""The repository's own files: the license and citation files exist and agree with
pyproject.toml, and every file the documentation points to is in the repository."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: folders of the repository that documentation paths start with
TOP = ("docs", "scripts", "benchmarks", "tests", "experiments", "scenarios", "sim")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_mit_as_pyproject_says():
    text = (ROOT / "LICENSE").read_text()
    assert _pyproject()["project"]["license"]["text"] == "MIT"
    assert text.startswith("MIT License")
    assert re.search(r"Copyright \(c\) \d{4} the militant-sim authors", text)


def test_citation_file_is_valid_and_current():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"].startswith("1.2")
    assert cff["license"] == "MIT"
    assert str(cff["version"]) == sim.__version__ == _pyproject()["project"]["version"]
    assert cff["title"].startswith("militant-sim") and cff["authors"]


def _doc_texts() -> dict[str, tuple[Path, str]]:
    out = {str(p.relative_to(ROOT)): (p.parent, p.read_text()) for p in DOCS}
    nb = json.loads((ROOT / "docs" / "tutorial.ipynb").read_text())
    out["docs/tutorial.ipynb"] = (ROOT / "docs", "\n".join("".join(c["source"])
                                                           for c in nb["cells"]))
    return out


def test_every_file_the_docs_point_to_exists():
    missing = []
    for name, (base, text) in _doc_texts().items():
        # paths into the repository's folders, in prose or code: docs/ODD.md, scripts/x.py
        for m in re.finditer(r"(?<![\w/.-])((?:%s)/[\w./-]*\w\.\w+)" % "|".join(TOP), text):
            if not (ROOT / m.group(1)).exists():
                missing.append(f"{name}: {m.group(1)}")
        # Markdown links to local files: [text](path) or [text](path#anchor)
        for m in re.finditer(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            if not (base / target).exists():
                missing.append(f"{name}: link {target}")
    assert not missing, missing


def test_no_doc_names_a_design_file_that_is_not_here():
    for name, (_, text) in _doc_texts().items():
        assert "MODEL.md" not in text, name


def test_every_kept_result_is_in_the_architectures_list_of_what_to_make_again():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    section = text.split("## After a change of what the model gives", 1)[1]
    kept = [f"tests/golden/"] + [
        f"{top}/{d.name}/" for top in ("studies", "calibrations")
        for d in sorted((ROOT / top).iterdir()) if d.is_dir()]
    missing = [k for k in kept if f"`{k}`" not in section]
    assert not missing, f"docs/ARCHITECTURE.md does not say how to make these again: {missing}"
    for script in re.findall(r"scripts/(\w+\.py)", section):
        assert (ROOT / "scripts" / script).is_file(), script
    for toml in re.findall(r"calibrations/(\w+\.toml)", section):
        assert (ROOT / "calibrations" / toml).is_file(), toml
