"""Schemathesis against the generated OpenAPI document: no 5xx, replies match their schemas."""

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api import token

EXAMPLES_PER_OPERATION = 10


def test_every_operation_conforms_to_the_document(base_url: str) -> None:
    schema = schemathesis.openapi.from_dict(requests.get(f"{base_url}/openapi.json").json())
    headers = {"Authorization": f"Bearer {token(['admin'])}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=base_url,
                headers=headers,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

        conforms()
