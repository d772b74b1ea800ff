"""One error tree for the whole product, and the one table that maps it to HTTP and gRPC.

Every error Grounded raises on purpose derives from :class:`GroundedError`. Transports never
decide a status themselves: they look the error's ``kind`` up in :data:`STATUS_BY_KIND`.
Anything that is not a ``GroundedError`` is a fault: 500 / INTERNAL with a generic message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorKind(enum.Enum):
    """The few kinds of failure a caller can act on."""

    INVALID_INPUT = "invalid_input"
    OVERLOADED = "overloaded"
    NOT_READY = "not_ready"
    MODEL_UNAVAILABLE = "model_unavailable"
    UPSTREAM_FAILED = "upstream_failed"
    NOT_FOUND = "not_found"
    UNAUTHENTICATED = "unauthenticated"
    INTERNAL = "internal"


@dataclass(frozen=True)
class TransportStatus:
    """How one error kind appears on each transport. The gRPC code is named, not imported,
    so that this module stays free of grpc."""

    http: int
    grpc: str
    retry_after_s: int | None = None
    """Sent as HTTP ``Retry-After`` (seconds): the failure is transient, try again then."""


STATUS_BY_KIND: dict[ErrorKind, TransportStatus] = {
    ErrorKind.INVALID_INPUT: TransportStatus(400, "INVALID_ARGUMENT"),
    ErrorKind.OVERLOADED: TransportStatus(429, "RESOURCE_EXHAUSTED", retry_after_s=1),
    ErrorKind.NOT_READY: TransportStatus(503, "UNAVAILABLE"),
    ErrorKind.MODEL_UNAVAILABLE: TransportStatus(503, "UNAVAILABLE"),
    ErrorKind.UPSTREAM_FAILED: TransportStatus(502, "UNAVAILABLE"),
    ErrorKind.NOT_FOUND: TransportStatus(404, "NOT_FOUND"),
    ErrorKind.UNAUTHENTICATED: TransportStatus(401, "UNAUTHENTICATED"),
    ErrorKind.INTERNAL: TransportStatus(500, "INTERNAL"),
}

GENERIC_INTERNAL_MESSAGE = "internal error; see the service log"


class GroundedError(Exception):
    """Base of every error Grounded raises on purpose."""

    kind: ErrorKind = ErrorKind.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def status(self) -> TransportStatus:
        return STATUS_BY_KIND[self.kind]


class InvalidInputError(GroundedError):
    """The caller sent something unusable; the message names the problem and the item."""

    kind = ErrorKind.INVALID_INPUT


class OverloadedError(GroundedError):
    """The bounded queue is full, or the decoded-pixel budget is spent; retry later."""

    kind = ErrorKind.OVERLOADED


class NotReadyError(GroundedError):
    """The service is still loading or warming up its models."""

    kind = ErrorKind.NOT_READY


class ModelUnavailableError(GroundedError):
    """A model could not be loaded (missing weights offline, bad path, unknown name).

    ``stage`` names the composed-query stage whose model it is ("background removal",
    "captioning"); ``None`` for the embedding model. Callers that could swap the embedding model
    (the demo's fallback) must not do so for a stage's missing weights.
    """

    kind = ErrorKind.MODEL_UNAVAILABLE

    def __init__(self, message: str, *, stage: str | None = None) -> None:
        super().__init__(message)
        self.stage = stage


class UpstreamError(GroundedError):
    """A service we depend on (Weaviate, the vectorizer, an image host) failed."""

    kind = ErrorKind.UPSTREAM_FAILED


class NotFoundError(GroundedError):
    """The named thing (collection, object, route) does not exist."""

    kind = ErrorKind.NOT_FOUND


class UnauthenticatedError(GroundedError):
    """The endpoint needs an API key and the caller sent none, or a wrong one."""

    kind = ErrorKind.UNAUTHENTICATED


ERROR_BY_KIND: dict[ErrorKind, type[GroundedError]] = {
    ErrorKind.INVALID_INPUT: InvalidInputError,
    ErrorKind.OVERLOADED: OverloadedError,
    ErrorKind.NOT_READY: NotReadyError,
    ErrorKind.MODEL_UNAVAILABLE: ModelUnavailableError,
    ErrorKind.UPSTREAM_FAILED: UpstreamError,
    ErrorKind.NOT_FOUND: NotFoundError,
    ErrorKind.UNAUTHENTICATED: UnauthenticatedError,
    ErrorKind.INTERNAL: GroundedError,
}
"""The class a client raises for an error a server reported by kind."""


def error_of_kind(kind: str, message: str) -> GroundedError:
    """The error a server reported as ``{"kind", "message"}`` (an unknown kind: upstream failed)."""
    try:
        return ERROR_BY_KIND[ErrorKind(kind)](message)
    except ValueError:
        return UpstreamError(message)


def item_error(field: str, index: int, problem: str) -> InvalidInputError:
    """An input error that names the offending item, e.g. ``images[3]: not an image``."""
    return InvalidInputError(f"{field}[{index}]: {problem}")
