"""Invalid and hostile data into every operation, as every role: never a 5xx (contract §7).

Two runs over the OpenAPI document, both deterministic:
- a sweep puts each value known to have crashed a handler (calendar edges, crafted
  and foreign cursors, deep JSON) into every query parameter and body field of
  every operation, next to real ids so the request gets past lookups;
- a fuzz run draws Schemathesis's valid and invalid cases, a token of any role,
  hostile headers, and sometimes one hostile value in a parameter or field.
"""

import base64
import datetime as dt
import io
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.schemas import APIOperation

from tests.support.api import token
from web.app import ROUTES

ROLES = ["admin", "manager", "scheduler", "frontdesk", "user"]
LISTS = ["locations", "people", "availabilities", "bookings"]
FUZZ_EXAMPLES = 20


def _base64_json(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


SOME_ID = str(uuid.uuid4())
HOSTILE_TEXT = [
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2026-02-30",
    "9" * 40,
    "",
    _base64_json([1, 2]),
    _base64_json(["x"]),
    _base64_json([[]]),
    _base64_json(["bookings", "0001-01-01T00:00:00+14:00", SOME_ID]),
    _base64_json(["bookings", "9999-12-31T23:59:59-14:00", SOME_ID]),
    _base64_json(["locations", 1]),
    _base64_json(["people", SOME_ID, SOME_ID]),
    base64.urlsafe_b64encode(b"[" * 4000).decode(),
]
"""Query values that once crashed handlers: calendar edges, crafted and foreign cursors."""

HOSTILE_JSON: list[object] = [
    *HOSTILE_TEXT[:5],
    None,
    [],
    {},
    -1,
    10**30,
    1e308,
    _nested(33),
]
"""Body field values: calendar edges, every JSON type, and nesting just past the 32-level limit."""


def _post(base_url: str, path: str, body: dict, role: str = "admin") -> dict:
    headers = {"Authorization": f"Bearer {token([role])}", "Idempotency-Key": str(uuid.uuid4())}
    response = requests.post(f"{base_url}{path}", json=body, headers=headers, timeout=10)
    assert response.status_code in (201, 202), response.text
    return response.json()


def _get(base_url: str, path: str, **params: str) -> dict:
    headers = {"Authorization": f"Bearer {token(['admin'])}"}
    return requests.get(f"{base_url}{path}", params=params, headers=headers, timeout=10).json()


def _known_objects(base_url: str) -> dict[str, str]:
    """A location, person, finished job and booking, so requests also reach real rows."""
    location = _post(base_url, "/admin/v1/locations", {"name": "Clinic"})["location"]["id"]
    person = _post(base_url, "/admin/v1/people", {"location_id": location, "name": "Dr Who"})
    rule = {
        "location_id": location,
        "rule_kind": "WEEKLY",
        "start_time": "09:00",
        "end_time": "12:00",
    }
    rule_id = _post(base_url, "/admin/v1/availabilities", rule)["availability"]["id"]
    day = str(dt.datetime.now(ZoneInfo("Asia/Dubai")).date() + dt.timedelta(days=2))
    generate = {"location_id": location, "from": day, "to": day}
    job = _post(base_url, "/admin/v1/slots/generate", generate)["job"]["id"]
    deadline = time.monotonic() + 20
    while _get(base_url, f"/admin/v1/jobs/{job}")["job"]["status"] != "succeeded":
        assert time.monotonic() < deadline, "generation never succeeded"
        time.sleep(0.05)
    slot = _get(base_url, "/admin/v1/slots", location_id=location, date=day)["items"][0]["id"]
    customer = {"name": "Ann", "phone": "+971501234567"}
    booking = _post(base_url, "/v1/bookings", {"slot_id": slot, "customer": customer}, "frontdesk")
    account = {"email": "desk@example.org", "password": "correct horse battery", "roles": ["admin"]}
    staff = _post(base_url, "/admin/v1/staff", account)["staff"]["id"]
    return {
        "location_id": location,
        "person_id": person["person"]["id"],
        "slot_id": slot,
        "job_id": job,
        "booking_id": booking["booking"]["id"],
        "availability_id": rule_id,
        "staff_id": staff,
    }


PATH_IDS = {
    "/jobs/": "job_id",
    "/locations/": "location_id",
    "/people/": "person_id",
    "/availabilities/": "availability_id",
    "/staff/": "staff_id",
    "/bookings/": "booking_id",
}
"""Which known object an operation's `{id}` names, by the collection in its path."""


def _real_ids(operation: APIOperation, known: dict[str, str]) -> dict[str, dict[str, str]]:
    """Real ids for the operation's id parameters, as `as_strategy` overrides."""
    pins: dict[str, dict[str, str]] = {}
    query = {p.name: known[p.name] for p in operation.query if p.name in known}
    if query:
        pins["query"] = query
    if operation.path_parameters:
        found = (kind for part, kind in PATH_IDS.items() if part in operation.path)
        kind = next(found, "booking_id")
        pins["path_parameters"] = {"id": known[kind]}
    return pins


def _operations(base_url: str) -> list[APIOperation]:
    schema = schemathesis.openapi.from_dict(requests.get(f"{base_url}/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    return operations


def _run_per_operation(
    operations: list[APIOperation],
    examples: int,
    strategy: Callable[[APIOperation], st.SearchStrategy],
    test: Callable[[Any], None],
) -> None:
    for operation in operations:
        settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )(given(strategy(operation))(test))()


def _body_fields(operation: APIOperation) -> list[str]:
    """The top-level fields of the operation's body model, as the API names them."""
    route = next(
        r for r in ROUTES if (r.method, r.path) == (operation.method.upper(), operation.path)
    )
    model = route.body
    return [] if model is None else [f.alias or name for name, f in model.model_fields.items()]


def _server_errors(response: requests.Response, case: schemathesis.Case) -> list[str]:
    if response.status_code < 500:
        return []
    return [f"{response.status_code} {case.as_curl_command()}"]


def test_hostile_values_in_every_parameter_and_field_get_4xx(
    base_url: str, log_lines: io.StringIO
) -> None:
    known = _known_objects(base_url)
    admin = {"Authorization": f"Bearer {token(['admin'])}"}
    session = requests.Session()
    failures: list[str] = []

    def send(case: schemathesis.Case, **changes: Any) -> None:
        changed = case.operation.Case(
            path_parameters=case.path_parameters,
            query=changes.get("query", case.query),
            body=changes.get("body", case.body),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        failures.extend(_server_errors(changed.call(base_url, session, admin), changed))

    def sweep(case: schemathesis.Case) -> None:
        for parameter in case.operation.query:
            for value in HOSTILE_TEXT:
                send(case, query={**(case.query or {}), parameter.name: value})
        fields = _body_fields(case.operation)
        body = {**case.body, **{k: v for k, v in known.items() if k in fields}} if fields else {}
        for field in fields:
            for value in HOSTILE_JSON:
                send(case, body={**body, field: value})

    def valid_with_real_ids(operation: APIOperation) -> st.SearchStrategy:
        return operation.as_strategy(GenerationMode.POSITIVE, **_real_ids(operation, known))

    _run_per_operation(_operations(base_url), 1, valid_with_real_ids, sweep)
    assert failures == []
    assert '"level": "error"' not in log_lines.getvalue()


_HEADER_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=300)
HOSTILE_HEADERS = st.fixed_dictionaries(
    {},
    optional={name: _HEADER_TEXT for name in ("X-Exposure-Variant", "Idempotency-Key")},
)
_SPOIL = st.none() | st.tuples(
    st.integers(0, 7), st.sampled_from(HOSTILE_TEXT), st.sampled_from(HOSTILE_JSON)
)


def _spoiled(case: schemathesis.Case, spoil: tuple[int, str, object] | None) -> None:
    """Puts a hostile value into one query parameter and one body field, if there are any."""
    if spoil is None:
        return
    where, text, value = spoil
    names = [parameter.name for parameter in case.operation.query]
    if names:
        case.query = {**(case.query or {}), names[where % len(names)]: text}
    if isinstance(case.body, dict) and case.body:
        case.body = {**case.body, sorted(case.body)[where % len(case.body)]: value}


def test_fuzzed_requests_as_every_role_get_no_5xx(base_url: str, log_lines: io.StringIO) -> None:
    known = _known_objects(base_url)
    session = requests.Session()
    failures: list[str] = []

    def cases(operation: APIOperation) -> st.SearchStrategy:
        modes = [
            operation.as_strategy(mode, **pins)
            for mode in GenerationMode
            for pins in ({}, _real_ids(operation, known))
        ]
        return st.tuples(st.one_of(modes), st.sampled_from(ROLES), HOSTILE_HEADERS, _SPOIL)

    def fuzz(drawn: tuple) -> None:
        case, role, headers, spoil = drawn
        _spoiled(case, spoil)
        headers = {**headers, "Authorization": f"Bearer {token([role])}"}
        failures.extend(_server_errors(case.call(base_url, session, headers), case))

    _run_per_operation(_operations(base_url), FUZZ_EXAMPLES, cases, fuzz)
    assert failures == []
    assert '"level": "error"' not in log_lines.getvalue()
