"""The audit trail over HTTP: filtered by target and actor, newest first, a page at a time."""

from tests.support.api import Api, token
from tests.support.lifecycle import ADMIN, created
from web.pagination import encode_cursor


async def test_the_trail_is_newest_first_in_gapless_pages(api: Api) -> None:
    actor = token(["admin"], subject="auditor-1")
    made = [
        (await created(api, "/admin/v1/locations", {"name": f"L{n}"}, actor))["location"]["id"]
        for n in range(5)
    ]
    seen: list[dict] = []
    cursor = None
    while True:
        params = {"limit": "2", "actor": "auditor-1", **({"cursor": cursor} if cursor else {})}
        page = await api.get("/admin/v1/audit", token=ADMIN, params=params)
        assert page.status == 200, page.json
        seen += page.json["items"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert [e["target_id"] for e in seen] == made[::-1]
    assert {(e["action"], e["actor"], e["target_type"]) for e in seen} == {
        ("location.created", "auditor-1", "location")
    }
    assert all(e["request_id"] for e in seen)


async def test_filters_match_the_target_exactly(api: Api) -> None:
    location = (await created(api, "/admin/v1/locations", {"name": "A"}))["location"]["id"]
    body = {"location_id": location, "name": "Ann"}
    person = (await created(api, "/admin/v1/people", body))["person"]["id"]

    async def actions(**params: str) -> list[str]:
        response = await api.get("/admin/v1/audit", token=ADMIN, params=params)
        return [e["action"] for e in response.json["items"]]

    assert await actions(target_type="person") == ["person.created"]
    assert await actions(target_id=location) == ["location.created"]
    assert await actions(target_type="location", target_id=person) == []
    assert await actions(actor="nobody") == []


async def test_a_cursor_of_another_list_is_400(api: Api) -> None:
    cursor = encode_cursor("locations", ["0193a5f2-6b1d-7c3e-8f4a-2d9e0b7c5a18"])
    response = await api.get("/admin/v1/audit", token=ADMIN, params={"cursor": cursor})
    assert (response.status, response.code) == (400, "BAD_REQUEST")


async def test_a_scoped_admin_reads_the_trail_of_its_locations_only(api: Api) -> None:
    mine = (await created(api, "/admin/v1/locations", {"name": "Mine"}))["location"]["id"]
    await created(api, "/admin/v1/locations", {"name": "Theirs"})
    await created(
        api,
        "/admin/v1/staff",
        {"email": "a@example.org", "password": "correct horse battery", "roles": ["admin"]},
    )
    scoped = token(["admin"], extra={"location_ids": [mine]})
    trail = await api.get("/admin/v1/audit", token=scoped)
    assert [(e["action"], e["target_id"]) for e in trail.json["items"]] == [
        ("location.created", mine)
    ]
