"""`python -m actors`: Dramatiq's `dramatiq actors.main`, each of its processes tied to
its supervisor (common/lifeline.py).

Dramatiq's main process runs none of the platform's code, so it gets its lifeline
here; the worker processes it forks start their own, watching the main process.
"""

import os
import sys

from dramatiq.cli import main, make_argument_parser

from common.lifeline import stop_with_parent, stop_with_supervisor

if __name__ == "__main__":
    # Dramatiq reloads on SIGHUP by executing sys.argv again: make that this command.
    sys.argv[:1] = [sys.executable, "-m", "actors"]
    stop_with_supervisor()
    os.register_at_fork(after_in_child=stop_with_parent)
    sys.exit(main(make_argument_parser().parse_args(["actors.main", *sys.argv[3:]])))
