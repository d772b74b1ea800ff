"""The installed Grounded version, as its package metadata says (pyproject.toml's, once
installed): the CLI's ``--version``, the service's ``/meta`` and gRPC ``GetModelInfo``."""

from __future__ import annotations

import functools

__all__ = ["NOT_INSTALLED", "package_version"]

NOT_INSTALLED = "unknown (not installed: pip install -e .)"


@functools.cache
def package_version() -> str:
    """``grounded``'s version (read once per process), or :data:`NOT_INSTALLED`."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("grounded")
    except PackageNotFoundError:
        return NOT_INSTALLED
