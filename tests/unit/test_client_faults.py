"""The `aiohttp.server` log filter: client faults become one INFO line, server faults stay."""

import logging

from aiohttp.http_exceptions import LineTooLong

from web.server import ClientFaults


def _record(error: BaseException, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(
        "aiohttp.server",
        level,
        __file__,
        1,
        "Error handling request",
        (),
        (type(error), error, None),
    )


def test_a_request_the_parser_rejected_is_not_logged_as_an_error() -> None:
    assert not ClientFaults().filter(_record(LineTooLong("header", "8190", "100000")))


def test_a_server_fault_keeps_its_level_and_traceback() -> None:
    record = _record(RuntimeError("bug"))
    assert ClientFaults().filter(record)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
