"""A product's own page on another origin, embedding the widget as the README says.

Its stylesheet is deliberately hostile (`!important` on every element and button) to
show that host styles do not reach into the widget, and it has a button of its own
to show that the widget's styles do not reach out.
"""

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOST_STYLE = """
  * { color: rgb(0, 128, 0) !important; font-family: serif !important; }
  button { background: rgb(255, 0, 0) !important; padding: 0 !important; }
  gs-booking { --gs-accent: rgb(17, 85, 34); }
"""


def page(api: str, location: str, lang: str = "en") -> str:
    attributes = f'api="{html.escape(api)}" location="{html.escape(location)}" lang="{lang}"'
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>A product's page</title><style>{HOST_STYLE}</style>"
        f"<script src='{html.escape(api)}/widget.js' defer></script></head>"
        "<body><main><h1>Our clinic</h1><button id='host-button'>Host button</button>"
        f"<gs-booking {attributes}></gs-booking></main></body></html>"
    )


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        body = page(query.get("api", ""), query.get("location", ""), query.get("lang", "en"))
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class HostPages:
    port: int

    def origin(self, host: str) -> str:
        return f"http://{host}:{self.port}"


@contextmanager
def serving() -> Iterator[HostPages]:
    """Serves the host page on 127.0.0.1 (reachable as `localhost` too: two origins)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HostPages(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
