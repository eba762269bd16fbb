"""A person's calendar feed: staff tokens, or a revocable feed token for calendar apps."""

import datetime as dt
import uuid
from urllib.parse import urlsplit

import asyncpg
import dramatiq
import icalendar
import pytest

from common.settings import ExposureVariant, Settings
from tests.support import rows
from tests.support.api import Api, token
from tests.support.exposure import expose

SHOW_ALL = "show-all"
"""An exposure variant showing a person's every slot: these tests book several of them."""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    wide = ExposureVariant(person_min=10, person_max=10, fairness=False)
    return settings.model_copy(
        update={"exposure_variants": {**settings.exposure_variants, SHOW_ALL: wide}}
    )


@pytest.fixture
async def person(db: asyncpg.Connection) -> uuid.UUID:
    return await rows.person(db, await rows.location(db))


async def _book(
    api: Api, db: asyncpg.Connection, slot: uuid.UUID, confirm: bool = False, cancel: bool = False
) -> str:
    """A visitor's booking of the slot, after `GET /v1/slots` showed it (contract §10)."""
    visitor = token(["user"])
    await expose(api, db, visitor, slot, person=True, variant=SHOW_ALL)
    body = {"slot_id": str(slot), "customer": {"name": "Ann Lee", "phone": "+971501234567"}}
    held = await api.post("/v1/bookings", token=visitor, json=body)
    assert held.status == 201, held.json
    booking_id = held.json["booking"]["id"]
    for action, wanted in (("confirm", confirm), ("cancel", cancel)):
        if wanted:
            done = await api.post(f"/v1/bookings/{booking_id}/{action}", token=visitor)
            assert done.status == 200, done.json
    return booking_id


async def _feed(api: Api, path: str, **kwargs: object) -> tuple[int, str, str]:
    response = await api.client.get(path, **kwargs)
    return response.status, response.content_type, await response.text()


async def test_staff_read_the_persons_live_bookings_as_a_calendar(
    api: Api, worker: dramatiq.Worker, db: asyncpg.Connection, person: uuid.UUID
) -> None:
    location = await db.fetchval("SELECT location_id FROM people WHERE id = $1", person)
    slots = [
        await rows.slot(db, location, person_id=person, start=rows.SOON + dt.timedelta(hours=n))
        for n in range(3)
    ]
    held = await _book(api, db, slots[0])
    confirmed = await _book(api, db, slots[1], confirm=True)
    await _book(api, db, slots[2], cancel=True)
    other = await rows.person(db, location)
    await _book(api, db, await rows.slot(db, location, person_id=other))

    path = f"/admin/v1/people/{person}/calendar.ics"
    status, content_type, text = await _feed(
        api, path, headers={"Authorization": f"Bearer {token(['scheduler'])}"}
    )
    assert (status, content_type) == (200, "text/calendar")
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(text).walk("VEVENT")}
    assert set(events) == {held, confirmed}
    assert str(events[confirmed]["STATUS"]) == "CONFIRMED"
    assert str(events[held]["STATUS"]) == "TENTATIVE"
    assert events[confirmed].decoded("DTSTART") == rows.SOON + dt.timedelta(hours=1)
    assert "+971" not in text


async def test_without_a_staff_token_or_a_feed_token_the_feed_is_closed(
    api: Api, person: uuid.UUID
) -> None:
    path = f"/admin/v1/people/{person}/calendar.ics"
    answers = [
        (await api.get(path)).status,
        (await api.get(path, token=token(["user"]))).status,
        (await api.get(path, params={"token": "forged"})).status,
        (
            await api.get(f"/admin/v1/people/{uuid.uuid4()}/calendar.ics", token=token(["admin"]))
        ).status,
    ]
    assert answers == [401, 403, 404, 404]


async def test_a_feed_token_opens_the_feed_until_revoked(
    api: Api, db: asyncpg.Connection, person: uuid.UUID
) -> None:
    minted = await api.post(f"/admin/v1/people/{person}/calendar-feed", token=token(["manager"]))
    assert minted.status == 201, minted.json
    url = urlsplit(minted.json["feed"]["url"])
    assert url.path == f"/admin/v1/people/{person}/calendar.ics"
    feed_token = url.query.removeprefix("token=")
    assert len(feed_token) >= 22
    assert feed_token not in str(await db.fetchval("SELECT token_hash FROM calendar_feeds"))

    path = f"/admin/v1/people/{person}/calendar.ics"
    opened = await _feed(api, path, params={"token": feed_token})
    other = await rows.person(db, await rows.location(db))
    elsewhere = await api.get(
        f"/admin/v1/people/{other}/calendar.ics", params={"token": feed_token}
    )
    revoked = await api.request(
        "DELETE", f"/admin/v1/people/{person}/calendar-feed", token=token(["admin"])
    )
    after = await api.get(path, params={"token": feed_token})
    assert opened[0] == 200
    assert elsewhere.status == 404
    assert revoked.status == 200
    assert after.status == 404


async def test_a_new_feed_token_ends_the_old_one(api: Api, person: uuid.UUID) -> None:
    admin = token(["admin"])
    first = await api.post(f"/admin/v1/people/{person}/calendar-feed", token=admin)
    second = await api.post(f"/admin/v1/people/{person}/calendar-feed", token=admin)
    path = f"/admin/v1/people/{person}/calendar.ics"
    old = urlsplit(first.json["feed"]["url"]).query.removeprefix("token=")
    new = urlsplit(second.json["feed"]["url"]).query.removeprefix("token=")
    assert (await api.get(path, params={"token": old})).status == 404
    assert (await _feed(api, path, params={"token": new}))[0] == 200


async def test_only_admins_and_managers_mint_feeds(api: Api, person: uuid.UUID) -> None:
    refused = [
        (await api.post(f"/admin/v1/people/{person}/calendar-feed", token=token([role]))).status
        for role in ("scheduler", "frontdesk", "user")
    ]
    missing = await api.post(
        f"/admin/v1/people/{uuid.uuid4()}/calendar-feed", token=token(["admin"])
    )
    assert refused == [403, 403, 403]
    assert missing.status == 404


async def test_a_token_limited_to_other_locations_finds_no_feed(
    api: Api, db: asyncpg.Connection, person: uuid.UUID
) -> None:
    elsewhere = str(await rows.location(db))
    scoped = token(["admin"], extra={"location_ids": [elsewhere]})
    answers = [
        (await api.get(f"/admin/v1/people/{person}/calendar.ics", token=scoped)).status,
        (await api.post(f"/admin/v1/people/{person}/calendar-feed", token=scoped)).status,
        (
            await api.request("DELETE", f"/admin/v1/people/{person}/calendar-feed", token=scoped)
        ).status,
    ]
    assert answers == [404, 404, 404]
    assert await db.fetchval("SELECT count(*) FROM calendar_feeds") == 0
