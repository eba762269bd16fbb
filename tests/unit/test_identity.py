"""Bearer tokens: a verified token is remembered, but never past its expiry."""

import time

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.tokens import ALGORITHM, Identity, VerifiedTokens, issue_token
from domain.errors import Refused
from web.identity import bearer_token, verify_token

SECRET = "unit-secret-" + "x" * 52
ISSUER = "general-scheduler"


def test_a_remembered_token_still_names_its_subject_and_roles() -> None:
    token = issue_token(SECRET, ISSUER, "visitor-1", ["user"], 60)
    first = verify_token(f"Bearer {token}", SECRET, ISSUER)
    again = verify_token(f"Bearer {token}", SECRET, ISSUER)
    assert again == first
    assert again.subject == "visitor-1"


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    expires = int(time.time()) + 1
    token = jwt.encode({"sub": "visitor-2", "exp": expires}, SECRET, algorithm=ALGORITHM)
    verify_token(f"Bearer {token}", SECRET, ISSUER)
    while time.time() <= expires:
        time.sleep(0.05)
    with pytest.raises(Refused) as refused:
        verify_token(f"Bearer {token}", SECRET, ISSUER)
    assert refused.value.code.value == "UNAUTHENTICATED"


def test_a_token_remembered_under_one_secret_is_refused_under_another() -> None:
    token = issue_token(SECRET, ISSUER, "visitor-3", ["user"], 60)
    verify_token(f"Bearer {token}", SECRET, ISSUER)
    with pytest.raises(Refused):
        verify_token(f"Bearer {token}", "another-secret-" + "y" * 49, ISSUER)


@pytest.mark.parametrize("padding", [" ", "   ", "\t", " \t  "])
def test_a_token_is_read_however_the_header_spaces_it(padding: str) -> None:
    token = issue_token(SECRET, ISSUER, "visitor-4", ["user"], 60)
    assert bearer_token(f"Bearer{padding}{token} ") == token
    assert verify_token(f"bearer{padding}{token}", SECRET, ISSUER).subject == "visitor-4"


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Basic abc", "abc", ""])
def test_a_header_that_is_not_one_bearer_token_is_refused(header: str) -> None:
    with pytest.raises(Refused):
        bearer_token(header)


@given(sizes=st.lists(st.integers(min_value=1, max_value=8000), min_size=1, max_size=200))
def test_the_verified_cache_never_holds_more_than_its_bytes(sizes: list[int]) -> None:
    cache = VerifiedTokens(max_bytes=64 * 1024)
    identity = Identity("visitor", frozenset())
    for index, size in enumerate(sizes):
        cache.put((SECRET, ISSUER, f"{index}:" + "x" * size), identity, time.time() + 60)
        assert cache.held_bytes <= 64 * 1024
