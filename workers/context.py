"""Carries the request id from the web request into every message and worker log line.

A message nobody sent on a request's behalf (the scheduler's expiry run, the
outbox relay) gets a request id of its own when it is first processed, kept
across its retries, so what it changes can be traced to that run.
"""

import structlog
from dramatiq import Middleware
from dramatiq.middleware import CurrentMessage

from common.ids import new_id


class RequestContext(Middleware):
    """Binds `request_id` from the message options to the worker's log context."""

    def before_process_message(self, broker, message):
        structlog.contextvars.clear_contextvars()
        request_id = message.options.get("request_id") or str(new_id())
        message.options["request_id"] = request_id
        structlog.contextvars.bind_contextvars(
            request_id=request_id, message_id=message.message_id, task=message.actor_name
        )

    def after_process_message(self, broker, message, *, result=None, exception=None):
        structlog.contextvars.clear_contextvars()

    after_skip_message = after_process_message


def current_request_id() -> str:
    """The request id of the message being processed (RequestContext gives each one)."""
    message = CurrentMessage.get_current_message()
    if message is None:  # called outside a worker, as a one-off
        return str(new_id())
    return message.options["request_id"]
