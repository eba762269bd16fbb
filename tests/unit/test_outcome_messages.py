"""The pub/sub messages that carry a batch's outcomes to the web process waiting for them."""

import orjson

from workers import outcomes

HELD = {"booking": {"id": "b1"}, "created": True}
REFUSED = {"error": {"code": "SLOT_FULL"}}


def test_one_message_carries_every_outcome_of_a_batch_by_command_id() -> None:
    message = outcomes.encode([("c1", HELD), ("c2", REFUSED)])
    assert outcomes.decode(message) == [("c1", HELD), ("c2", REFUSED)]


def test_a_message_of_one_outcome_from_the_previous_release_is_still_read() -> None:
    message = orjson.dumps({"id": "c1", "outcome": HELD})
    assert outcomes.decode(message) == [("c1", HELD)]
