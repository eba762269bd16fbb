"""Schemathesis against the generated OpenAPI document: no 5xx, replies match their schemas."""

import asyncio
import socket
import threading
from collections.abc import Iterator

import dramatiq
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from common.settings import Settings
from tests.support.api import token
from web.app import create_app

EXAMPLES_PER_OPERATION = 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def base_url(settings: Settings, worker: dramatiq.Worker) -> Iterator[str]:
    """The real app on a real port, served from its own thread and event loop."""
    port = _free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings.model_copy(update={"booking_wait_seconds": 2})))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_every_operation_conforms_to_the_document(base_url: str) -> None:
    schema = schemathesis.openapi.from_dict(requests.get(f"{base_url}/openapi.json").json())
    headers = {"Authorization": f"Bearer {token(['admin'])}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=base_url,
                headers=headers,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

        conforms()
