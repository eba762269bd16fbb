"""Booking commands as the web queues them, for tests that put one on a lane themselves."""

import dataclasses
import uuid

from domain.commands import HoldCommand


def hold_command(**fields: object) -> HoldCommand:
    """A hold with fresh ids and placeholder customer fields; `fields` replaces any of them."""
    command = HoldCommand(
        command_id=str(uuid.uuid4()),
        booking_id=str(uuid.uuid4()),
        slot_id=str(uuid.uuid4()),
        subject="visitor",
        key="k",
        digest="d",
        name="Ann",
        phone="sealed",
        email=None,
        phone_hash="h",
        notes=None,
        request_id=None,
        reply_to="replies:test",
    )
    return dataclasses.replace(command, **fields)
