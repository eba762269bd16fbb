"""Provisions real Postgres and Redis for the run before any application module is imported.

Application modules read settings (and the worker broker binds to Redis) when they
are imported, and pytest may import nested conftest files before `pytest_configure`
runs, so the environment is set here, while this root conftest is being imported.
"""

import logging
import os
import shutil
import tempfile

import pytest
from hypothesis import settings as hypothesis_settings

from common.pii import generate_key
from tests.support.services import Services

TEST_ENV = {
    "JWT_SECRET": "test-secret-" + "x" * 64,
    "PII_KEY": f"k1:{generate_key()}",
    "EXPOSURE_SALT": "test-salt",
    "LOG_LEVEL": "INFO",
    "RATE_LIMIT_USER_GET": "100000/minute",
    "RATE_LIMIT_BOOKING_POST": "100000/minute",
    "RATE_LIMIT_ADMIN": "100000/minute",
    "RATE_LIMIT_SESSION_POST": "100000/minute",
    "RATE_LIMIT_IP_GET": "100000/minute",
    "RATE_LIMIT_IP_BOOKING_POST": "100000/minute",
    "RATE_LIMIT_LOGIN": "100000/minute",
}


def _provision() -> Services:
    from common.logging import configure_logging
    from db.migrate import upgrade

    services = Services()
    services.start()
    os.environ.update(TEST_ENV)
    os.environ["DATABASE_URL"] = services.database_url
    os.environ["REDIS_URL"] = services.redis_url
    os.environ["METRICS_DIR"] = tempfile.mkdtemp(prefix="gs-test-metrics-")
    configure_logging("INFO")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade(services.database_url)
    return services


_services = _provision()

# CI replays the same examples every run; no per-example deadline on a shared 2-core box.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_unconfigure(config: pytest.Config) -> None:
    _services.stop()
    shutil.rmtree(os.environ["METRICS_DIR"], ignore_errors=True)
