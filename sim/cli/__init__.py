"""The one command line, ``militant-sim``, on top of every other package.

:mod:`.main` builds the parser from the subcommand modules (``run``, ``scenarios`` and
``params`` in :mod:`.main`; :mod:`.check`, :mod:`.sweep`, :mod:`.report`, :mod:`.calibrate`,
:mod:`.app`, :mod:`.epstein`) and turns bad input into one message and exit status 2.
"""

from ..common.errors import UsageError
from ..common.files import check_out_folder
from .main import RUN_FILES, build_parser, default_run_folder, main, parse_sets

__all__ = ["main", "build_parser", "parse_sets", "UsageError", "check_out_folder", "RUN_FILES",
           "default_run_folder"]
