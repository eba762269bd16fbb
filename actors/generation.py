"""Slot generation: a requested job, and the scheduler's rolling horizon."""

import dataclasses
import datetime as dt
import uuid

import structlog
from dramatiq.middleware import CurrentMessage

from common.metrics import SLOTS_GENERATED
from common.settings import get_settings
from db import catalog, jobs, waitlist
from db.generation import reconcile
from workers.broker import MAX_RETRIES
from workers.context import current_request_id
from workers.resources import resources
from workers.tasks import GENERATE_SLOTS, ROLL_GENERATION, declare

_log = structlog.get_logger("actors.generation")


async def _set_job(job_id: str, status: str, result: dict | None, error: str | None) -> None:
    async with resources().engine.begin() as conn:
        await jobs.set_status(conn, uuid.UUID(job_id), status, result, error)


async def _generate(location_id: str, person_id: str | None, first: str, last: str) -> dict:
    """Reconciles the range; new slots and capacity go to the waitlists at once."""
    location, first_day, last_day = (
        uuid.UUID(location_id),
        dt.date.fromisoformat(first),
        dt.date.fromisoformat(last),
    )
    async with resources().engine.begin() as conn:
        result = await reconcile(
            conn, location, uuid.UUID(person_id) if person_id else None, first_day, last_day
        )
        await waitlist.offer_room(
            conn,
            get_settings().hold_ttl_seconds,
            current_request_id(),
            location_id=location,
            first=first_day,
            last=last_day,
        )
    SLOTS_GENERATED.inc(result.created)
    return dataclasses.asdict(result)


@declare(GENERATE_SLOTS, max_retries=MAX_RETRIES, time_limit=600_000)
async def generate_slots(
    job_id: str, location_id: str, person_id: str | None, first: str, last: str
):
    await _set_job(job_id, "running", None, None)
    try:
        result = await _generate(location_id, person_id, first, last)
    except BaseException as exc:  # a time limit cancels the coroutine: that fails the job too
        _log.exception("generation_failed", job_id=job_id)
        if _last_attempt():
            await _set_job(job_id, "failed", None, _describe(exc))
        raise
    await _set_job(job_id, "succeeded", result, None)
    _log.info("generation_succeeded", job_id=job_id, **result)


def _last_attempt() -> bool:
    """Whether Dramatiq's Retries gives up on this message if it fails now."""
    message = CurrentMessage.get_current_message()
    if message is None:  # called outside a worker: nothing retries it
        return True
    return message.options.get("retries", 0) >= MAX_RETRIES


def _describe(error: Exception) -> str:
    first_line = str(error).strip().split("\n", 1)[0]
    return f"{type(error).__name__}: {first_line}"[:500] if first_line else type(error).__name__


@declare(ROLL_GENERATION, max_retries=MAX_RETRIES, time_limit=600_000)
async def roll_generation() -> None:
    """Keeps every location generated from today to the configured horizon."""
    horizon = get_settings().generation_horizon_days
    async with resources().engine.connect() as conn:
        ids = [str(i) for i in await catalog.location_ids(conn)]
    today = dt.datetime.now(dt.UTC).date()
    last = today + dt.timedelta(days=horizon)
    for location_id in ids:
        result = await _generate(location_id, None, today.isoformat(), last.isoformat())
        _log.info("rolling_generation", location_id=location_id, **result)
