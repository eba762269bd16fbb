"""Roles and the contract's role matrix, in one place."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SCHEDULER = "scheduler"
    FRONTDESK = "frontdesk"
    USER = "user"


class Permission(StrEnum):
    CATALOG_WRITE = "catalog:write"
    CATALOG_READ = "catalog:read"
    AVAILABILITY = "availability"
    BOOKINGS_ADMIN = "bookings:admin"
    DASHBOARD = "dashboard"
    STAFF = "staff"
    AUDIT = "audit"
    WEBHOOKS = "webhooks"


GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.CATALOG_WRITE: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.CATALOG_READ: frozenset({Role.ADMIN, Role.MANAGER, Role.SCHEDULER, Role.FRONTDESK}),
    Permission.AVAILABILITY: frozenset({Role.ADMIN, Role.MANAGER, Role.SCHEDULER}),
    Permission.BOOKINGS_ADMIN: frozenset({Role.ADMIN, Role.MANAGER, Role.FRONTDESK}),
    Permission.DASHBOARD: frozenset({Role.ADMIN}),
    Permission.STAFF: frozenset({Role.ADMIN}),
    Permission.AUDIT: frozenset({Role.ADMIN}),
    Permission.WEBHOOKS: frozenset({Role.ADMIN, Role.MANAGER}),
}

STAFF_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.SCHEDULER, Role.FRONTDESK})


def is_staff(roles: frozenset[Role]) -> bool:
    """Staff book walk-ins: they may hold any open slot, as many as they need (§10)."""
    return bool(roles & STAFF_ROLES)


def allows(roles: frozenset[Role], permission: Permission) -> bool:
    return bool(roles & GRANTS[permission])
