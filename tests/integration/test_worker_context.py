"""A request id travels with a queued message into the worker's log lines."""

import asyncio
import io
import logging
import time

import dramatiq
import pytest

_log = logging.getLogger("tests.worker_context")


@dramatiq.actor(queue_name="default", max_retries=0)
def log_from_thread(text: str) -> None:
    _log.info(text)


@dramatiq.actor(queue_name="default", max_retries=0)
async def log_from_event_loop(text: str) -> None:
    _log.info(text)


async def _line_with(stream: io.StringIO, text: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in stream.getvalue().splitlines() if text in line]
        if lines:
            return lines[0]
        assert time.monotonic() < deadline, "the worker never ran the message"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("actor", [log_from_thread, log_from_event_loop])
async def test_request_id_from_the_message_is_in_log_lines_lines(
    worker: dramatiq.Worker, log_lines: io.StringIO, actor: dramatiq.Actor
) -> None:
    actor.send_with_options(args=(f"ran {actor.actor_name}",), request_id="abc-123")
    line = await _line_with(log_lines, f"ran {actor.actor_name}")
    assert '"request_id": "abc-123"' in line
