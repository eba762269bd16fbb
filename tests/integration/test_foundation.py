"""Conventions every endpoint shares: request ids, error envelope, body rules, probes."""

from tests.support.api import Api


async def test_healthz_answers_ok(api: Api) -> None:
    response = await api.get("/healthz")
    assert response.status == 200
    assert response.json == {"status": "ok"}


async def test_readyz_reports_postgres_and_redis(api: Api) -> None:
    response = await api.get("/readyz")
    assert response.status == 200
    assert response.json["postgres"] == "ok"
    assert response.json["redis"] == "ok"
    assert response.json["broker"] == "ok"
