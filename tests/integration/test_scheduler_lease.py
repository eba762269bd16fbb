"""The scheduler's Redis lease: one holder at a time, and a dead holder does not block for long."""

import time

import pytest
import redis

from common.settings import get_settings
from scheduler_jobs.jobs import ScheduledJob
from scheduler_jobs.lease import Lease
from scheduler_jobs.main import run_leased


@pytest.fixture
def client() -> redis.Redis:
    client = redis.Redis.from_url(get_settings().redis_url)
    client.delete("lease:job")
    return client


def test_only_one_holder_at_a_time(client: redis.Redis) -> None:
    first, second = Lease(client, "job", 10_000), Lease(client, "job", 10_000)
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()


def test_release_never_frees_someone_elses_lease(client: redis.Redis) -> None:
    first, second = Lease(client, "job", 50), Lease(client, "job", 10_000)
    assert first.acquire()
    deadline = time.monotonic() + 2
    while not second.acquire():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first.release()
    assert client.get("lease:job") is not None


def test_a_killed_holder_blocks_the_job_for_at_most_one_interval(client: redis.Redis) -> None:
    runs: list[float] = []
    job = ScheduledJob("job", 1.0, lambda: runs.append(time.monotonic()))
    assert Lease(client, "job", job.lease_ms).acquire()  # a scheduler that then died
    started = time.monotonic()
    assert 0 < client.pttl("lease:job") <= job.lease_ms
    deadline = started + 5
    while not runs:
        assert time.monotonic() < deadline
        run_leased(client, job)
        time.sleep(0.02)
    # A busy machine may oversleep the polling loop; the lease itself lasted one interval.
    assert job.interval_seconds - 0.05 <= runs[0] - started <= job.interval_seconds + 0.5
