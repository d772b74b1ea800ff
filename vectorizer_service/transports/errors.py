"""The one place an exception becomes a transport status and a client-facing message.

Both transports call :func:`describe_error` from their single error boundary; the status comes
from :data:`schemas.errors.STATUS_BY_KIND`. Errors we did not raise on purpose are faults: the
caller gets a generic message, the log gets the traceback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import ValidationError

from schemas.errors import GENERIC_INTERNAL_MESSAGE, STATUS_BY_KIND, ErrorKind, GroundedError, TransportStatus

__all__ = ["ErrorReply", "describe_error", "validation_message"]

log = logging.getLogger("vectorizer_service.errors")


@dataclass(frozen=True)
class ErrorReply:
    """What a transport sends for one failure."""

    kind: ErrorKind
    status: TransportStatus
    message: str


def describe_error(exc: BaseException, where: str) -> ErrorReply:
    """Map ``exc`` to its reply; unknown exceptions are logged with their traceback."""
    if isinstance(exc, GroundedError):
        if exc.kind is ErrorKind.INTERNAL:
            log.error("%s failed: %s", where, exc.message, exc_info=exc)
        return ErrorReply(exc.kind, exc.status, exc.message)
    log.error("%s failed with an unexpected error", where, exc_info=exc)
    return ErrorReply(ErrorKind.INTERNAL, STATUS_BY_KIND[ErrorKind.INTERNAL], GENERIC_INTERNAL_MESSAGE)


def validation_message(exc: ValidationError) -> str:
    """A short message naming the offending fields, e.g. ``texts[1]: Input should be a valid string``."""
    parts: list[str] = []
    for error in exc.errors(include_url=False)[:3]:
        if error["type"] == "json_invalid":
            return f"malformed JSON body: {error['msg']}"
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
        parts.append(f"{where or 'body'}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
