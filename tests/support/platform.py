"""Runs the real platform as subprocesses: web, worker and scheduler, as the Procfile does.

Fault tests and benchmarks use it to kill, restart and starve real processes.
Every process's output goes to a file in the run's folder, and everything is
stopped on exit, even when the caller fails.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from workers.tasks import BOOKING_QUEUES, WEBHOOK_QUEUES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def commands(worker_processes: int = 1, worker_threads: int = 4) -> dict[str, list[str]]:
    """Each Procfile kind's command (`webhooks` delivers webhooks, at a lower priority)."""
    actors = [sys.executable, "-m", "actors"]
    return {
        "web": [sys.executable, "-m", "web"],
        "worker": [
            *actors,
            "--processes",
            str(worker_processes),
            "--threads",
            str(worker_threads),
            "--queues",
            *BOOKING_QUEUES,
        ],
        "webhooks": [*actors, "--processes", "1", "--queues", *WEBHOOK_QUEUES],
        "scheduler": [sys.executable, "-m", "scheduler_jobs.main"],
    }


@dataclass
class Platform:
    """A running platform; `env` holds every setting the processes were given."""

    env: dict[str, str]
    worker_processes: int = 1
    worker_threads: int = 4
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gs-platform-")))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['HTTP_PORT']}"

    def start(self, *names: str) -> "Platform":
        self.env.setdefault("HTTP_PORT", str(free_port()))
        for name in names or ("web", "worker", "scheduler"):
            self._spawn(name)
        if "web" in self.processes:
            self.wait_ready()
        return self

    def add(self, name: str, kind: str) -> None:
        """Starts one more process of a Procfile kind (a second scheduler, say) as `name`."""
        self._spawn(name, kind)

    def _spawn(self, name: str, kind: str | None = None) -> None:
        env = {
            **os.environ,
            "METRICS_DIR": str(self.folder / "metrics"),
            **self.env,
            "PYTHONPATH": str(ROOT),
            "dramatiq_worker_timeout": "20",
        }
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            commands(self.worker_processes, self.worker_threads)[kind or name],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"platform not ready in {timeout}s; logs in {self.folder}")

    def kill(self, name: str) -> None:
        """SIGKILL to the process and its children (dramatiq forks worker processes)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def restart(self, name: str, kind: str | None = None) -> None:
        self._spawn(name, kind)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for name, process in list(self.processes.items()):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            del self.processes[name]

    def __enter__(self) -> "Platform":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
