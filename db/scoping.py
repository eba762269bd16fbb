"""The SQL forms of `domain.scope.Scope`, for lists filtered in the database.

Each statement binds the caller's scope as `:scope` (`Scope.ids()`: NULL for every
location, else an array of ids); `tests/integration/test_scope_sql.py` checks these
forms against the domain's definitions.
"""


def in_scope(location: str) -> str:
    """`Scope.sees` over a SQL expression for an object's location."""
    return (
        "(CAST(:scope AS uuid[]) IS NULL"
        f" OR ({location} IS NOT NULL AND {location} = ANY(CAST(:scope AS uuid[]))))"
    )


def covered_by(locations: str) -> str:
    """`Scope.covers` over a SQL expression for another scope (NULL: every location)."""
    return (
        "(CAST(:scope AS uuid[]) IS NULL"
        f" OR ({locations} IS NOT NULL AND {locations} <@ CAST(:scope AS uuid[])))"
    )
