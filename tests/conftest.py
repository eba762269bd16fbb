"""Provisions real Postgres and Redis for the run before any application module is imported.

Application modules read settings (and the worker broker binds to Redis) at import
time, so the environment is set in `pytest_configure`, ahead of collection.
"""

import os

import pytest

from common.pii import generate_key
from tests.support.services import Services

_services = Services()

TEST_ENV = {
    "JWT_SECRET": "test-secret-" + "x" * 32,
    "PII_KEY": f"k1:{generate_key()}",
    "EXPOSURE_SALT": "test-salt",
    "LOG_LEVEL": "INFO",
    "RATE_LIMIT_USER_GET": "100000/minute",
    "RATE_LIMIT_BOOKING_POST": "100000/minute",
    "RATE_LIMIT_ADMIN": "100000/minute",
    "RATE_LIMIT_SESSION_POST": "100000/minute",
}


def pytest_configure(config: pytest.Config) -> None:
    _services.start()
    os.environ.update(TEST_ENV)
    os.environ["DATABASE_URL"] = _services.database_url
    os.environ["REDIS_URL"] = _services.redis_url

    from common.logging import configure_logging
    from db.migrate import upgrade

    configure_logging("INFO")

    upgrade(_services.database_url)


def pytest_unconfigure(config: pytest.Config) -> None:
    _services.stop()
