"""The widget script and the pages around it (contract §11)."""

import gzip
import json
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from common.settings import Settings
from tests.support.api import Api
from web.app import create_app
from web.routes.pages import SWAGGER_UI

WIDGET_GZIPPED_LIMIT = 40 * 1024


async def test_widget_is_one_script_under_40_kb_gzipped(api: Api) -> None:
    reply = await api.client.get("/widget.js")
    body = await reply.read()
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/javascript")
    assert len(gzip.compress(body)) < WIDGET_GZIPPED_LIMIT
    text = body.decode()
    assert 'customElements.define("gs-booking"' in text
    assert "import(" not in text and "@import" not in text  # nothing fetched at load


async def test_demo_page_embeds_the_widget_same_origin(api: Api) -> None:
    location = "0193a5f2-6b1d-7c3e-8f4a-2d9e0b7c5a18"
    reply = await api.client.get("/demo", params={"location": location, "lang": "ar"})
    page = await reply.text()
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
    own = f"http://{reply.url.host}:{reply.url.port}"
    assert f'<gs-booking api="{own}" location="{location}" lang="ar">' in page
    assert '<script src="/widget.js" defer></script>' in page
    assert 'dir="rtl"' in page


async def test_demo_snippet_uses_the_public_base_url(settings: Settings) -> None:
    public = settings.model_copy(update={"public_base_url": "https://book.example.com"})
    client = TestClient(TestServer(create_app(public)))
    await client.start_server()
    try:
        reply = await client.get(
            "/demo", params={"location": "0193a5f2-6b1d-7c3e-8f4a-2d9e0b7c5a18"}
        )
        page = await reply.text()
    finally:
        await client.close()
    assert "&lt;script src=&quot;https://book.example.com/widget.js&quot;" in page


@pytest.mark.parametrize("query", [{"location": "not-an-id"}, {"lang": "fr"}, {"other": "1"}])
async def test_demo_page_refuses_bad_parameters(api: Api, query: dict[str, str]) -> None:
    reply = await api.get("/demo", params=query)
    assert reply.status in (400, 422)
    assert reply.json["error"]["code"] in ("BAD_REQUEST", "VALIDATION_ERROR")


async def test_manage_page_keeps_its_token_out_of_logs_and_referrers(api: Api, log_lines) -> None:
    token = "tok_" + "x" * 40
    reply = await api.client.get(f"/manage/{token}")
    page = await reply.text()
    assert reply.status == 200
    assert f'token="{token}"' in page
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    access = [json.loads(line) for line in log_lines.getvalue().splitlines() if '"request"' in line]
    assert [line["path"] for line in access] == ["/manage/[redacted]"]


async def test_manage_page_escapes_what_it_is_given(api: Api) -> None:
    reply = await api.client.get('/manage/"><img src=x onerror=alert(1)>')
    page = await reply.text()
    assert reply.status == 200
    assert "<img" not in page
    assert 'token="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in page


async def test_docs_assets_are_served_by_the_platform(api: Api) -> None:
    page = await (await api.client.get("/docs")).text()
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        reply = await api.client.get(asset)
        assert reply.status == 200, asset
    assert (SWAGGER_UI / "swagger-ui-bundle.js").exists()
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
