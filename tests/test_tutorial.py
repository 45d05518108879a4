"""docs/tutorial.ipynb runs from top to bottom without an error, in this environment's Python.

The notebook is executed by nbclient with a kernel whose Python is the one running the tests
(the project's virtualenv), whatever kernels the machine has installed. Every cell must run;
the test fails on the first cell error and says which cell.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"
KERNEL = "militant-sim-test"


@pytest.fixture
def kernel_here(tmp_path, monkeypatch):
    """A kernel spec named KERNEL that starts this very interpreter."""
    spec_dir = tmp_path / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "militant-sim (tests)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return KERNEL


def test_tutorial_notebook_runs_without_errors(kernel_here, tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert any("run_sweep" in c.source for c in nb.cells if c.cell_type == "code")
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = nbclient.NotebookClient(nb, kernel_name=kernel_here, timeout=300,
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"a cell of {NOTEBOOK.name} failed:\n{exc}")
    check = nb.cells.pop()
    assert check.outputs[0]["text"].strip() == sys.executable  # the project's Python ran it
    code = [c for c in nb.cells if c.cell_type == "code"]
    # every code cell ran, and the charts were drawn
    assert all(c.get("execution_count") for c in code)
    images = [o for c in code for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) >= 2
    assert not any(o.get("output_type") == "error" for c in code for o in c.get("outputs", []))
