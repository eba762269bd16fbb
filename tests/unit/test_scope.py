"""Location scope: who may see which location, as every admin endpoint asks it."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.tokens import issue_token, verify
from domain.errors import ErrorCode, Refused
from domain.scope import Scope

SECRET = "unit-secret-" + "y" * 52
ISSUER = "general-scheduler"
LOCATIONS = [uuid.UUID(int=n) for n in range(1, 7)]
some_locations = st.frozensets(st.sampled_from(LOCATIONS))
scopes = st.none() | some_locations


@given(scopes, st.sampled_from(LOCATIONS))
def test_a_scope_sees_exactly_the_locations_it_names(names, location) -> None:
    scope = Scope(names)
    assert scope.sees(location) == (names is None or location in names)
    assert scope.sees(str(location)) == scope.sees(location)


@given(scopes)
def test_an_object_of_no_location_is_seen_only_without_a_limit(names) -> None:
    assert Scope(names).sees(None) == (names is None)


@given(scopes, st.sampled_from(LOCATIONS))
def test_require_refuses_as_unknown_what_the_scope_does_not_see(names, location) -> None:
    scope = Scope(names)
    if scope.sees(location):
        scope.require(location, "booking")
        return
    with pytest.raises(Refused) as refused:
        scope.require(location, "booking")
    assert refused.value.code is ErrorCode.NOT_FOUND
    assert refused.value.message == "no such booking"


@given(scopes, scopes)
def test_a_scope_covers_another_when_it_sees_all_the_other_sees(mine, theirs) -> None:
    covers = Scope(mine).covers(Scope(theirs))
    if theirs is None:
        assert covers == (mine is None)
    else:
        assert covers == all(Scope(mine).sees(location) for location in theirs)


@given(scopes)
def test_a_scope_survives_its_json_and_sql_forms(names) -> None:
    scope = Scope(names)
    assert Scope.of(scope.as_list()) == scope
    assert Scope.of(scope.ids()) == scope
    assert scope.limited == (names is not None)


def test_a_token_without_the_claim_sees_every_location() -> None:
    token = issue_token(SECRET, ISSUER, "desk-0", ["frontdesk"], 60)
    assert not verify(token, SECRET, ISSUER).scope.limited


@given(some_locations)
def test_a_product_token_is_limited_to_the_locations_its_claim_names(names) -> None:
    claim = [str(location) for location in names]
    token = issue_token(SECRET, ISSUER, "desk-1", ["frontdesk"], 60, location_ids=claim)
    assert verify(token, SECRET, ISSUER).scope == Scope(names)


@pytest.mark.parametrize("claim", ["all", [1, 2], ["not-a-uuid"], {"a": 1}])
def test_a_malformed_location_claim_is_401(claim: object) -> None:
    token = issue_token(SECRET, ISSUER, "desk-2", ["frontdesk"], 60, location_ids=claim)
    with pytest.raises(Refused) as refused:
        verify(token, SECRET, ISSUER)
    assert refused.value.code is ErrorCode.UNAUTHENTICATED
