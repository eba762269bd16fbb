"""The metrics folder's life: a new run starts clean, a process joining a running one keeps it."""

import fcntl
import subprocess
import sys
from pathlib import Path

from tests.support.platform import ROOT


def _start_process(folder: Path) -> None:
    """A process of the platform starting, as far as the folder is concerned."""
    code = "import sys, pathlib, common.metrics_folder as f; f.join(pathlib.Path(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, check=True)


def test_the_first_process_of_a_run_removes_what_the_last_run_left(tmp_path: Path) -> None:
    stale = tmp_path / "counter_999999.db"
    stale.write_bytes(b"left by a run that ended")
    _start_process(tmp_path)
    assert not stale.exists()
    assert (tmp_path / "lock").exists()


def test_a_process_joining_a_running_platform_keeps_its_files(tmp_path: Path) -> None:
    _start_process(tmp_path)
    live = tmp_path / "counter_1.db"
    live.write_bytes(b"counted by a running process")
    with open(tmp_path / "lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)  # held by every running process of the platform
        _start_process(tmp_path)
    assert live.exists()
