"""Location scope: which locations a staff caller may see and change.

A staff account (or a product's token, through its `location_ids` claim) may be
limited to some locations. Such a caller sees only their objects in every list
and is answered 404 for anything else, as if it did not exist. Every admin
endpoint asks this one definition; the SQL form (`db.scoping.in_scope`) is
checked against it by a test.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from domain.errors import ErrorCode, Refused


@dataclass(frozen=True)
class Scope:
    """Every location (`locations` None), or only those named (maybe none at all)."""

    locations: frozenset[uuid.UUID] | None = None

    @classmethod
    def of(cls, location_ids: Iterable[uuid.UUID | str] | None) -> "Scope":
        if location_ids is None:
            return cls()
        return cls(frozenset(uuid.UUID(str(i)) for i in location_ids))

    @property
    def limited(self) -> bool:
        return self.locations is not None

    def sees(self, location_id: uuid.UUID | str | None) -> bool:
        """Whether an object of this location is visible; an object of none is not, when limited."""
        if self.locations is None:
            return True
        if location_id is None:
            return False
        return uuid.UUID(str(location_id)) in self.locations

    def covers(self, other: "Scope") -> bool:
        """Whether every location `other` reaches is one of these (a scope within this one)."""
        if self.locations is None:
            return True
        return other.locations is not None and other.locations <= self.locations

    def require(self, location_id: uuid.UUID | str | None, what: str) -> None:
        """Refuses as unknown (404) an object or query of a location outside the scope."""
        if not self.sees(location_id):
            raise Refused(ErrorCode.NOT_FOUND, f"no such {what}")

    def ids(self) -> list[uuid.UUID] | None:
        """The scope as SQL takes it: None for every location, else the ids in order."""
        return None if self.locations is None else sorted(self.locations)

    def as_list(self) -> list[str] | None:
        """The scope as JSON carries it (commands, replies)."""
        return None if self.locations is None else [str(i) for i in sorted(self.locations)]
