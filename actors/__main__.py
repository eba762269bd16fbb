"""`python -m actors`: Dramatiq's `dramatiq actors.main`, each of its processes tied to
its supervisor (common/lifeline.py).

Dramatiq's main process runs none of the platform's code, so it gets its lifeline
here; the worker processes it forks start their own, watching the main process.
Worker processes for the webhook queues alone run at a lower CPU priority
(`WEBHOOKS_NICENESS`).
"""

import os
import sys

from dramatiq.cli import main, make_argument_parser

from common.lifeline import stop_with_parent, stop_with_supervisor
from common.priority import yield_cpu
from common.settings import get_settings
from workers.tasks import WEBHOOK_QUEUES


def _only_webhooks(arguments: list[str]) -> bool:
    """Whether these worker processes consume the webhook queues and nothing else."""
    queues = make_argument_parser().parse_args(["actors.main", *arguments]).queues
    return bool(queues) and set(queues) <= set(WEBHOOK_QUEUES)


if __name__ == "__main__":
    # Dramatiq reloads on SIGHUP by executing sys.argv again: make that this command.
    sys.argv[:1] = [sys.executable, "-m", "actors"]
    stop_with_supervisor()
    if _only_webhooks(sys.argv[3:]):
        # Deliveries wait for the booking path, never the other way round.
        yield_cpu(get_settings().webhooks_niceness)
    os.register_at_fork(after_in_child=stop_with_parent)
    sys.exit(main(make_argument_parser().parse_args(["actors.main", *sys.argv[3:]])))
