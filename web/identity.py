"""Bearer tokens: HS256 JWTs minted by us or by the embedding product."""

import time
from dataclasses import dataclass

import jwt

from domain.errors import ApiError, ErrorCode
from domain.roles import STAFF_ROLES, Role

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Identity:
    """Who is calling: the token's `sub` and its known roles."""

    subject: str
    roles: frozenset[Role]

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)


def _unauthenticated(message: str) -> ApiError:
    return ApiError(ErrorCode.UNAUTHENTICATED, message)


def issue_token(
    secret: str, issuer: str, subject: str, roles: list[str], ttl_seconds: int, **extra: object
) -> str:
    now = int(time.time())
    claims = {"sub": subject, "roles": roles, "iat": now, "exp": now + ttl_seconds, "iss": issuer}
    return jwt.encode({**claims, **extra}, secret, algorithm=ALGORITHM)


def verify_token(header: str | None, secret: str, issuer: str) -> Identity:
    """Turns an `Authorization` header into an identity, or refuses with 401."""
    if not header:
        raise _unauthenticated("missing bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("expected 'Authorization: Bearer <token>'")
    try:
        claims = jwt.decode(
            token.strip(), secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
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
    return Identity(subject=subject, roles=frozenset(Role(r) for r in roles if r in known))
