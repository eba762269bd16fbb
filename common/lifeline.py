"""Every process of the platform stops when the process that supervises it dies.

A supervisor killed with SIGKILL (honcho, `make run`, the web supervisor,
Dramatiq's main process) cannot stop its children; left running, they would
serve the next start's port (`SO_REUSEPORT`) and take its messages.

Why not `PR_SET_PDEATHSIG`: it signals a child when its *parent* dies, and under
honcho the parent never does. Honcho runs each Procfile line as
`honcho → a forked honcho runner → sh -c "line" → our process`: a SIGKILLed
honcho leaves its runners alive (they ignore SIGTERM and SIGINT) and each `sh`
keeps waiting for its process. The signal also fires when the *thread* that
forked the child ends, not the process, and it exists on Linux only.

So the process a Procfile line starts watches its ancestry instead: its parent,
that parent's parent, and so on up to the first process that leads a process
group other than its own (the supervisor as a shell starts it: honcho, or `make`
above `make run`, or the shell itself), or to init. The processes it starts in
turn (web servers, Dramatiq's worker processes) watch their parent only: it
stops them itself when its supervisor dies. An ancestor that dies re-parents
its child, so each link is checked by reading the child's parent id again, every
`WATCH_SECONDS`. When one changed, the process sends itself SIGTERM and stops as
it does on Ctrl-C; if that stop has not ended it in `GRACE_SECONDS` (a log write
blocked on a pipe nobody reads any more), it exits at once. Messages in flight
go back to the queue, as when a worker is killed.
"""

import os
import signal
import threading
import time
from pathlib import Path

WATCH_SECONDS = 0.5
GRACE_SECONDS = 3.0


def stop_with_supervisor() -> None:
    """Stops this process when any of its ancestors up to its supervisor dies."""
    _start(_ancestry())


def stop_with_parent() -> None:
    """Stops this process when its parent dies."""
    _start([(os.getpid(), os.getppid())])


def _start(links: list[tuple[int, int]]) -> None:
    threading.Thread(target=_watch, args=(links,), name="lifeline", daemon=True).start()


def _ancestry() -> list[tuple[int, int]]:
    """(process, its parent) from this process up to the supervisor."""
    own_group = os.getpgid(0)
    links = []
    pid, parent = os.getpid(), os.getppid()
    while parent > 1:
        links.append((pid, parent))
        if _leads_another_group(parent, own_group):
            break
        pid, parent = parent, _parent_of(parent)
    return links


def _leads_another_group(pid: int, own_group: int) -> bool:
    try:
        return os.getpgid(pid) == pid != own_group
    except ProcessLookupError:
        return True


def _parent_of(pid: int) -> int:
    """The parent's id, or 0 when the process is gone (or where /proc is missing)."""
    if pid == os.getpid():
        return os.getppid()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # "pid (command) state ppid ...": the command may hold spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _watch(links: list[tuple[int, int]]) -> None:
    while all(_parent_of(pid) == parent for pid, parent in links):
        time.sleep(WATCH_SECONDS)
    # No log line here: stdout may be a pipe nobody reads any more, and a write could block.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(128 + signal.SIGTERM)
