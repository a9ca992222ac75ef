"""Fakes of external services that cannot run in the test environment (each follows the real API)."""
