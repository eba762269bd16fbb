"""A process that yields the CPU does so against other sessions too (`common/priority.py`)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.platform import ROOT

REPORT = """
import os, pathlib
from common.priority import yield_cpu
yield_cpu({niceness})
autogroup = pathlib.Path("/proc/self/autogroup")
print(os.nice(0), autogroup.read_text().split()[-1] if autogroup.exists() else "none")
"""


def _run(niceness: int) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", REPORT.format(niceness=niceness)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,  # as a supervisor may start each process
    )
    return done.stdout.split()


def test_the_process_and_its_own_session_get_the_lowest_priority() -> None:
    niceness, autogroup = _run(19)
    assert niceness == "19"
    if not Path("/proc/self/autogroup").exists():
        pytest.skip("this kernel groups no sessions")
    assert autogroup == "19"


def test_niceness_zero_changes_nothing() -> None:
    niceness, autogroup = _run(0)
    assert niceness == "0"
    assert autogroup in ("0", "none")
