"""Grounded's tests, one folder per tier (each test gets its folder's marker, tests/conftest.py)
and ``tests.support``, the fakes and builders they share."""
