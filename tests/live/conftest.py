"""Fixtures for tests of the customer lifecycle against the real platform's processes."""

# First, so that services are provisioned before any application module is imported.
import tests.support.provision  # noqa: F401

# isort: split

from tests.faults.conftest import platform, platform_env

__all__ = ["platform", "platform_env"]
