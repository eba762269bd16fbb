"""Tokens that work as links: a customer's manage link (contract §9) and a person's
calendar feed.

Whoever holds one may use it without any account, so it is 24 random bytes (192
bits), URL-safe. Only a keyed hash of it is stored, to look it up, with a key of
its own per purpose (derived from the PII key, `common/pii.py`): a database dump
does not give the links away, and a manage token is no feed token. Looking a
token up is one query by its hash, whatever the token is (forged, expired or
real), so the answers do not tell them apart. A booking also keeps its manage
token sealed with the PII key, to hand it back on confirm and in notifications.
"""

import secrets

from common.pii import PiiKeys

TOKEN_BYTES = 24
MANAGE = "manage"
FEED = "feed"


def mint() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(pii: PiiKeys, purpose: str, token: str) -> str:
    """The stored form of a token: what a lookup compares."""
    return pii.keyed_hash(purpose, token)
