"""The client's address: the peer, or X-Forwarded-For when the peer is a trusted proxy.

Per-IP budgets are only as good as this address: `X-Forwarded-For` is believed
only from the proxies `TRUSTED_PROXIES` names, and then the client is the last hop
that is not one of them (earlier hops are whatever the client chose to write). A hop
that is not even text (bytes that are not UTF-8) names no one: the proxy that passed
it on stands for the client.
"""

import functools
import ipaddress

from aiohttp import web

from common.text import storable


def client_ip(request: web.Request, trusted_proxies: list[str]) -> str:
    return client_address(
        request.remote, request.headers.get("X-Forwarded-For", ""), trusted_proxies
    )


def client_address(peer: str | None, forwarded_for: str, trusted_proxies: list[str]) -> str:
    peer = peer or "unknown"
    if not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return peer
    nearest = peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _is_trusted(hop, trusted_proxies):
            return hop if storable(hop) else nearest
        nearest = hop
    return nearest


def _is_trusted(address: str, trusted_proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(trusted_proxies)))


@functools.cache
def _networks(
    trusted_proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The proxies' networks, parsed once (every request asks)."""
    return tuple(ipaddress.ip_network(net, strict=False) for net in trusted_proxies)
