"""A platform token stands while its account is active, keeps its roles and its password."""

import dataclasses

from domain.staff import StaffAccount, credential, still_stands

ACCOUNT = StaffAccount("a1", "boss@example.org", frozenset({"admin", "manager"}), True, "$argon2$x")
CREDENTIAL = credential(ACCOUNT.password_hash)


def test_a_token_stands_while_nothing_changed() -> None:
    assert still_stands(ACCOUNT, frozenset({"admin"}), CREDENTIAL)


def test_a_missing_or_inactive_account_backs_no_token() -> None:
    assert not still_stands(None, frozenset({"admin"}), CREDENTIAL)
    inactive = dataclasses.replace(ACCOUNT, active=False)
    assert not still_stands(inactive, frozenset({"admin"}), CREDENTIAL)


def test_a_token_claiming_a_role_the_account_lost_falls() -> None:
    assert not still_stands(ACCOUNT, frozenset({"admin", "frontdesk"}), CREDENTIAL)


def test_a_new_password_hash_changes_the_credential() -> None:
    rehashed = dataclasses.replace(ACCOUNT, password_hash="$argon2$y")
    assert not still_stands(rehashed, frozenset({"admin"}), CREDENTIAL)
    assert not still_stands(ACCOUNT, frozenset({"admin"}), None)
