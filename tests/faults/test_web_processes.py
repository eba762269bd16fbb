"""Several web processes: one port, one view of the metrics, a dead one replaced."""

import os
import re
import signal
import time

import psutil
import requests

from tests.support.platform import Platform


def _servers(platform: Platform) -> list[int]:
    """The live server processes under the web supervisor."""
    servers = []
    for child in psutil.Process(platform.processes["web"].pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                servers.append(child.pid)
        except psutil.Error:
            continue
    return servers


def _healthz_count(metrics: str) -> float:
    pattern = r'^http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$'
    return sum(float(v) for v in re.findall(pattern, metrics, re.MULTILINE))


def test_metrics_count_the_requests_of_every_web_process(platform: Platform) -> None:
    platform.env["WEB_PROCESSES"] = "2"
    platform.start("web")
    assert len(_servers(platform)) == 2
    for _ in range(40):
        with requests.Session() as fresh_connection:
            assert fresh_connection.get(f"{platform.base_url}/healthz").status_code == 200
    metrics = requests.get(f"{platform.base_url}/metrics").text
    assert _healthz_count(metrics) >= 40
    for kind, name in (
        ("histogram", "exposed_slots_count"),
        ("histogram", "hold_to_confirm_ms"),
        ("counter", "booking_outcomes_total"),
        ("counter", "slot_conflicts_total"),
        ("gauge", "queue_depth"),
    ):
        assert f"# TYPE {name} {kind}" in metrics, name


def test_a_killed_web_process_is_replaced(platform: Platform) -> None:
    platform.env["WEB_PROCESSES"] = "2"
    platform.start("web")
    victim = _servers(platform)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while victim in _servers(platform) or len(_servers(platform)) < 2:
        assert time.monotonic() < deadline, "the killed web process was not replaced"
        time.sleep(0.1)
    platform.wait_ready()
