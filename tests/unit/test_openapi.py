"""The generated OpenAPI document: examples that validate, error codes, and links that resolve."""

from typing import Any

import pytest

from domain.errors import ErrorCode
from domain.roles import Permission, Role, allows
from web.app import ROUTES
from web.errors import STATUS
from web.openapi import document, error_codes
from web.routing import Route

DOCUMENT = document(ROUTES)


def _operation(route: Route) -> dict[str, Any]:
    return DOCUMENT["paths"][route.path][route.method.lower()]


def _name(route: Route) -> str:
    return f"{route.method} {route.path}"


@pytest.mark.parametrize("route", ROUTES, ids=_name)
def test_every_json_reply_has_an_example_its_model_accepts(route: Route) -> None:
    for status, model in route.responses.items():
        if status >= 400 or model is None:
            continue
        media = _operation(route)["responses"][str(status)]["content"]["application/json"]
        model.model_validate(media["example"])


@pytest.mark.parametrize("route", [r for r in ROUTES if r.body is not None], ids=_name)
def test_every_request_body_example_is_a_valid_request(route: Route) -> None:
    media = _operation(route)["requestBody"]["content"]["application/json"]
    assert route.body is not None
    route.body.model_validate(media["example"])


@pytest.mark.parametrize("route", ROUTES, ids=_name)
def test_every_error_reply_names_its_codes_with_an_example_each(route: Route) -> None:
    responses = _operation(route)["responses"]
    for status, codes in error_codes(route).items():
        reply = responses[str(status)]
        examples = reply["content"]["application/json"]["examples"]
        assert list(examples) == [code.value for code in codes]
        for code in codes:
            assert STATUS[code] == status
            assert code.value in reply["description"]
            assert examples[code.value]["value"]["error"]["code"] == code.value


def test_booking_refusals_are_documented_where_they_happen() -> None:
    by_handler = {route.handler.__name__: route for route in ROUTES}
    assert error_codes(by_handler["create_booking"])[409] == [
        ErrorCode.SLOT_FULL,
        ErrorCode.SLOT_UNAVAILABLE,
        ErrorCode.DUPLICATE_BOOKING,
        ErrorCode.SLOT_NOT_OFFERED,
        ErrorCode.TOO_MANY_HOLDS,
        ErrorCode.TOO_LATE,
        ErrorCode.TOO_EARLY,
        ErrorCode.IDEMPOTENCY_IN_PROGRESS,
    ]
    assert ErrorCode.HOLD_EXPIRED in error_codes(by_handler["confirm_booking"])[409]
    assert "Retry-After" in _operation(by_handler["create_booking"])["responses"]["429"]["headers"]
    assert 409 not in error_codes(by_handler["healthz"])


def test_links_lead_from_a_hold_to_its_booking_and_from_a_job_to_its_status() -> None:
    operations = {
        op["operationId"]: op for methods in DOCUMENT["paths"].values() for op in methods.values()
    }
    followed: set[tuple[str, str]] = set()
    for source, operation in operations.items():
        for reply in operation["responses"].values():
            for link in reply.get("links", {}).values():
                target = operations[link["operationId"]]
                names = {p["name"] for p in target["parameters"] if p["in"] == "path"}
                assert set(link["parameters"]) == names
                followed.add((source, link["operationId"]))
    assert {
        ("create_booking", "get_booking"),
        ("create_booking", "confirm_booking"),
        ("generate", "get_job"),
        ("update_availability", "get_job"),
        ("delete_availability", "get_job"),
        ("create_availability", "get_availability"),
        ("create_staff", "update_staff"),
    } <= followed


@pytest.mark.parametrize("route", ROUTES, ids=_name)
def test_every_admin_operation_names_the_roles_of_the_matrix(route: Route) -> None:
    operation = _operation(route)
    if route.path.startswith("/admin/v1/"):
        assert isinstance(route.access, Permission)
        allowed = [role.value for role in Role if allows(frozenset({role}), route.access)]
        assert operation["x-roles"] == sorted(allowed)
        assert "user" not in operation["x-roles"]
        assert f"Roles: {', '.join(sorted(allowed))}." in operation["description"]
    else:
        assert "x-roles" not in operation


def test_the_lifecycle_endpoints_have_the_contracts_roles_and_codes() -> None:
    by_handler = {route.handler.__name__: route for route in ROUTES}
    roles = {name: _operation(route).get("x-roles") for name, route in by_handler.items()}
    assert roles["update_location"] == roles["update_person"] == ["admin", "manager"]
    catalog_roles = ["admin", "manager", "scheduler"]
    for name in ("get_availability", "update_availability", "delete_availability"):
        assert roles[name] == catalog_roles
    for name in ("create_staff", "list_staff", "update_staff", "list_audit"):
        assert roles[name] == ["admin"]
    assert ErrorCode.IN_USE in error_codes(by_handler["update_location"])[409]
    assert ErrorCode.RULE_OVERLAP in error_codes(by_handler["update_availability"])[409]
    assert ErrorCode.EMAIL_TAKEN in error_codes(by_handler["create_staff"])[409]
