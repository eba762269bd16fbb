"""Operator endpoints: metrics, the generated OpenAPI document, the docs page, readiness."""

from tests.support.api import Api, token
from web.app import ROUTES


async def test_metrics_exposes_the_named_metrics(api: Api, admin_token: str) -> None:
    await api.get("/admin/v1/locations", token=admin_token)
    response = await api.client.get("/metrics")
    text = await response.text()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    for kind, name in (
        ("histogram", "exposed_slots_count"),
        ("histogram", "hold_to_confirm_ms"),
        ("counter", "booking_outcomes_total"),
        ("counter", "slot_conflicts_total"),
        ("counter", "http_requests_total"),
        ("histogram", "http_request_duration_seconds"),
        ("gauge", "queue_depth"),
    ):
        assert f"# TYPE {name} {kind}" in text, name


async def test_http_metrics_count_requests_by_route_and_status(api: Api) -> None:
    async def count() -> float:
        text = await (await api.client.get("/metrics")).text()
        prefix = 'http_requests_total{method="GET",route="/admin/v1/locations",status="403"}'
        lines = [line for line in text.splitlines() if line.startswith(prefix)]
        return float(lines[0].split()[-1]) if lines else 0.0

    before = await count()
    await api.get("/admin/v1/locations", token=token(["user"]))
    assert await count() == before + 1


async def test_openapi_document_describes_every_declared_route(api: Api) -> None:
    response = await api.get("/openapi.json")
    assert response.status == 200
    document = response.json
    assert document["openapi"] == "3.1.0"
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["summary"] == route.summary
        if route.idempotent:
            names = [p["name"] for p in operation["parameters"]]
            assert "Idempotency-Key" in names
        if route.access != "public":
            assert operation["security"] == [{"bearer": []}]
            assert "401" in operation["responses"]


async def test_openapi_references_resolve(api: Api) -> None:
    document = (await api.get("/openapi.json")).json
    schemas = document["components"]["schemas"]

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


async def test_docs_page_is_html_that_loads_the_document(api: Api) -> None:
    response = await api.client.get("/docs")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "/openapi.json" in await response.text()
