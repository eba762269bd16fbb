"""Replies that carry customer data or tokens tell every cache not to keep them."""

import uuid

import asyncpg
import dramatiq
import pytest

from tests.support import rows
from tests.support.api import Api, token
from tests.support.exposure import expose

ADMIN = token(["admin"])


async def test_a_booking_reply_is_not_stored_by_caches(
    api: Api, db: asyncpg.Connection, worker: dramatiq.Worker
) -> None:
    slot = await rows.slot(db, await rows.location(db))
    customer = {"name": "Ann", "phone": "+971501234567", "email": "ann@example.org"}
    body = {"slot_id": str(slot), "customer": customer}
    visitor = token(["user"])
    await expose(api, db, visitor, slot)
    held = await api.post("/v1/bookings", token=visitor, json=body)
    assert held.status == 201
    assert held.headers["Cache-Control"] == "no-store"


async def test_a_session_token_reply_is_not_stored_by_caches(api: Api) -> None:
    response = await api.post("/v1/sessions")
    assert response.status == 201
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_staff_booking_list_is_not_stored_by_caches(api: Api) -> None:
    response = await api.get("/admin/v1/bookings", token=ADMIN)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/auth/token"),
        ("GET", f"/v1/bookings/{uuid.uuid4()}"),
        ("GET", "/v1/nowhere"),
    ],
)
async def test_an_error_reply_is_not_stored_by_caches(api: Api, method: str, path: str) -> None:
    body = {"email": "nobody@example.org", "password": "wrong"} if method == "POST" else None
    response = await api.request(method, path, token=ADMIN, json=body)
    assert response.status >= 400
    assert response.headers["Cache-Control"] == "no-store"


async def test_head_answers_what_get_answers_without_a_body(api: Api) -> None:
    bearer = {"Authorization": f"Bearer {ADMIN}"}
    got = await api.client.get("/admin/v1/locations", headers=bearer)
    head = await api.client.head("/admin/v1/locations", headers=bearer)
    assert (head.status, head.headers["Content-Type"]) == (got.status, got.headers["Content-Type"])
    assert head.headers["Content-Length"] == got.headers["Content-Length"]
    assert await head.read() == b""
