"""Registering webhooks (contract §9): the secret shown once, URLs kept off private
addresses, known event types only, the role matrix."""

import uuid

import asyncpg
import pytest

from tests.support.api import Api, token

PUBLIC_URL = "https://93.184.216.34/hooks/scheduler"
"""A public address written as such: checking it needs no DNS, which tests do not have."""


def _body(url: str = PUBLIC_URL, **extra: object) -> dict:
    return {"url": url, "events": ["booking.confirmed", "booking.cancelled"], **extra}


@pytest.fixture
def admin() -> str:
    return token(["admin"])


async def test_the_secret_is_shown_only_when_registering(
    api: Api, admin: str, db: asyncpg.Connection
) -> None:
    created = await api.post("/admin/v1/webhooks", token=admin, json=_body())
    assert created.status == 201, created.json
    webhook = created.json["webhook"]
    assert webhook["secret"].startswith("whsec_")
    assert webhook["events"] == ["booking.cancelled", "booking.confirmed"]
    assert webhook["active"] is True
    assert webhook["include_customer"] is False

    one = await api.get(f"/admin/v1/webhooks/{webhook['id']}", token=admin)
    listed = await api.get("/admin/v1/webhooks", token=admin)
    assert "secret" not in one.json["webhook"]
    assert [w["id"] for w in listed.json["items"]] == [webhook["id"]]
    assert "secret" not in listed.json["items"][0]
    stored = await db.fetchval("SELECT secret FROM webhooks")
    assert webhook["secret"] not in stored


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "https://localhost/hook",
        "http://93.184.216.34/hook",
        "ftp://93.184.216.34/hook",
        "https://user:pass@93.184.216.34/hook",
        "not a url",
        "https://" + "a" * 64 + ".example.org/hook",
        "https://a..example.org/hook",
    ],
)
async def test_a_url_we_may_not_call_is_422_and_stores_nothing(
    api: Api, admin: str, db: asyncpg.Connection, url: str
) -> None:
    refused = await api.post("/admin/v1/webhooks", token=admin, json=_body(url))
    assert refused.status == 422, refused.json
    assert refused.json["error"]["details"]["fields"][0]["field"] == "url"
    assert await db.fetchval("SELECT count(*) FROM webhooks") == 0


@pytest.mark.parametrize(
    "events", [["booking.confirmed", "booking.teleported"], ["*"], [], ["Booking.Confirmed"]]
)
async def test_an_unknown_event_type_is_422(api: Api, admin: str, events: list[str]) -> None:
    refused = await api.post(
        "/admin/v1/webhooks", token=admin, json={"url": PUBLIC_URL, "events": events}
    )
    assert refused.status == 422, refused.json
    assert refused.json["error"]["details"]["fields"][0]["field"] == "events"


async def test_every_event_type_can_be_subscribed(api: Api, admin: str) -> None:
    types = [
        "booking.created",
        "booking.confirmed",
        "booking.cancelled",
        "booking.expired",
        "booking.rescheduled",
        "booking.reminder",
        "waitlist.offered",
    ]
    created = await api.post(
        "/admin/v1/webhooks", token=admin, json={"url": PUBLIC_URL, "events": types}
    )
    assert created.status == 201, created.json
    assert created.json["webhook"]["events"] == sorted(types)


@pytest.mark.parametrize(
    ("role", "status"), [("manager", 201), ("scheduler", 403), ("frontdesk", 403), ("user", 403)]
)
async def test_admins_and_managers_register_webhooks(api: Api, role: str, status: int) -> None:
    answer = await api.post("/admin/v1/webhooks", token=token([role]), json=_body())
    assert answer.status == status


async def test_a_token_limited_to_some_locations_may_not_touch_webhooks(
    api: Api, db: asyncpg.Connection, admin: str
) -> None:
    """Webhooks carry every location's events, so a scoped caller would see others'."""
    existing = await api.post("/admin/v1/webhooks", token=admin, json=_body())
    scoped = token(["admin"], extra={"location_ids": [str(uuid.uuid4())]})
    webhook = f"/admin/v1/webhooks/{existing.json['webhook']['id']}"
    answers = [
        (await api.post("/admin/v1/webhooks", token=scoped, json=_body())).status,
        (await api.get("/admin/v1/webhooks", token=scoped)).status,
        (await api.get(webhook, token=scoped)).status,
        (await api.request("DELETE", webhook, token=scoped)).status,
    ]
    assert answers == [403, 403, 403, 403]
    assert await db.fetchval("SELECT count(*) FROM webhooks") == 1


async def test_a_change_is_checked_like_a_registration(
    api: Api, admin: str, db: asyncpg.Connection
) -> None:
    created = await api.post("/admin/v1/webhooks", token=admin, json=_body())
    path = f"/admin/v1/webhooks/{created.json['webhook']['id']}"
    refused = await api.patch(path, token=admin, json={"url": "https://10.0.0.1/x"})
    changed = await api.patch(
        path, token=admin, json={"events": ["booking.reminder"], "active": False}
    )
    assert refused.status == 422
    assert changed.status == 200, changed.json
    assert changed.json["webhook"]["events"] == ["booking.reminder"]
    assert changed.json["webhook"]["active"] is False
    assert changed.json["webhook"]["url"] == PUBLIC_URL


async def test_a_removed_webhook_is_gone_with_its_log(api: Api, admin: str) -> None:
    created = await api.post("/admin/v1/webhooks", token=admin, json=_body())
    path = f"/admin/v1/webhooks/{created.json['webhook']['id']}"
    removed = await api.request("DELETE", path, token=admin)
    assert removed.status == 200
    assert (await api.get(path, token=admin)).status == 404
    assert (await api.get(f"{path}/deliveries", token=admin)).status == 404
    assert (await api.request("DELETE", path, token=admin)).status == 404


async def test_unknown_webhooks_and_deliveries_are_404(api: Api, admin: str) -> None:
    created = await api.post("/admin/v1/webhooks", token=admin, json=_body())
    path = f"/admin/v1/webhooks/{created.json['webhook']['id']}"
    answers = [
        await api.get(f"/admin/v1/webhooks/{uuid.uuid4()}", token=admin),
        await api.get("/admin/v1/webhooks/not-an-id", token=admin),
        await api.post(f"{path}/deliveries/{uuid.uuid4()}/retry", token=admin),
        await api.patch(f"/admin/v1/webhooks/{uuid.uuid4()}", token=admin, json={"active": True}),
    ]
    assert [a.status for a in answers] == [404] * 4
