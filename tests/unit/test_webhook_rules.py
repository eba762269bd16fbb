"""Whom webhooks may reach, when they retry, what they say (`domain/webhooks.py`), and the
URL check made before any call (`common/outbound.py`, literal addresses: no DNS needed)."""

import asyncio
import datetime as dt
import ipaddress

import pytest

from common.outbound import UnsafeTarget, check_url
from domain.webhooks import body, is_public, retry_delay

SCHEDULE = (5, 300, 1800, 7200, 18000, 36000)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::",
    ],
)
def test_loopback_private_link_local_and_reserved_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_internet_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_retries_follow_the_schedule_then_stop() -> None:
    assert [retry_delay(n, SCHEDULE) for n in range(1, 8)] == [*SCHEDULE, None]
    assert retry_delay(0, SCHEDULE) is None


def test_a_body_names_the_booking_and_leaves_the_customer_out_unless_given() -> None:
    created = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    payload = {"booking_id": "b1", "status": "confirmed", "notify": True, "customer": {"x": 1}}
    plain = body("booking.confirmed", created, payload, "b1", None)
    assert plain == {
        "type": "booking.confirmed",
        "timestamp": "2026-12-01T09:00:00+00:00",
        "data": {"booking_id": "b1", "status": "confirmed"},
    }
    customer = {"name": "Ann", "phone": "+971501234567", "email": None}
    assert (
        body("booking.confirmed", created, payload, "b1", customer)["data"]["customer"] == customer
    )


@pytest.mark.parametrize(
    ("url", "allow_http", "allow_private"),
    [
        ("https://127.0.0.1/x", False, False),
        ("https://10.0.0.1/x", True, False),
        ("http://93.184.216.34/x", False, True),
        ("https://93.184.216.34:99999/x", False, False),
        ("https:///x", False, False),
        ("https://" + "a" * 64 + ".example.org/x", False, False),
        ("https://a..example.org/x", False, False),
    ],
)
def test_a_url_out_of_bounds_is_unsafe(url: str, allow_http: bool, allow_private: bool) -> None:
    with pytest.raises(UnsafeTarget):
        asyncio.run(check_url(url, allow_http, allow_private))


@pytest.mark.parametrize(
    ("url", "allow_http", "allow_private"),
    [
        ("https://93.184.216.34/x", False, False),
        ("http://93.184.216.34/x", True, False),
        ("http://127.0.0.1:8080/x", True, True),
    ],
)
def test_a_url_within_bounds_passes(url: str, allow_http: bool, allow_private: bool) -> None:
    asyncio.run(check_url(url, allow_http, allow_private))
