"""Bearer tokens: HS256 JWTs minted by us or by the embedding product.

Tokens the platform issues carry claims of their own: a visitor session's says so
(`session`), so that its requests also spend their IP address's budget; a staff
token names its account (`staff_id`, see `domain/staff.py`), checked against the
account on use (`db.staff.StaffAccounts`), which also gives it the account's location
scope. A product's tokens need neither; they may limit their bearer to some locations
with a `location_ids` claim (a list of location ids, see `domain/scope.py`).

Here, below the web, so that the web, the operator commands and the dashboard
all issue and verify them alike.
"""

import time
import uuid
from dataclasses import dataclass, field

import jwt

from common.text import storable
from domain.errors import ErrorCode, Refused
from domain.roles import Role
from domain.scope import Scope
from domain.staff import ACCOUNT_CLAIM, CREDENTIAL_CLAIM, StaffAccount, token_claims

ALGORITHM = "HS256"
SESSION_CLAIM = "session"
LOCATIONS_CLAIM = "location_ids"
VERIFIED_CACHE_BYTES = 32 * 1024 * 1024
LATEST_EXPIRY = 253_402_300_799
"""9999-12-31T23:59:59Z: a later `exp` is remembered as this (a float cannot hold them all)."""
ENTRY_OVERHEAD_BYTES = 600
"""What an entry holds besides its token's characters (key tuple, identity, dict slot)."""


@dataclass(frozen=True)
class Identity:
    """Who is calling: the token's `sub` and its known roles."""

    subject: str
    roles: frozenset[Role]
    session: bool = False
    """A visitor session from `POST /v1/sessions`: IP-limited besides its own budget."""
    account: str | None = None
    """The staff account a platform-issued token names; None for a product's tokens."""
    credential: str | None = None
    scope: Scope = field(default_factory=Scope)
    """The locations the caller may see and change (every one unless limited)."""


class VerifiedTokens:
    """Tokens verified recently, bounded by the memory they hold rather than by count:
    a token may be up to a header's length. When full it starts over."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: dict[tuple[str, str, str], tuple[Identity, float]] = {}

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def get(self, key: tuple[str, str, str]) -> Identity | None:
        remembered = self._entries.get(key)
        if remembered is None or remembered[1] <= time.time():
            return None
        return remembered[0]

    def put(self, key: tuple[str, str, str], identity: Identity, expires: float) -> None:
        size = len(key[2]) + len(identity.subject) + ENTRY_OVERHEAD_BYTES
        if self._bytes + size > self._max_bytes:
            self._entries.clear()
            self._bytes = 0
        if key not in self._entries:
            self._bytes += size
        self._entries[key] = (identity, expires)


_VERIFIED = VerifiedTokens(VERIFIED_CACHE_BYTES)
"""(secret, issuer, token) -> the identity it proved and when the token expires."""


def _unauthenticated(message: str) -> Refused:
    return Refused(ErrorCode.UNAUTHENTICATED, message)


def issue_token(
    secret: str, issuer: str, subject: str, roles: list[str], ttl_seconds: int, **extra: object
) -> str:
    now = int(time.time())
    claims = {"sub": subject, "roles": roles, "iat": now, "exp": now + ttl_seconds, "iss": issuer}
    return jwt.encode({**claims, **extra}, secret, algorithm=ALGORITHM)


def issue_staff_token(secret: str, issuer: str, account: StaffAccount, ttl_seconds: int) -> str:
    """A token with every role of the account, valid while the account stands behind it."""
    return issue_token(
        secret, issuer, account.id, sorted(account.roles), ttl_seconds, **token_claims(account)
    )


def issue_session_token(secret: str, issuer: str, session_id: str, ttl_seconds: int) -> str:
    return issue_token(
        secret, issuer, session_id, [Role.USER.value], ttl_seconds, **{SESSION_CLAIM: True}
    )


def verify(token: str, secret: str, issuer: str) -> Identity:
    """The identity a token proves, or UNAUTHENTICATED.

    A token verified once is remembered until it expires: a visitor in a rush sends
    the same token many times, and checking its signature is a good part of a
    refused request's cost.
    """
    key = (secret, issuer, token)
    remembered = _VERIFIED.get(key)
    if remembered is not None:
        return remembered
    identity, expires = _verify(token, secret, issuer)
    _VERIFIED.put(key, identity, expires)
    return identity


def _verify(token: str, secret: str, issuer: str) -> tuple[Identity, float]:
    if not token.isascii():  # a JWT is base64url and dots; other bytes never were one
        raise _unauthenticated("invalid token")
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
    if not _is_subject(subject) or not _is_role_list(roles):
        raise _unauthenticated("token claims are malformed")
    known = {r.value for r in Role}
    granted = frozenset(Role(r) for r in roles if r in known)
    account, credential = _account_claims(claims)
    session = claims.get(SESSION_CLAIM) is True
    scope = _scope_claim(claims)
    identity = Identity(subject, granted, session, account, credential, scope)
    return identity, float(min(claims["exp"], LATEST_EXPIRY))


def _is_subject(subject: object) -> bool:
    """A subject keys Redis and Postgres rows, so it must be text both can store."""
    return isinstance(subject, str) and subject != "" and storable(subject)


def _is_role_list(roles: object) -> bool:
    return isinstance(roles, list) and all(isinstance(r, str) for r in roles)


def _scope_claim(claims: dict[str, object]) -> Scope:
    """The product's `location_ids` claim; a platform token takes its account's scope later."""
    location_ids = claims.get(LOCATIONS_CLAIM)
    if location_ids is None:
        return Scope()
    if not isinstance(location_ids, list) or not all(isinstance(i, str) for i in location_ids):
        raise _unauthenticated("token claims are malformed")
    try:
        return Scope.of(location_ids)
    except ValueError:
        raise _unauthenticated("token claims are malformed") from None


def _account_claims(claims: dict[str, object]) -> tuple[str | None, str | None]:
    account, credential = claims.get(ACCOUNT_CLAIM), claims.get(CREDENTIAL_CLAIM)
    if account is None:
        return None, None
    try:
        account = str(uuid.UUID(str(account)))
    except ValueError:
        raise _unauthenticated("token claims are malformed") from None
    return account, credential if isinstance(credential, str) else None
