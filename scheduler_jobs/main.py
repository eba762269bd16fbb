"""Entry point of the scheduler process: `python -m scheduler_jobs.main`."""

import datetime as dt
import logging
import signal
import time

import redis
import structlog
from apscheduler.schedulers.blocking import BlockingScheduler

from common.lifeline import stop_with_supervisor
from common.logging import configure_logging
from common.settings import get_settings
from scheduler_jobs.jobs import ScheduledJob, jobs
from scheduler_jobs.lease import Lease
from workers.broker import build_broker

_log = structlog.get_logger("scheduler")


def run_leased(client: redis.Redis, job: ScheduledJob) -> None:
    lease = Lease(client, job.name, job.lease_ms)
    if not lease.acquire():
        return
    started = time.perf_counter()
    try:
        job.run()
    except Exception:
        _log.exception("job_failed", job=job.name)
    else:
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        _log.debug("job_ran", job=job.name, duration_ms=elapsed_ms)
    finally:
        lease.release()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    # APScheduler announces every run twice at INFO, every second for short intervals;
    # `job_ran` says it at DEBUG. Missed runs and failures still log at WARNING and ERROR.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    stop_with_supervisor()
    client = redis.Redis.from_url(settings.redis_url)
    scheduler = BlockingScheduler(timezone="UTC")
    scheduled = jobs(settings, build_broker(settings), client)
    for job in scheduled:
        scheduler.add_job(
            run_leased,
            "interval",
            args=[client, job],
            seconds=job.interval_seconds,
            id=job.name,
            max_instances=1,
            coalesce=True,
            next_run_time=dt.datetime.now(dt.UTC),
        )
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    _log.info("scheduler_started", jobs=[j.name for j in scheduled])
    scheduler.start()


if __name__ == "__main__":
    main()
