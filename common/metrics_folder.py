"""The folder where every process of the platform on one host keeps its metrics.

Prometheus multiprocess mode: each process writes its samples to files of its
own in one folder and a scrape sums them, so the web's `/metrics` shows what the
workers counted (booking outcomes, conflicts, hold-to-confirm time, generated
slots) next to the requests of every web process.

Which folder: `METRICS_DIR`, else one named after the platform's Postgres and
Redis in the system's temporary folder. Every process of one platform on this
host then finds the same folder however it was started (`make run`, honcho, or
each Procfile line run by hand), and two platforms on one host never share one.

Its life:
- Every process that records metrics creates the folder if needed and holds a
  shared lock on the `lock` file in it while it lives; the kernel drops the
  lock of a process that ended, however it ended.
- A process that finds nobody holding that lock starts a new run: before it
  records anything it removes the files the last run left.
- During a run the files of a process that died stay, so sums never go
  backwards (Prometheus would read a drop as a counter reset).
- A live gauge (`multiprocess_mode="live…"`, such as Dramatiq's messages in
  progress) of a process that died is dropped at the next scrape.
"""

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from common.settings import Settings

ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"
"""Where prometheus_client looks for the folder. It decides on multiprocess mode when
first imported, so this module must not import it: `common.metrics` joins first."""

_locks: list[int] = []
"""The descriptor holding this process's shared lock, open as long as the process."""


def folder(settings: Settings) -> Path:
    if settings.metrics_dir:
        return Path(settings.metrics_dir)
    platform = f"{settings.database_url}\n{settings.redis_url}".encode()
    name = f"general-scheduler-metrics-{os.getuid()}-{hashlib.sha256(platform).hexdigest()[:16]}"
    return Path(tempfile.gettempdir()) / name


def join(path: Path) -> None:
    """Makes this process one of the run's, starting a new run if it is the first.

    The exclusive lock is taken only to wipe: files are written only by
    processes holding the shared lock, so none can appear while it is held.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user; set METRICS_DIR")
    descriptor = os.open(path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # processes of a running platform hold it: join their run
    else:
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    _locks.append(descriptor)
    os.environ[ENVIRONMENT] = str(path)
