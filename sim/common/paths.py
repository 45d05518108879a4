"""Where the package and its data live: the repository's folders when run from a checkout,
the copies inside the installed package otherwise (``sim/_scenarios``, ...)."""

from __future__ import annotations

from pathlib import Path

#: the ``sim`` package folder
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: the folder above it (the repository in a checkout)
ROOT_DIR = PACKAGE_DIR.parent
