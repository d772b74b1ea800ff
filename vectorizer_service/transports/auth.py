"""Optional API-key authentication, shared by both transports.

With ``ServiceSettings.api_key`` set, callers of the protected endpoints must send
``Authorization: Bearer <key>`` (an HTTP header, or gRPC metadata ``authorization``). The
endpoints Weaviate's ``multi2vec-clip`` module calls - ``/vectorize``, ``/meta`` and the
``/.well-known`` probes - stay open, because Weaviate sends no credentials to its inference
container; fence them by network (see docs/security.md). The comparison is constant-time.
"""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from schemas.errors import UnauthenticatedError

__all__ = ["OPEN_HTTP_PATHS", "check_bearer"]

OPEN_HTTP_PATHS = frozenset({"/.well-known/live", "/.well-known/ready", "/meta", "/vectorize", "//vectorize"})
"""HTTP paths that never need the key: the multi2vec-clip contract and the probes."""


def check_bearer(authorization: str | None, api_key: SecretStr | None) -> None:
    """Raise :class:`UnauthenticatedError` unless ``authorization`` is ``Bearer <api_key>``
    (nothing is required when no key is configured)."""
    if api_key is None:
        return
    if not authorization:
        raise UnauthenticatedError("this endpoint needs an API key: send 'Authorization: Bearer <key>'")
    scheme, _, token = authorization.partition(" ")
    expected = api_key.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        raise UnauthenticatedError("wrong API key")
