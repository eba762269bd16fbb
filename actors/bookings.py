"""Confirm, cancel and reschedule, applied by a worker and answered to the waiting request."""

from datetime import datetime

import dramatiq

from common import keys, replies
from common.metrics import BOOKING_OUTCOMES, HOLD_TO_CONFIRM
from db.bookings import Change, apply_change
from domain.errors import ApiError
from workers.broker import MAX_RETRIES
from workers.resources import resources


@dramatiq.actor(queue_name="holds", max_retries=MAX_RETRIES)
async def change_booking(command_id: str, change: dict, reply_to: str) -> None:
    found = resources()
    request = Change(**change)
    try:
        async with found.engine.begin() as conn:
            body = await apply_change(conn, request, found.pii)
        status = 200
        BOOKING_OUTCOMES.labels(_past_tense(request.kind)).inc()
        if request.kind == "confirm":
            _record_hold_to_confirm(body)
    except ApiError as error:
        status, body = error.status, error.envelope(request.request_id)
    async with found.redis.pipeline(transaction=False) as pipe:
        pipe.publish(reply_to, replies.encode(command_id, status, body))
        if status == 200 and request.kind in ("cancel", "reschedule"):
            pipe.delete(keys.hold(request.booking_id))
        if status == 200 and request.kind == "cancel":
            pipe.delete(keys.admission(body["booking"]["slot_id"]))
        await pipe.execute()


def _past_tense(kind: str) -> str:
    return {"confirm": "confirmed", "cancel": "cancelled", "reschedule": "rescheduled"}[kind]


def _record_hold_to_confirm(body: dict) -> None:
    booking = body["booking"]
    created = datetime.fromisoformat(booking["created_at"])
    confirmed = datetime.fromisoformat(booking["confirmed_at"])
    HOLD_TO_CONFIRM.observe((confirmed - created).total_seconds() * 1000)
