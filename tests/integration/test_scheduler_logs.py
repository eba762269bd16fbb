"""The scheduler's log: routine job runs at DEBUG, failures at ERROR."""

import io
import json
import time

import redis

from common.settings import get_settings
from scheduler_jobs.jobs import ScheduledJob
from scheduler_jobs.main import run_leased
from tests.support.platform import Platform


def _lines(platform: Platform) -> list[dict]:
    return [json.loads(line) for line in platform.log("scheduler").splitlines() if line[:1] == "{"]


def test_routine_job_runs_log_at_debug_only() -> None:
    env = {"LOG_LEVEL": "DEBUG", "PYTHONUNBUFFERED": "1", "EXPIRY_INTERVAL_SECONDS": "1"}
    with Platform(env=env).start("scheduler") as platform:
        deadline = time.monotonic() + 20
        while sum(line["event"] == "job_ran" for line in _lines(platform)) < 5:
            assert time.monotonic() < deadline, platform.log("scheduler")[-2000:]
            time.sleep(0.1)
    runs = [line for line in _lines(platform) if line["logger"].startswith("apscheduler.executors")]
    runs += [line for line in _lines(platform) if line["event"] == "job_ran"]
    assert {line["level"] for line in runs} == {"debug"}


def test_a_failing_job_logs_an_error_with_its_traceback(log_lines: io.StringIO) -> None:
    def broken() -> None:
        raise RuntimeError("the job broke")

    client = redis.Redis.from_url(get_settings().redis_url)
    run_leased(client, ScheduledJob("broken", 1, broken))
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    failed = [line for line in lines if line["event"] == "job_failed"]
    assert [line["level"] for line in failed] == ["error"]
    assert "the job broke" in failed[0]["exception"]
