"""Staff accounts over HTTP (admins only): created, listed, changed; their tokens follow.

Tokens already issued for an account stop within 5 s when it is deactivated, loses a
role or gets a new password, and take a new location scope within the same time.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from tests.support.api import Api, Response, token
from tests.support.lifecycle import ADMIN, created
from web.pagination import encode_cursor

PASSWORD = "correct horse battery"
WITHIN_SECONDS = 5


async def _account(api: Api, email: str = "desk@example.org", **body: object) -> dict:
    payload = {"email": email, "password": PASSWORD, "roles": ["frontdesk"], **body}
    return (await created(api, "/admin/v1/staff", payload))["staff"]


async def _login(api: Api, email: str = "desk@example.org", password: str = PASSWORD) -> str:
    response = await api.post("/auth/token", json={"email": email, "password": password})
    assert response.status == 200, response.json
    return response.json["access_token"]


async def _location(api: Api, name: str = "Clinic") -> str:
    return (await created(api, "/admin/v1/locations", {"name": name}))["location"]["id"]


async def _within_seconds(
    ask: Callable[[], Awaitable[Response]], done: Callable[[Response], bool]
) -> Response:
    deadline = time.monotonic() + WITHIN_SECONDS
    while not done(response := await ask()):
        assert time.monotonic() < deadline, f"still {response.status} {response.json}"
        await asyncio.sleep(0.1)
    return response


async def test_an_account_is_created_without_showing_its_password(
    api: Api, db: asyncpg.Connection
) -> None:
    response = await api.post(
        "/admin/v1/staff",
        token=ADMIN,
        json={"email": " Desk@Example.org ", "password": PASSWORD, "roles": ["frontdesk"]},
    )
    assert response.status == 201, response.json
    staff = response.json["staff"]
    assert set(staff) == {"id", "email", "roles", "location_ids", "active"}
    assert staff["email"] == "desk@example.org"
    assert (staff["roles"], staff["location_ids"], staff["active"]) == (["frontdesk"], None, True)
    assert PASSWORD not in str(response.json)
    stored = await db.fetchval("SELECT password_hash FROM staff_accounts")
    assert stored.startswith("$argon2id$")
    assert stored not in str(response.json)
    assert await _login(api)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "eleven char"}, "password"),
        ({"email": "not an email"}, "email"),
        ({"roles": []}, "roles"),
        ({"roles": ["user"]}, "roles.0"),
        ({"location_ids": []}, "location_ids"),
        ({"location_ids": [str(uuid.uuid4())]}, "location_ids"),
    ],
)
async def test_a_bad_account_is_422_naming_the_field_and_creates_nothing(
    api: Api, db: asyncpg.Connection, body: dict, field: str
) -> None:
    payload = {"email": "desk@example.org", "password": PASSWORD, "roles": ["frontdesk"], **body}
    response = await api.post("/admin/v1/staff", token=ADMIN, json=payload)
    assert (response.status, response.code) == (422, "VALIDATION_ERROR")
    assert [f["field"] for f in response.json["error"]["details"]["fields"]] == [field]
    assert await db.fetchval("SELECT count(*) FROM staff_accounts") == 0


async def test_a_taken_email_is_409_and_the_first_account_is_unchanged(
    api: Api, db: asyncpg.Connection
) -> None:
    first = await _account(api)
    before = await db.fetchrow("SELECT * FROM staff_accounts")
    again = await api.post(
        "/admin/v1/staff",
        token=ADMIN,
        json={"email": "DESK@example.org", "password": "another password", "roles": ["admin"]},
    )
    assert (again.status, again.code) == (409, "EMAIL_TAKEN")
    assert await db.fetchrow("SELECT * FROM staff_accounts") == before
    assert before["id"] == uuid.UUID(first["id"])


async def test_accounts_are_listed_a_page_at_a_time(api: Api) -> None:
    made = {(await _account(api, f"desk{n}@example.org"))["id"] for n in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await api.get("/admin/v1/staff", token=ADMIN, params=params)
        assert page.status == 200
        seen += [item["id"] for item in page.json["items"]]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == made
    staff_cursor = encode_cursor("staff", [seen[0]])
    foreign = await api.get("/admin/v1/people", token=ADMIN, params={"cursor": staff_cursor})
    assert foreign.status == 400


async def test_a_patch_changes_only_what_it_names(api: Api, db: asyncpg.Connection) -> None:
    account = await _account(api)
    path = f"/admin/v1/staff/{account['id']}"
    hashed = await db.fetchval("SELECT password_hash FROM staff_accounts")
    promoted = await api.patch(path, token=ADMIN, json={"roles": ["manager", "frontdesk"]})
    assert promoted.status == 200, promoted.json
    assert promoted.json["staff"] == {**account, "roles": ["frontdesk", "manager"]}
    assert await db.fetchval("SELECT password_hash FROM staff_accounts") == hashed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "short"}, "password"),
        ({"roles": None}, "roles"),
        ({"active": None}, "active"),
        ({"location_ids": []}, "location_ids"),
        ({"email": "new@example.org"}, "email"),
    ],
)
async def test_a_bad_patch_is_422_naming_the_field_and_changes_nothing(
    api: Api, db: asyncpg.Connection, body: dict, field: str
) -> None:
    account = await _account(api)
    before = await db.fetchrow("SELECT * FROM staff_accounts")
    response = await api.patch(
        f"/admin/v1/staff/{account['id']}", token=ADMIN, json={"active": False, **body}
    )
    assert (response.status, response.code) == (422, "VALIDATION_ERROR")
    assert [f["field"] for f in response.json["error"]["details"]["fields"]] == [field]
    assert await db.fetchrow("SELECT * FROM staff_accounts") == before


async def test_patching_an_unknown_account_is_404(api: Api) -> None:
    for missing in (str(uuid.uuid4()), "nope"):
        response = await api.patch(f"/admin/v1/staff/{missing}", token=ADMIN, json={})
        assert (response.status, response.code) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    "change",
    [{"active": False}, {"roles": ["scheduler"]}, {"password": "a brand new password"}],
    ids=["deactivated", "role removed", "password changed"],
)
async def test_an_accounts_tokens_stop_within_5_s_of_the_change(api: Api, change: dict) -> None:
    account = await _account(api)
    bearer = await _login(api)
    assert (await api.get("/admin/v1/locations", token=bearer)).status == 200
    changed = await api.patch(f"/admin/v1/staff/{account['id']}", token=ADMIN, json=change)
    assert changed.status == 200, changed.json
    refused = await _within_seconds(
        lambda: api.get("/admin/v1/locations", token=bearer), lambda r: r.status != 200
    )
    assert (refused.status, refused.code) == (401, "UNAUTHENTICATED")


async def test_a_new_password_signs_in_and_the_old_one_does_not(api: Api) -> None:
    account = await _account(api)
    new = "a brand new password"
    await api.patch(f"/admin/v1/staff/{account['id']}", token=ADMIN, json={"password": new})
    assert await _login(api, password=new)
    old = await api.post("/auth/token", json={"email": "desk@example.org", "password": PASSWORD})
    assert old.status == 401


async def test_a_new_location_scope_reaches_issued_tokens_within_5_s(api: Api) -> None:
    dubai, new_york = await _location(api, "Dubai"), await _location(api, "New York")
    account = await _account(api)
    bearer = await _login(api)

    def names(response: Response) -> list[str]:
        return sorted(item["id"] for item in response.json["items"])

    assert names(await api.get("/admin/v1/locations", token=bearer)) == sorted([dubai, new_york])
    path = f"/admin/v1/staff/{account['id']}"
    scoped = await api.patch(path, token=ADMIN, json={"location_ids": [dubai]})
    assert scoped.json["staff"]["location_ids"] == [dubai]
    await _within_seconds(
        lambda: api.get("/admin/v1/locations", token=bearer), lambda r: names(r) == [dubai]
    )
    people = await api.get("/admin/v1/people", token=bearer, params={"location_id": new_york})
    assert (people.status, people.code) == (404, "NOT_FOUND")
    widened = await api.patch(path, token=ADMIN, json={"location_ids": None})
    assert widened.json["staff"]["location_ids"] is None
    await _within_seconds(
        lambda: api.get("/admin/v1/locations", token=bearer), lambda r: len(names(r)) == 2
    )


async def test_a_scoped_admin_manages_only_accounts_within_its_locations(api: Api) -> None:
    dubai, new_york = await _location(api, "Dubai"), await _location(api, "New York")
    mine = await _account(api, "mine@example.org", location_ids=[dubai])
    theirs = await _account(api, "theirs@example.org", location_ids=[new_york])
    everywhere = await _account(api, "all@example.org")
    scoped = token(["admin"], extra={"location_ids": [dubai]})
    listed = await api.get("/admin/v1/staff", token=scoped)
    assert [item["id"] for item in listed.json["items"]] == [mine["id"]]
    for other in (theirs, everywhere):
        hidden = await api.patch(f"/admin/v1/staff/{other['id']}", token=scoped, json={})
        assert hidden.status == 404
    body = {"email": "new@example.org", "password": PASSWORD, "roles": ["admin"]}
    unscoped = await api.post("/admin/v1/staff", token=scoped, json=body)
    assert (unscoped.status, unscoped.code) == (403, "FORBIDDEN")
    elsewhere = await api.post(
        "/admin/v1/staff", token=scoped, json={**body, "location_ids": [new_york]}
    )
    assert (elsewhere.status, elsewhere.code) == (404, "NOT_FOUND")
    widen = await api.patch(
        f"/admin/v1/staff/{mine['id']}", token=scoped, json={"location_ids": None}
    )
    assert (widen.status, widen.code) == (403, "FORBIDDEN")
    made = await api.post("/admin/v1/staff", token=scoped, json={**body, "location_ids": [dubai]})
    assert made.status == 201


@pytest.mark.parametrize("role", ["manager", "scheduler", "frontdesk", "user"])
async def test_only_admins_manage_staff_or_read_the_audit_log(api: Api, role: str) -> None:
    account = await _account(api)
    bearer = token([role])
    body = {"email": "x@example.org", "password": PASSWORD, "roles": ["frontdesk"]}
    answers = [
        await api.post("/admin/v1/staff", token=bearer, json=body),
        await api.get("/admin/v1/staff", token=bearer),
        await api.patch(f"/admin/v1/staff/{account['id']}", token=bearer, json={"active": False}),
        await api.get("/admin/v1/audit", token=bearer),
    ]
    assert [(a.status, a.code) for a in answers] == [(403, "FORBIDDEN")] * 4


async def test_staff_changes_are_audited_without_the_password(api: Api) -> None:
    actor = token(["admin"], subject="root-1")
    body = {"email": "desk@example.org", "password": PASSWORD, "roles": ["frontdesk"]}
    account = (await created(api, "/admin/v1/staff", body, actor))["staff"]
    new = {"password": "a brand new password", "active": False}
    await api.patch(f"/admin/v1/staff/{account['id']}", token=actor, json=new)
    trail = await api.get(
        "/admin/v1/audit", token=ADMIN, params={"actor": "root-1", "target_type": "staff"}
    )
    entries = trail.json["items"]
    assert [(e["action"], e["target_id"]) for e in entries] == [
        ("staff.updated", account["id"]),
        ("staff.created", account["id"]),
    ]
    assert entries[0]["details"] == {"changed": {"active": False}, "password_changed": True}
    assert PASSWORD not in str(entries) and "brand new" not in str(entries)
