"""The real web process (`python -m web`) at the HTTP level, below any route.

Raw requests go over a socket, as a scanner or a broken client sends them; the
HTTP parser answers them itself with a plain 400 (contract §7), and the process
log must not fill with a traceback per request.
"""

import json
import re
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.support.platform import Platform

VERSIONED = re.compile(r"\d+\.\d+")
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ", re.MULTILINE)
FIRST = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
CHUNKED = b"POST /auth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
REJECTED = {
    "header of 100 KB": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
    + b"a" * 100_000
    + b"\r\n\r\n",
    "200 headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: a\r\n" % i for i in range(200))
    + b"\r\n",
    "unknown method": b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
    "malformed request line": b"GET /healthz HTTP/9.x\r\nHost: x\r\n\r\n",
    "path of 20 KB": b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad chunk size": CHUNKED + b"zz\r\n{}\r\n0\r\n\r\n",
    "unsupported content encoding": b"POST /auth/token HTTP/1.1\r\nHost: x\r\n"
    b"Content-Encoding: br\r\nContent-Length: 2\r\n\r\n{}",
}


@pytest.fixture(scope="module")
def web() -> Iterator[Platform]:
    env = {
        "WEB_PROCESSES": "1",
        "PYTHONUNBUFFERED": "1",
        "TRUSTED_PROXIES": '["127.0.0.1"]',
        "BODY_TIMEOUT_SECONDS": "1",
    }
    platform = Platform(env=env).start("web")
    try:
        yield platform
    finally:
        platform.stop()


def _exchange(platform: Platform, *parts: bytes) -> list[int]:
    """Sends `parts` on one connection, each once the server has read the last, and reads
    until the server closes; returns the status of every reply."""
    port = int(platform.env["HTTP_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        for part in parts:
            conn.sendall(part)
            time.sleep(0.2)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return [int(status) for status in STATUS_LINE.findall(received)]


def _log_after(platform: Platform, offset: int) -> list[dict]:
    """The process log from `offset` up to a request sent now (all earlier lines are out)."""
    marker = f"marker-{uuid.uuid4()}"
    requests.get(f"{platform.base_url}/healthz", headers={"X-Request-Id": marker}, timeout=10)
    deadline = time.monotonic() + 10
    while marker not in platform.log("web"):
        assert time.monotonic() < deadline, "the marker request was never logged"
        time.sleep(0.05)
    text = platform.log("web")[offset:]
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _errors(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["level"] in ("error", "critical") or "exception" in line]


def test_replies_name_no_server_version(web: Platform) -> None:
    response = requests.get(f"{web.base_url}/healthz", timeout=10)
    assert not VERSIONED.search(response.headers.get("Server", ""))


def test_parser_rejections_name_no_server_version(web: Platform) -> None:
    port = int(web.env["HTTP_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(REJECTED["malformed request line"])
        head = conn.recv(65536).split(b"\r\n\r\n")[0].decode("latin-1")
    assert head.startswith("HTTP/1.0 400")
    assert not VERSIONED.search(head.split("\r\n", 1)[1])


@pytest.mark.parametrize("raw", REJECTED.values(), ids=REJECTED.keys())
def test_parser_rejects_a_broken_request_with_a_plain_400(web: Platform, raw: bytes) -> None:
    assert _exchange(web, raw) in ([400], [431])


@pytest.mark.parametrize("raw", REJECTED.values(), ids=REJECTED.keys())
def test_parser_rejections_log_no_error_or_traceback(web: Platform, raw: bytes) -> None:
    offset = len(web.log("web"))
    _exchange(web, raw)
    assert _errors(_log_after(web, offset)) == []


@pytest.mark.parametrize("raw", REJECTED.values(), ids=REJECTED.keys())
def test_a_rejection_after_a_good_request_logs_no_error(web: Platform, raw: bytes) -> None:
    offset = len(web.log("web"))
    assert _exchange(web, FIRST, raw)[0] == 200
    assert _errors(_log_after(web, offset)) == []


def _deflated_garbage(encoding: bytes) -> bytes:
    body = b"not compressed at all"
    return (
        b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s" % (encoding, len(body), body)
    )


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate"])
def test_a_body_that_does_not_inflate_is_400(web: Platform, encoding: bytes) -> None:
    response = requests.post(
        f"{web.base_url}/auth/token",
        data=b"not compressed at all",
        headers={"Content-Type": "application/json", "Content-Encoding": encoding.decode()},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate"])
def test_a_body_that_does_not_inflate_logs_no_error(web: Platform, encoding: bytes) -> None:
    offset = len(web.log("web"))
    _exchange(web, _deflated_garbage(encoding))
    assert _errors(_log_after(web, offset)) == []


def test_a_client_gone_mid_body_is_not_a_dependency_failure(web: Platform) -> None:
    offset = len(web.log("web"))
    port = int(web.env["HTTP_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{}"
        )
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while not (answered := _requests_to(web, offset, "/auth/token")):
        assert time.monotonic() < deadline, "the abandoned request was never logged"
        time.sleep(0.05)
    assert answered[0]["status"] == 400
    assert "dependency_unavailable" not in {line["event"] for line in _log_after(web, offset)}


def _requests_to(platform: Platform, offset: int, path: str) -> list[dict]:
    lines = platform.log("web")[offset:].splitlines()
    return [line for line in map(json.loads, lines) if line.get("path") == path]


def _closing(request_line: bytes, *headers: bytes) -> bytes:
    """A bodiless request that asks the server to close after answering."""
    return (
        request_line
        + b"\r\nHost: x\r\nConnection: close\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"\r\n"
    )


def test_an_authorization_header_that_is_not_utf8_is_401_and_logs_no_error(
    web: Platform,
) -> None:
    offset = len(web.log("web"))
    raw = _closing(b"GET /admin/v1/locations HTTP/1.1", b"Authorization: Bearer \xe9\xff")
    assert _exchange(web, raw) == [401]
    assert _errors(_log_after(web, offset)) == []


def test_a_forwarded_for_that_is_not_utf8_is_counted_as_the_proxys_and_logs_no_error(
    web: Platform,
) -> None:
    offset = len(web.log("web"))
    raw = _closing(
        b"POST /v1/sessions HTTP/1.1", b"X-Forwarded-For: \xff\xfe", b"Content-Length: 0"
    )
    assert _exchange(web, raw) == [201]
    assert _errors(_log_after(web, offset)) == []


def test_a_body_that_stops_arriving_is_400_once_body_timeout_seconds_pass(web: Platform) -> None:
    port = int(web.env["HTTP_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"email":'
        )
        started = time.monotonic()
        received = conn.recv(65536)
        waited = time.monotonic() - started
        while b'"BAD_REQUEST"' not in received and (chunk := conn.recv(65536)):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400 "), received
    assert b'"BAD_REQUEST"' in received
    assert 0.9 <= waited < 9
