"""Staff accounts behind the tokens the platform issues.

A token the platform issues names its account (`staff_id`) and a fingerprint of the
account's password hash when it was issued (`staff_cred`). It stands while the account
is active, still has every role the token claims, and has the same password: a new
password gives a new hash (Argon2 salts each one), so its fingerprint changes. Tokens a
product mints itself carry no such claims and are not checked here.

An account may be limited to some locations (`location_ids`, see `domain/scope.py`);
its tokens carry no scope of their own but take the account's on every check, so a
change of scope applies to tokens already issued as soon as the account is read again.
"""

import hashlib
from dataclasses import dataclass

from domain.scope import Scope

ACCOUNT_CLAIM = "staff_id"
CREDENTIAL_CLAIM = "staff_cred"
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class StaffAccount:
    id: str
    email: str
    roles: frozenset[str]
    active: bool
    password_hash: str
    location_ids: frozenset[str] | None = None
    """The locations the account is limited to; None: every location."""

    @property
    def scope(self) -> Scope:
        return Scope.of(self.location_ids)


def credential(password_hash: str) -> str:
    """A short fingerprint of the password hash: changes with the password, reveals nothing."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:24]


def token_claims(account: StaffAccount) -> dict[str, str]:
    return {ACCOUNT_CLAIM: account.id, CREDENTIAL_CLAIM: credential(account.password_hash)}


def still_stands(
    account: StaffAccount | None, token_roles: frozenset[str], token_credential: str | None
) -> bool:
    """Whether the account still backs a token issued to it with these roles."""
    return (
        account is not None
        and account.active
        and token_roles <= account.roles
        and token_credential == credential(account.password_hash)
    )
