"""Staff passwords: Argon2id hashes, checked in the same time whether the account exists.

Answering at once for an unknown email would tell an attacker which emails are
staff, so an unknown account's check verifies a dummy hash made with the same
parameters, and fails.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; `password_hash` None (no such account) is always False."""
    try:
        matches = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None
