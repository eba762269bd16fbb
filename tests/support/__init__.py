"""Test infrastructure: real services, provisioned per test run."""
