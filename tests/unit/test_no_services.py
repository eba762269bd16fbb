"""Unit tests run without Postgres or Redis: nothing they import or do needs a service."""

import os
import subprocess
import sys

from tests.support.platform import ROOT

CLOSED = "127.0.0.1:9"
"""The discard port: nothing listens there, so any connection attempt fails at once."""

RUN_UNIT_TESTS = """
import sys
import pytest
status = pytest.main(["tests/unit", "-q", "-p", "no:cacheprovider", "-k", sys.argv[1]])
print("provisioned" if "tests.support.provision" in sys.modules else "nothing provisioned")
sys.exit(status)
"""


def test_unit_tests_pass_with_every_service_out_of_reach() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEST_", "DATABASE_", "REDIS_", "PII_", "JWT_", "METRICS_"))
    }
    env |= {
        "DATABASE_URL": f"postgresql://postgres@{CLOSED}/none",
        "REDIS_URL": f"redis://{CLOSED}/0",
        # Were anything to provision services anyway, it would find none either.
        "TEST_DATABASE_URL": f"postgresql://postgres@{CLOSED}/none",
        "TEST_REDIS_URL": f"redis://{CLOSED}",
    }
    others = f"not {test_unit_tests_pass_with_every_service_out_of_reach.__name__}"
    run = subprocess.run(
        [sys.executable, "-c", RUN_UNIT_TESTS, others],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert run.stdout.rstrip().endswith("nothing provisioned"), run.stdout[-2000:]
