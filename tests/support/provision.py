"""Real Postgres and Redis for the tests that need them, provisioned on import, once per run.

Application modules may read settings (and the worker broker binds to Redis) when
they are imported, so the conftests of tests/integration, tests/faults and
tests/browser import this module before any of them. tests/unit never does: unit
tests start no service. The root conftest stops what was started.
"""

import logging
import os
import shutil
import tempfile

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
    "RATE_LIMIT_MANAGE": "100000/minute",
}


def _provision() -> Services:
    from common.logging import configure_logging
    from db.migrate import upgrade

    started = Services()
    started.start()
    os.environ.update(TEST_ENV)
    os.environ["DATABASE_URL"] = started.database_url
    os.environ["REDIS_URL"] = started.redis_url
    os.environ["METRICS_DIR"] = tempfile.mkdtemp(prefix="gs-test-metrics-")
    configure_logging("INFO")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade(started.database_url)
    return started


services = _provision()


def stop() -> None:
    services.stop()
    shutil.rmtree(os.environ["METRICS_DIR"], ignore_errors=True)
