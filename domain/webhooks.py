"""Webhooks for the embedding product (contract §9): whom they may reach, when to retry,
and what a delivery says.

Deliveries follow the Standard Webhooks specification: the body is
`{"type", "timestamp", "data"}`, where `data` names the booking; the customer's
contact details are added only for a webhook registered with `include_customer`.
"""

import datetime as dt
import ipaddress
from collections.abc import Mapping
from typing import Any

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_PRIVATE_PAYLOAD_FIELDS = frozenset({"notify", "customer", "phone", "email"})
"""Never in `data` as such: notification flags, and anything naming the customer."""


def is_public(address: IpAddress) -> bool:
    """True for an address on the public internet: not loopback, private, link-local,
    multicast, reserved, shared (CGNAT) or documentation space.

    An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 one.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def retry_delay(attempts: int, schedule: tuple[int, ...]) -> int | None:
    """Seconds to wait after the `attempts`-th failed attempt, or None: give up."""
    if attempts < 1 or attempts > len(schedule):
        return None
    return schedule[attempts - 1]


def body(
    event_type: str,
    created_at: dt.datetime,
    payload: Mapping[str, Any],
    booking_id: str,
    customer: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """What a delivery sends: the event's own data, the booking it is about, and the
    customer only when given (a webhook registered with `include_customer`)."""
    data = {k: v for k, v in payload.items() if k not in _PRIVATE_PAYLOAD_FIELDS}
    data["booking_id"] = booking_id
    if customer is not None:
        data["customer"] = dict(customer)
    return {"type": event_type, "timestamp": created_at.isoformat(), "data": data}
