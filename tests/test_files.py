"""The one atomic writer (sim.common.files): permissions follow the umask, a failed write leaves
nothing, only the project's own temporary files are ever deleted, and no other module writes
files its own way."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from sim.common.files import TEMP_PREFIX, atomic_json, atomic_text, atomic_write, remove_temporary

SIM = Path(__file__).resolve().parent.parent / "sim"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_are_as_readable_as_the_umask_allows(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        p = atomic_text(tmp_path / "a.txt", "hello")
        q = atomic_json(tmp_path / "b.json", {"a": 1})
    finally:
        os.umask(old)
    for f in (p, q):
        assert stat.S_IMODE(f.stat().st_mode) == mode, oct(f.stat().st_mode)
    assert p.read_text() == "hello"


def test_a_run_folder_and_a_sweep_folder_are_readable_by_others(tmp_path):
    import sim
    from sim.sweeps.runner import Store

    old = os.umask(0o022)
    try:
        res = sim.run("classroom", steps=2, seed=1)
        out = res.save(tmp_path / "run")
        st = Store(tmp_path / "sw")
        st.out.mkdir()
        st.runs_dir.mkdir()
        st.save({"run_id": "x-r000", "status": "ok", "frames": {}})
    finally:
        os.umask(old)
    files = list(out.iterdir()) + list(st.runs_dir.iterdir())
    assert files
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, (f, oct(f.stat().st_mode))


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "t.json"
    target.write_text("old")

    def dies(p):
        Path(p).write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(target, dies)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_temporary_files_keep_the_suffix_and_only_ours_are_removed(tmp_path):
    seen = []
    atomic_write(tmp_path / "chart.png", lambda p: (seen.append(p), Path(p).write_bytes(b"x")))
    atomic_write(tmp_path / "a.mp4", lambda p: (seen.append(p), Path(p).write_bytes(b"x")),
                 keep_suffix=True)
    assert seen[0].name.startswith(TEMP_PREFIX) and seen[0].name.endswith("chart.png.tmp")
    assert seen[1].name.startswith(TEMP_PREFIX) and seen[1].name.endswith("a.mp4")
    mine = tmp_path / f"{TEMP_PREFIX}abc-runs.parquet"
    mine.write_text("left by a killed writer")
    users = [tmp_path / "notes.tmp", tmp_path / ".draft.tmp", tmp_path / ".x.json.abc.tmp"]
    for u in users:
        u.write_text("the user's own")
    assert remove_temporary(tmp_path) == 1
    assert not mine.exists() and all(u.exists() for u in users)


def test_no_module_writes_files_its_own_way():
    """One atomic writer for the whole project: only sim/common/files.py renames temporary files."""
    offenders = []
    for f in SIM.glob("*.py"):
        if f.name == "files.py":
            continue
        text = f.read_text()
        for pat in (r"os\.replace\(", r"os\.rename\(", r"mkstemp\(", r"NamedTemporaryFile\(",
                    r"\.tmp[\"'}]"):
            if re.search(pat, text):
                offenders.append(f"{f.name}: {pat}")
    assert not offenders, offenders
