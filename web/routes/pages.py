"""Pages for people: the booking widget, its demo page, the customer's manage page, the API docs.

The widget is one plain script (`web/static/widget.js`) built on the public API only,
so it is served as a file; the pages around it are small HTML files with a value or
two filled in. The API reference is Swagger UI, whose assets come from the
`swagger-ui-py` package and are served here: `/docs` loads nothing from elsewhere.
"""

import html
import uuid
from functools import cache
from pathlib import Path
from typing import Literal

from aiohttp import web
from swagger_ui import core as swagger_ui

from web.models import Strict
from web.responses import TextReply
from web.routing import Call, Route
from web.state import SETTINGS

STATIC = Path(__file__).resolve().parent.parent / "static"
SWAGGER_UI = Path(swagger_ui.__file__).resolve().parent / "static"
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
        " frame-ancestors 'self'"
    ),
}


def add_static_routes(app: web.Application) -> None:
    """Page scripts and styles, and Swagger UI's bundle, from this installation."""
    app.router.add_static("/static/swagger-ui", SWAGGER_UI)
    app.router.add_static("/static", STATIC)


@cache
def _file(name: str) -> str:
    return (STATIC / name).read_text()


def _page(name: str, **values: str) -> str:
    """An HTML file of `web/static` with `{{name}}` markers replaced by escaped values."""
    text = _file(name)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value))
    return text


def _own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def public_base_url(request: web.Request) -> str:
    """Where customers and host pages reach this platform: `PUBLIC_BASE_URL`, else itself."""
    return request.app[SETTINGS].public_base_url or _own_origin(request)


class DemoQuery(Strict):
    location: uuid.UUID | None = None
    person: uuid.UUID | None = None
    lang: Literal["en", "ar"] = "en"


async def widget_script(call: Call) -> TextReply:
    return TextReply(
        200, _file("widget.js"), "text/javascript", {"Cache-Control": "public, max-age=300"}
    )


def _widget_tag(api: str, query: DemoQuery) -> str:
    attributes = {"api": api, "location": str(query.location), "lang": query.lang}
    if query.person is not None:
        attributes["person"] = str(query.person)
    pairs = " ".join(f'{name}="{html.escape(value)}"' for name, value in attributes.items())
    return f"<gs-booking {pairs}></gs-booking>"


async def demo_page(call: Call) -> TextReply:
    """The widget for `?location=` (same origin, so no CORS), and the snippet to embed it."""
    query: DemoQuery = call.query
    base = public_base_url(call.request)
    page = _page(
        "demo.html",
        lang=query.lang,
        dir="rtl" if query.lang == "ar" else "ltr",
        location=str(query.location or ""),
    )
    if query.location is not None:
        embed = f'<script src="{base}/widget.js" defer></script>\n{_widget_tag(base, query)}'
        page = page.replace("<!--widget-->", _widget_tag(_own_origin(call.request), query))
        page = page.replace("<!--embed-->", html.escape(embed))
    return TextReply(200, page, "text/html", _PAGE_HEADERS)


async def manage_page(call: Call) -> TextReply:
    """The link customers get (contract §9): the booking's token stays out of logs and referrers."""
    page = _page(
        "manage.html", token=call.request.match_info["token"], api=_own_origin(call.request)
    )
    headers = {**_PAGE_HEADERS, "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
    return TextReply(200, page, "text/html", headers)


async def docs(call: Call) -> TextReply:
    return TextReply(200, _page("docs.html"), "text/html", _PAGE_HEADERS)


ROUTES = [
    Route(
        "GET",
        "/widget.js",
        widget_script,
        "The embeddable booking widget, <gs-booking> (no dependencies)",
        access="public",
        responses={200: None},
        tag="pages",
    ),
    Route(
        "GET",
        "/demo",
        demo_page,
        "A page embedding the widget for one location",
        access="public",
        query=DemoQuery,
        responses={200: None},
        tag="pages",
    ),
    Route(
        "GET",
        "/manage/{token}",
        manage_page,
        "The customer's page for one booking: view, cancel, reschedule, add to calendar",
        access="public",
        responses={200: None},
        tag="pages",
    ),
    Route(
        "GET",
        "/docs",
        docs,
        "This API's interactive reference (Swagger UI)",
        access="public",
        responses={200: None},
        tag="pages",
    ),
]
