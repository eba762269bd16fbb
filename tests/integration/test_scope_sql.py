"""The SQL forms of the location scope say what `domain.scope` says, on random scopes.

Lists are filtered in Postgres (`db.scoping`); single objects are checked in Python
(`Scope.sees`, `Scope.covers`). Both must agree, or a list would show what a lookup
of the same object refuses.
"""

import asyncio
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from common.settings import get_settings
from db.engine import create_engine
from db.scoping import covered_by, in_scope
from domain.scope import Scope

LOCATIONS = [uuid.UUID(int=n) for n in range(1, 6)]
scopes = st.none() | st.frozensets(st.sampled_from(LOCATIONS))
objects = st.lists(st.none() | st.sampled_from(LOCATIONS), max_size=8)
account_scopes = st.lists(scopes, max_size=8)


async def _select(expression: str, values: list, scope: Scope, cast: str) -> list[bool]:
    engine = create_engine(get_settings().database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    f"SELECT {expression} FROM unnest(CAST(:values AS {cast})) WITH ORDINALITY"
                    " AS v(value, n) ORDER BY v.n"
                ),
                {"values": values, "scope": scope.ids()},
            )
            return [bool(r[0]) for r in rows]
    finally:
        await engine.dispose()


@settings(max_examples=30)
@given(scopes, objects)
def test_in_scope_is_the_domains_sees(names, locations) -> None:
    scope = Scope(names)
    found = asyncio.run(_select(in_scope("v.value"), locations, scope, "uuid[]"))
    assert found == [scope.sees(location) for location in locations]


@settings(max_examples=30)
@given(scopes, account_scopes)
def test_covered_by_is_the_domains_covers(names, others) -> None:
    scope = Scope(names)
    # Each account's scope as Postgres stores it: NULL, or an array literal of its ids.
    literals = [
        None if o is None else "{" + ",".join(str(i) for i in sorted(o)) + "}" for o in others
    ]
    expression = covered_by("CAST(v.value AS uuid[])")
    found = asyncio.run(_select(expression, literals, scope, "text[]"))
    assert found == [scope.covers(Scope(other)) for other in others]
