"""Nothing of the platform outlives its supervisor: `make run` or honcho killed with SIGKILL."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import pytest
import requests

from tests.support.platform import BIN, ROOT, free_port

MARK = "GS_SUPERVISION_TEST"
"""Every process started under the supervisor inherits this variable: it finds them all."""


def _marked(run: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(MARK) == run:
                found.append(process)
        except psutil.Error:  # gone, a zombie, or not ours
            continue
    return found


def _commands(run: str) -> str:
    return "\n".join(" ".join(p.cmdline()) for p in _marked(run) if p.is_running())


def _wait_until_up(base_url: str, run: str, log: Path) -> None:
    """Web ready, and every Procfile process with its own processes started."""
    deadline = time.monotonic() + 90
    while True:
        try:
            ready = requests.get(f"{base_url}/readyz", timeout=1).status_code == 200
        except requests.RequestException:
            ready = False
        commands = _commands(run)
        if (
            ready
            and commands.count("-m actors ") >= 3  # the main process and its two workers
            and commands.count("spawn_main") >= 2  # the two web servers
            and "scheduler_jobs.main" in commands
            and "cli.dashboard" in commands
        ):
            return
        assert time.monotonic() < deadline, f"not up in time:\n{commands}\n{log.read_text()}"
        time.sleep(0.2)


SUPERVISORS = {
    "honcho": [str(BIN / "honcho"), "start", "-f", str(ROOT / "Procfile")],
    "make run": [sys.executable, "-m", "cli.devserver"],
}


@pytest.mark.parametrize("supervisor", SUPERVISORS)
def test_every_process_exits_within_ten_seconds_of_a_killed_supervisor(
    supervisor: str, platform_env: dict[str, str]
) -> None:
    run = str(uuid.uuid4())
    folder = Path(tempfile.mkdtemp(prefix="gs-supervision-"))
    env = {
        **os.environ,
        **platform_env,
        MARK: run,
        "HTTP_PORT": str(free_port()),
        "DASHBOARD_PORT": str(free_port()),
        "WEB_PROCESSES": "2",
        "METRICS_DIR": str(folder / "metrics"),
        "PYTHONPATH": str(ROOT),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    log = folder / "supervisor.log"
    with open(log, "wb") as output:
        started = subprocess.Popen(
            SUPERVISORS[supervisor],
            cwd=folder,  # `make run` keeps its .data here
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(f"http://127.0.0.1:{env['HTTP_PORT']}", run, log)
        started.send_signal(signal.SIGKILL)
        started.wait()
        deadline = time.monotonic() + 10
        while _marked(run):
            assert time.monotonic() < deadline, f"still running:\n{_commands(run)}"
            time.sleep(0.2)
    finally:
        for process in _marked(run):
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)  # `make run` kept generated secrets there
