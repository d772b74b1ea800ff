"""Split a Weaviate import into requests by encoded size as well as by count: images travel as
base64 blobs, and a gRPC message over the server's ``GRPC_MAX_MESSAGE_SIZE`` (default
104858000 bytes, ``usecases/config/environment.go``) fails the whole batch."""

from __future__ import annotations

from collections.abc import Sequence

from plugin.store.protocol import ProductRow

__all__ = ["by_encoded_size", "encoded_size"]

# Protobuf framing and field names per object and per property, generously.
_OBJECT_OVERHEAD = 512


def encoded_size(row: ProductRow) -> int:
    """About how many bytes the object takes in a gRPC batch request."""
    size = _OBJECT_OVERHEAD + 4 * len(row.vector or ())
    for name, value in row.properties.items():
        size += len(name) + 16
        if isinstance(value, str):
            size += len(value.encode())
        elif isinstance(value, list):
            size += sum(len(str(v).encode()) + 8 for v in value)
        else:
            size += 16
    return size


def by_encoded_size(rows: Sequence[ProductRow], limit: int) -> list[list[ProductRow]]:
    """Consecutive runs of ``rows`` whose encoded sizes add up to at most ``limit`` (an object
    over the limit alone forms its own run)."""
    parts: list[list[ProductRow]] = []
    current: list[ProductRow] = []
    used = 0
    for row in rows:
        size = encoded_size(row)
        if current and used + size > limit:
            parts.append(current)
            current, used = [], 0
        current.append(row)
        used += size
    if current:
        parts.append(current)
    return parts
