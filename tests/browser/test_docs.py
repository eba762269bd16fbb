"""`/docs`: Swagger UI over the generated document, served entirely by the platform."""

import requests
from playwright.sync_api import Page, expect

from tests.support.platform import Platform


def test_docs_render_every_operation_from_the_platform_alone(
    page: Page, platform: Platform
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    document = requests.get(f"{platform.base_url}/openapi.json", timeout=10).json()
    operations = sum(len(methods) for methods in document["paths"].values())

    page.goto(f"{platform.base_url}/docs")

    expect(page.locator(".opblock")).to_have_count(operations)
    expect(
        page.locator(".opblock-summary-path", has_text="/v1/bookings/{id}/confirm")
    ).to_be_visible()
    assert all(url.startswith(platform.base_url) for url in requested), requested


def test_try_it_out_on_healthz_shows_the_answer(page: Page, platform: Platform) -> None:
    page.goto(f"{platform.base_url}/docs")
    operation = page.locator("#operations-ops-healthz")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()

    answer = operation.locator(".live-responses-table")
    expect(answer.locator("tbody .response-col_status")).to_have_text("200")
    expect(answer.locator(".microlight").first).to_contain_text('"status": "ok"')
