"""Entry point of the scheduler process: `python -m scheduler_jobs.main`."""

import datetime as dt
import signal

import redis
import structlog
from apscheduler.schedulers.blocking import BlockingScheduler

from common.lifeline import stop_with_supervisor
from common.logging import configure_logging
from common.settings import Settings, get_settings
from scheduler_jobs import events, expiry, generation, lanes
from scheduler_jobs.lease import Lease
from scheduler_jobs.registry import ScheduledJob

_log = structlog.get_logger("scheduler")


def jobs(settings: Settings) -> list[ScheduledJob]:
    return [
        expiry.job(settings),
        lanes.job(settings),
        generation.job(settings),
        events.job(settings),
    ]


def run_leased(client: redis.Redis, job: ScheduledJob) -> None:
    lease = Lease(client, job.name, job.lease_ms)
    if not lease.acquire():
        return
    try:
        job.run()
    except Exception:
        _log.exception("job_failed", job=job.name)
    finally:
        lease.release()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    stop_with_supervisor()
    client = redis.Redis.from_url(settings.redis_url)
    scheduler = BlockingScheduler(timezone="UTC")
    for job in jobs(settings):
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
    _log.info("scheduler_started", jobs=[j.name for j in jobs(settings)])
    scheduler.start()


if __name__ == "__main__":
    main()
