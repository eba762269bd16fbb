"""A lower CPU priority, for processes whose work can wait (webhook deliveries).

`nice` alone is not always enough: where the kernel groups processes by session
(autogroup, on by default in many Linux distributions), niceness only ranks the
processes within one session, and every session gets an equal share of the CPU.
A process that leads its own session (started with `setsid`, as a supervisor may
start each process) therefore also lowers its session's priority.
"""

import contextlib
import os
from pathlib import Path

LOWEST = 19


def yield_cpu(niceness: int = LOWEST) -> None:
    """Gives this process (and those it forks) `niceness` (19: the lowest priority there is)."""
    os.nice(max(0, niceness - os.nice(0)))
    if niceness and os.getsid(0) == os.getpid():  # its session and autogroup are its own
        # Without autogroups (no such file) niceness is all there is.
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text(str(niceness))
