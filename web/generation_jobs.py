"""Generation jobs: recorded in the transaction that asks for them, sent once it commits.

An admin asks for one (`POST /admin/v1/slots/generate`); changing or deleting a rule,
and reactivating a person or location, cause one over the generation horizon (today
in the location's zone to `GENERATION_HORIZON_DAYS` ahead), so that what the rules
imply is true again. Either way the worker runs `generate_slots` (`db/generation.py`),
whose result says what was created, blocked and left in conflict.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from common.ids import new_id
from db import jobs
from domain.localdays import today
from domain.timezones import zone
from web.middlewares import REQUEST_ID
from web.routing import Call
from web.state import BROKER, SETTINGS
from workers.broker import send
from workers.tasks import GENERATE_SLOTS

KIND = "generate_slots"


class JobStarted(BaseModel):
    """A job as its 202 (or the reply of the change that caused it) shows it."""

    id: str
    status: str


@dataclass(frozen=True)
class GenerationJob:
    id: uuid.UUID
    location_id: uuid.UUID
    person_id: uuid.UUID | None
    first: dt.date
    last: dt.date

    def reply(self) -> dict[str, str]:
        return {"id": str(self.id), "status": "queued"}


def over_horizon(
    call: Call, location_id: uuid.UUID, person_id: uuid.UUID | None, zone_name: str
) -> GenerationJob:
    """A job over the generation horizon of the location (or of one of its people)."""
    first = today(zone(zone_name))
    last = first + dt.timedelta(days=call.request.app[SETTINGS].generation_horizon_days)
    return GenerationJob(new_id(), location_id, person_id, first, last)


async def record(
    conn: AsyncConnection, call: Call, job: GenerationJob, cause: dict[str, Any] | None = None
) -> None:
    """Records the queued job in the caller's transaction; `cause` says why, if not asked."""
    params = {
        "location_id": str(job.location_id),
        "person_id": str(job.person_id) if job.person_id else None,
        "from": job.first.isoformat(),
        "to": job.last.isoformat(),
        **(cause or {}),
    }
    await jobs.create(conn, job.id, KIND, params, call.subject, call.request[REQUEST_ID])


def start(call: Call, job: GenerationJob) -> None:
    """Sends the job to the workers; call it after the transaction that recorded it commits."""
    send(
        call.request.app[BROKER],
        GENERATE_SLOTS,
        str(job.id),
        str(job.location_id),
        str(job.person_id) if job.person_id else None,
        job.first.isoformat(),
        job.last.isoformat(),
        request_id=call.request[REQUEST_ID],
    )
