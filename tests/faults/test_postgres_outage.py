"""Postgres unreachable for a few seconds: clients get 503 UNAVAILABLE, never a 500, and the
platform recovers by itself once Postgres is back."""

import time
import uuid

import requests

from tests.faults.conftest import OwnPostgres
from tests.support.api import token
from tests.support.platform import Platform

OUTAGE_SECONDS = 3


def _create_location(platform: Platform, staff: str) -> requests.Response:
    return requests.post(
        f"{platform.base_url}/admin/v1/locations",
        json={"name": "Clinic"},
        headers={"Authorization": f"Bearer {staff}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )


def test_postgres_outage_gives_503_then_recovers(
    own_postgres: OwnPostgres, platform: Platform
) -> None:
    platform.env["DATABASE_URL"] = own_postgres.url
    platform.start("web")
    staff = token(["admin"])
    assert _create_location(platform, staff).status_code == 201

    own_postgres.stop()
    statuses: list[int] = []
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < outage_ends:
        listed = requests.get(
            f"{platform.base_url}/admin/v1/locations",
            headers={"Authorization": f"Bearer {staff}"},
            timeout=10,
        )
        created = _create_location(platform, staff)
        ready = requests.get(f"{platform.base_url}/readyz", timeout=10)
        for response in (listed, created, ready):
            statuses.append(response.status_code)
            assert response.status_code == 503, response.text
        assert listed.json()["error"]["code"] == "UNAVAILABLE"
        assert created.json()["error"]["code"] == "UNAVAILABLE"
    assert statuses

    own_postgres.start()
    deadline = time.monotonic() + 15
    while _create_location(platform, staff).status_code != 201:
        assert time.monotonic() < deadline, "the platform did not recover by itself"
        time.sleep(0.1)
    assert requests.get(f"{platform.base_url}/readyz", timeout=10).status_code == 200
