"""Carries the request id from the web request into every message and worker log line."""

import structlog
from dramatiq import Middleware


class RequestContext(Middleware):
    """Binds `request_id` from the message options to the worker's log context."""

    def before_process_message(self, broker, message):
        structlog.contextvars.clear_contextvars()
        request_id = message.options.get("request_id")
        if request_id:
            structlog.contextvars.bind_contextvars(
                request_id=request_id, message_id=message.message_id, actor=message.actor_name
            )

    def after_process_message(self, broker, message, *, result=None, exception=None):
        structlog.contextvars.clear_contextvars()

    after_skip_message = after_process_message
