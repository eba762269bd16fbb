"""Bearer tokens: HS256 JWTs minted by us or by the embedding product."""

import time
from dataclasses import dataclass

import jwt

from domain.errors import ApiError, ErrorCode
from domain.roles import STAFF_ROLES, Role

ALGORITHM = "HS256"
VERIFIED_CACHE_SIZE = 100_000


@dataclass(frozen=True)
class Identity:
    """Who is calling: the token's `sub` and its known roles."""

    subject: str
    roles: frozenset[Role]

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)


_VERIFIED: dict[tuple[str, str, str], tuple[Identity, float]] = {}
"""(secret, issuer, token) -> the identity it proved and when the token expires."""


def _unauthenticated(message: str) -> ApiError:
    return ApiError(ErrorCode.UNAUTHENTICATED, message)


def issue_token(
    secret: str, issuer: str, subject: str, roles: list[str], ttl_seconds: int, **extra: object
) -> str:
    now = int(time.time())
    claims = {"sub": subject, "roles": roles, "iat": now, "exp": now + ttl_seconds, "iss": issuer}
    return jwt.encode({**claims, **extra}, secret, algorithm=ALGORITHM)


def verify_token(header: str | None, secret: str, issuer: str) -> Identity:
    """Turns an `Authorization` header into an identity, or refuses with 401.

    A token verified once is remembered until it expires: a visitor in a rush sends
    the same token many times, and checking its signature is a good part of a
    refused request's cost.
    """
    if not header:
        raise _unauthenticated("missing bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("expected 'Authorization: Bearer <token>'")
    remembered = _VERIFIED.get((secret, issuer, token))
    if remembered is not None and remembered[1] > time.time():
        return remembered[0]
    identity, expires = _verify(token.strip(), secret, issuer)
    if len(_VERIFIED) >= VERIFIED_CACHE_SIZE:
        _VERIFIED.clear()
    _VERIFIED[(secret, issuer, token)] = (identity, expires)
    return identity


def _verify(token: str, secret: str, issuer: str) -> tuple[Identity, float]:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise _unauthenticated("token expired") from None
    except jwt.InvalidTokenError:
        raise _unauthenticated("invalid token") from None
    if "iss" in claims and claims["iss"] != issuer:
        raise _unauthenticated("token issued by someone else")
    subject, roles = claims["sub"], claims.get("roles", [])
    if not isinstance(subject, str) or not subject or not isinstance(roles, list):
        raise _unauthenticated("token claims are malformed")
    known = {r.value for r in Role}
    granted = frozenset(Role(r) for r in roles if r in known)
    return Identity(subject=subject, roles=granted), float(claims["exp"])
