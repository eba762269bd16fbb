"""Settings for every test; services are the business of `tests/support/provision.py`.

Unit tests need no service, so nothing here starts one: the conftests of the
folders whose tests do import the provisioning module, and only then is there
something to stop at the end of the run.
"""

import os
import sys

import pytest
from hypothesis import settings as hypothesis_settings

# CI replays the same examples every run; no per-example deadline on a shared 2-core box.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_unconfigure(config: pytest.Config) -> None:
    provision = sys.modules.get("tests.support.provision")
    if provision is not None:
        provision.stop()
