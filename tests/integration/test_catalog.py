"""Locations and people: creation, validation, the role matrix, pagination."""

import pytest

from tests.support.api import Api, token


async def _location(api: Api, admin_token: str, name: str = "Main", tz: str = "Asia/Dubai") -> dict:
    response = await api.post(
        "/admin/v1/locations", token=admin_token, json={"name": name, "timezone": tz}
    )
    assert response.status == 201, response.json
    return response.json["location"]


async def test_create_location_returns_it_with_a_uuid7_id(api: Api, admin_token: str) -> None:
    location = await _location(api, admin_token, "Clinic", "Europe/London")
    assert location["name"] == "Clinic"
    assert location["timezone"] == "Europe/London"
    assert location["id"][14] == "7"


async def test_location_timezone_defaults_to_dubai(api: Api, admin_token: str) -> None:
    response = await api.post("/admin/v1/locations", token=admin_token, json={"name": "A"})
    assert response.json["location"]["timezone"] == "Asia/Dubai"


@pytest.mark.parametrize(
    "tz",
    ["Mars/Olympus", "+04:00", "", "../../etc/passwd", "localtime", "Factory", "right/Asia/Dubai"],
)
async def test_location_with_non_iana_timezone_is_422(api: Api, admin_token: str, tz: str) -> None:
    response = await api.post(
        "/admin/v1/locations", token=admin_token, json={"name": "A", "timezone": tz}
    )
    assert response.status == 422
    assert response.code == "VALIDATION_ERROR"
    assert response.json["error"]["details"]["fields"][0]["field"] == "timezone"


async def test_rejected_location_creates_nothing(api: Api, admin_token: str) -> None:
    await api.post("/admin/v1/locations", token=admin_token, json={"name": "", "timezone": "UTC"})
    listed = await api.get("/admin/v1/locations", token=admin_token)
    assert listed.json["items"] == []


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 201), ("manager", 201), ("scheduler", 403), ("frontdesk", 403), ("user", 403)],
)
async def test_role_matrix_for_creating_locations(api: Api, role: str, status: int) -> None:
    response = await api.post("/admin/v1/locations", token=token([role]), json={"name": "A"})
    assert response.status == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("manager", 200), ("scheduler", 200), ("frontdesk", 200), ("user", 403)],
)
async def test_role_matrix_for_listing_locations_and_people(api: Api, role: str, status: int):
    assert (await api.get("/admin/v1/locations", token=token([role]))).status == status
    assert (await api.get("/admin/v1/people", token=token([role]))).status == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 201), ("manager", 201), ("scheduler", 403), ("frontdesk", 403), ("user", 403)],
)
async def test_role_matrix_for_creating_people(api: Api, admin_token: str, role: str, status: int):
    location = await _location(api, admin_token)
    response = await api.post(
        "/admin/v1/people", token=token([role]), json={"location_id": location["id"], "name": "P"}
    )
    assert response.status == status


async def test_person_at_unknown_location_is_422(api: Api, admin_token: str) -> None:
    response = await api.post(
        "/admin/v1/people",
        token=admin_token,
        json={"location_id": "0195f3a2-1234-7abc-8def-123456789012", "name": "P"},
    )
    assert response.status == 422
    assert response.json["error"]["details"]["fields"][0]["field"] == "location_id"


async def test_people_filter_by_location_skill_and_active(api: Api, admin_token: str) -> None:
    a = await _location(api, admin_token, "A")
    b = await _location(api, admin_token, "B")
    people = [
        {"location_id": a["id"], "name": "Ann", "skills": ["xray"]},
        {"location_id": a["id"], "name": "Bob", "skills": ["blood"], "active": False},
        {"location_id": b["id"], "name": "Cy", "skills": ["xray"]},
    ]
    for person in people:
        assert (await api.post("/admin/v1/people", token=admin_token, json=person)).status == 201

    async def names(**params: str) -> list[str]:
        response = await api.get("/admin/v1/people", token=admin_token, params=params)
        return sorted(p["name"] for p in response.json["items"])

    assert await names(location_id=a["id"]) == ["Ann", "Bob"]
    assert await names(skill="xray") == ["Ann", "Cy"]
    assert await names(active="false") == ["Bob"]
    assert await names(location_id=a["id"], skill="xray", active="true") == ["Ann"]


async def test_locations_paginate_with_cursor_without_gaps_or_repeats(
    api: Api, admin_token: str
) -> None:
    created = {(await _location(api, admin_token, f"L{i}"))["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        response = await api.get("/admin/v1/locations", token=admin_token, params=params)
        assert response.status == 200
        seen += [item["id"] for item in response.json["items"]]
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
async def test_list_limit_outside_1_to_200_is_422(api: Api, admin_token: str, limit: str) -> None:
    response = await api.get("/admin/v1/locations", token=admin_token, params={"limit": limit})
    assert response.status == 422
    assert response.code == "VALIDATION_ERROR"


async def test_garbage_cursor_is_400(api: Api, admin_token: str) -> None:
    response = await api.get("/admin/v1/locations", token=admin_token, params={"cursor": "zz!"})
    assert response.status == 400
    assert response.code == "BAD_REQUEST"


async def test_unknown_query_parameter_is_400(api: Api, admin_token: str) -> None:
    response = await api.get("/admin/v1/people", token=admin_token, params={"colour": "red"})
    assert response.status == 400
    assert response.code == "BAD_REQUEST"
