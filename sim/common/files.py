"""Writing files safely: the one atomic writer of the project.

Every output (a run's tables, charts, reports, a sweep's run files and manifest) is written
under a temporary name in the target's folder, flushed to disk and renamed into place, so a
file that exists is whole, even after a crash or ``kill -9``.

Temporary files carry a distinctive prefix (:data:`TEMP_PREFIX`), and
:func:`remove_temporary` deletes only files with that prefix: a user's own ``*.tmp`` files are
never touched. The final file gets the permissions of a new file under the user's umask
(``0666 & ~umask``, usually ``0644``), not the ``0600`` of a private temporary file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from .errors import UsageError

#: the prefix of every temporary file the project writes (and the only ones it deletes)
TEMP_PREFIX = ".militant-sim-tmp-"

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask (read from /proc on Linux, else by setting and restoring it)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def temp_path(path: str | os.PathLike, keep_suffix: bool = False) -> Path:
    """A fresh temporary file beside ``path`` (created empty), named
    ``.militant-sim-tmp-XXXX-NAME.tmp``, or ending in ``NAME`` itself with ``keep_suffix``
    (for writers that pick a format from the suffix)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX,
                               suffix=f"-{path.name}" + ("" if keep_suffix else ".tmp"),
                               dir=path.parent)
    os.close(fd)
    return Path(tmp)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any], *,
                 durable: bool = True, keep_suffix: bool = False) -> Path:
    """Write ``path`` by calling ``write(tmp)`` on a temporary file in the same folder, then
    give it the umask's permissions, flush it to disk (``durable``) and rename it into place.

    If ``write`` raises (or the process is interrupted), the temporary file is removed and
    ``path`` is left as it was. ``keep_suffix``: the temporary name ends with ``path``'s name.
    """
    path = Path(path)
    tmp = temp_path(path, keep_suffix)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        if durable:
            _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_text(path: str | os.PathLike, text: str, *, durable: bool = True) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return atomic_write(path, lambda p: Path(p).write_text(text, encoding="utf-8"),
                        durable=durable)


def atomic_json(path: str | os.PathLike, data: Any, *, default=None, indent: int = 1,
                allow_nan: bool = False, durable: bool = True) -> Path:
    """Write ``data`` as JSON atomically."""
    text = json.dumps(data, indent=indent, default=default, allow_nan=allow_nan)
    return atomic_text(path, text, durable=durable)


def remove_temporary(folder: str | os.PathLike) -> int:
    """Delete the temporary files this project left in ``folder`` (a killed writer); returns
    how many. Only names starting with :data:`TEMP_PREFIX` are ever deleted."""
    n = 0
    d = Path(folder)
    if not d.is_dir():
        return 0
    for p in d.glob(f"{TEMP_PREFIX}*"):
        if p.is_file():
            with contextlib.suppress(OSError):
                p.unlink()
                n += 1
    return n


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def check_out_folder(out: Path, option: str = "--out") -> None:
    """Refuse, before anything runs, an output folder that cannot be made or written: a file,
    a folder under a file, or a read-only place."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {out}: exists and is not a folder; give a folder")
    parent = out
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"{option} {out}: {parent} is a file, not a folder; give a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {out}: cannot write into {parent} (read-only or no "
                         "permission); give a folder you can write to")
