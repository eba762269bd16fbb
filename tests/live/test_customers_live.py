"""The customer lifecycle with the real platform's processes: reminders exactly once with
two schedulers and a killed worker, a manage link after the session expired, and
text messages through a provider that first refuses (contract §9)."""

import asyncio
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import asyncpg

from tests.live.client import Client, arrange_slots, eventually, starts
from tests.support import rows
from tests.support.platform import Platform
from tests.support.receiver import Receiver

BOOKINGS = 1000
OFFSETS = (86400, 7200)


async def test_reminders_fire_once_with_two_schedulers_and_a_killed_worker(
    platform: Platform,
) -> None:
    platform.env.update(REMINDER_SCAN_SECONDS="1")
    database = platform.env["DATABASE_URL"]
    conn = await asyncpg.connect(database)
    try:
        await rows.due_reminders(conn, BOOKINGS, OFFSETS)
        # Due over the next few seconds, so the scans before and after the kill share them.
        await conn.execute(
            "UPDATE reminders SET due_at = now() + make_interval(secs => random() * 6)"
        )
        platform.start("worker", "scheduler")
        platform.add("second-scheduler", "scheduler")
        await asyncio.sleep(2.5)
        platform.kill("worker")
        await asyncio.sleep(1)
        platform.restart("worker")

        async def all_sent() -> bool:
            return not await conn.fetchval("SELECT count(*) FROM reminders")

        await eventually(all_sent, 60, "every reminder claimed")
        sent = await conn.fetch(
            "SELECT aggregate_id, (payload->>'offset_seconds')::int AS offset_seconds,"
            " count(*) AS n FROM outbox WHERE event_type = 'booking.reminder' GROUP BY 1, 2"
        )
    finally:
        await conn.close()
    assert len(sent) == BOOKINGS * len(OFFSETS)
    assert {r["n"] for r in sent} == {1}
    assert {r["offset_seconds"] for r in sent} == set(OFFSETS)


async def test_a_manage_link_cancels_after_the_visitor_session_expired(
    platform: Platform,
) -> None:
    # Long enough for a busy machine to show the slot and hold it (a token's expiry is
    # rounded down to the second), short enough to wait out.
    platform.env.update(SESSION_TTL_SECONDS="6")
    (slot,) = await arrange_slots(platform.env["DATABASE_URL"], starts(0))
    platform.start()
    client = Client(platform.base_url)
    session = (await client.call("POST", "/v1/sessions", key=False)).json["session_token"]
    shown = await client.call(
        "GET",
        f"/v1/slots?location_id={await _location_of(platform, slot)}&date={starts(0)[0].date()}"
        "&timezone=UTC",
        bearer=session,
    )
    assert [s["id"] for s in shown.json["slots"]] == [str(slot)]
    body = {"slot_id": str(slot), "customer": {"name": "Ann", "phone": "+971501234567"}}
    held = await client.call("POST", "/v1/bookings", bearer=session, body=body)
    assert held.status == 201, held.json
    booking = held.json["booking"]

    async def session_expired() -> bool:
        found = await client.call("GET", f"/v1/bookings/{booking['id']}", bearer=session)
        return found.status == 401

    await eventually(session_expired, 15, "the session expired")
    cancelled = await client.call("POST", f"/v1/manage/{booking['manage_token']}/cancel")
    assert cancelled.status == 200, cancelled.json
    assert cancelled.json["booking"]["status"] == "cancelled"
    for name in ("web", "worker", "scheduler"):
        assert booking["manage_token"] not in platform.log(name)


async def _location_of(platform: Platform, slot: object) -> str:
    conn = await asyncpg.connect(platform.env["DATABASE_URL"])
    try:
        return str(
            await conn.fetchval("SELECT location_id FROM slot_instances WHERE id = $1", slot)
        )
    finally:
        await conn.close()


def first_attempt_unavailable(headers: Mapping[str, str], body: bytes, before: list) -> int:
    key = json.loads(body)["idempotency_key"]
    return 200 if any(json.loads(r.body)["idempotency_key"] == key for r in before) else 503


async def test_the_sms_provider_gets_one_message_per_reminder_though_it_first_answers_503(
    platform: Platform,
) -> None:
    with Receiver(first_attempt_unavailable) as provider:
        platform.env.update(
            SMS_PROVIDER_URL=provider.url,
            SMS_PROVIDER_KEY="sms-key",
            REMINDER_OFFSETS="7d",  # already passed for slots a few days ahead: due at once
            REMINDER_SCAN_SECONDS="1",
            PUBLIC_BASE_URL="https://book.example",
        )
        slots = await arrange_slots(platform.env["DATABASE_URL"], starts(0, 30, 60))
        platform.start()
        client = Client(platform.base_url)
        confirmed = {}
        for n, slot in enumerate(slots):
            phone = f"+97150123450{n}"
            booking = await client.hold(slot, phone=phone)
            request_id = f"confirm-{n}"
            answer = await client.call(
                "POST", f"/v1/manage/{booking['manage_token']}/confirm", request_id=request_id
            )
            assert answer.status == 200, answer.json
            confirmed[phone] = (booking, request_id)

        def accepted() -> dict[str, list]:
            by_key = defaultdict(list)
            for request in provider.snapshot():
                by_key[json.loads(request.body)["idempotency_key"]].append(request)
            return by_key

        def reminders() -> list[list]:
            return [
                attempts
                for attempts in accepted().values()
                if "a reminder" in json.loads(attempts[0].body)["body"]
            ]

        async def every_reminder_accepted() -> bool:
            return sum(a[-1].status == 200 for a in reminders()) == len(slots)

        await eventually(every_reminder_accepted, 45, "every reminder sent")
        await asyncio.sleep(1)  # a duplicate, were there one, would come now
        sent = reminders()

    assert len(sent) == len(slots)
    dubai = ZoneInfo("Asia/Dubai")
    for attempts in sent:
        assert [a.status for a in attempts] == [503, 200]
        message = json.loads(attempts[0].body)
        assert {json.loads(a.body)["idempotency_key"] for a in attempts} == {
            message["idempotency_key"]
        }
        booking, request_id = confirmed[message["to"]]
        assert attempts[0].headers["Authorization"] == "Bearer sms-key"
        assert attempts[0].headers["X-Request-Id"] == request_id
        local = dt.datetime.fromisoformat(booking["start_at"]).astimezone(dubai)
        assert local.strftime("%H:%M") in message["body"]
        assert f"https://book.example/manage/{booking['manage_token']}" in message["body"]
