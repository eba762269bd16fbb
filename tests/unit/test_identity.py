"""Bearer tokens: a verified token is remembered, but never past its expiry."""

import time

import jwt
import pytest

from domain.errors import ApiError
from web.identity import ALGORITHM, issue_token, verify_token

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
    with pytest.raises(ApiError) as refused:
        verify_token(f"Bearer {token}", SECRET, ISSUER)
    assert refused.value.code.value == "UNAUTHENTICATED"


def test_a_token_remembered_under_one_secret_is_refused_under_another() -> None:
    token = issue_token(SECRET, ISSUER, "visitor-3", ["user"], 60)
    verify_token(f"Bearer {token}", SECRET, ISSUER)
    with pytest.raises(ApiError):
        verify_token(f"Bearer {token}", "another-secret-" + "y" * 49, ISSUER)
