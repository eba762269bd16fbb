"""Calls to addresses that users give us (webhook URLs), kept off the private network.

A URL is checked when it is registered and again at every connection: its host is
resolved once, every address it resolves to must be public (`domain/webhooks.py`)
unless `WEBHOOK_ALLOW_PRIVATE` is set, and the connection goes to exactly the
addresses that were checked (`CheckedResolver` hands them to aiohttp, which
connects to them without resolving again), so a name that changes its answer
between the check and the connection (DNS rebinding) cannot reach past the check.
"""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from domain.webhooks import IpAddress, is_public


class UnsafeTarget(OSError):
    """A URL whose scheme, host or addresses we may not call."""


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def checked_addresses(host: str, port: int, allow_private: bool) -> list[IpAddress]:
    """Every address `host` resolves to, all of them public unless `allow_private`."""
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise UnsafeTarget(f"{host} does not resolve") from exc
        except UnicodeError as exc:  # a label longer than 63 characters, or an empty one
            raise UnsafeTarget(f"{host} is not a valid host name") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise UnsafeTarget(f"{host} resolves to a non-public address")
    return addresses


async def check_url(url: str, allow_http: bool, allow_private: bool) -> None:
    """Raises UnsafeTarget for a URL a webhook may not have: not `https://` (or `http://`
    when allowed), no host, or an address that is not public (unless allowed)."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeTarget(f"the URL must start with {' or '.join(s + '://' for s in schemes)}")
    if parts.username or parts.password:
        raise UnsafeTarget("the URL may not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeTarget("the URL's port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    await checked_addresses(parts.hostname, port, allow_private)


class CheckedResolver(AbstractResolver):
    """aiohttp's resolver for webhook calls: only addresses that passed the check."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await checked_addresses(host, port, self._allow_private)
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def session(allow_private: bool, connections: int) -> aiohttp.ClientSession:
    """A client session whose every connection is checked, up to `connections` at once.

    An IP address written in the URL is never resolved, so `check_url` must also be
    asked before each call (aiohttp connects to a literal address directly).
    """
    connector = aiohttp.TCPConnector(
        resolver=CheckedResolver(allow_private), use_dns_cache=False, limit=connections
    )
    return aiohttp.ClientSession(connector=connector)
