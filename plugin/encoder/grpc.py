"""``QueryEncoder`` over the service's gRPC API (``grounded.v1.Vectorizer``).

Bulk embedding goes over ``EmbedStream`` in chunks (bounded by item count and bytes, so no
message nears the limits), which keeps one connection busy instead of paying a round trip per
call. gRPC status codes map back to the :mod:`schemas.errors` classes through the same table
the service uses to produce them, so a caller handles one error tree whichever encoder it has.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import grpc
import numpy as np

from schemas import grounded_pb2 as pb
from schemas import grounded_pb2_grpc as pb_grpc
from schemas.errors import (
    ERROR_BY_KIND,
    STATUS_BY_KIND,
    GroundedError,
    InvalidInputError,
    UpstreamError,
)
from schemas.model_info import ModelInfo
from schemas.proto import from_message, to_message
from schemas.wire import ComposeOptions, ComposeResult
from vectorizer_service import Vectors

__all__ = ["CHUNK_ITEMS", "GrpcEncoder", "error_from_rpc"]

CHUNK_ITEMS = 32
"""Items per EmbedStream message: well under the service's per-request limit."""
_CHUNK_BYTES = 16 * 1024 * 1024
_MAX_MESSAGE_BYTES = 128 * 1024 * 1024
_TOO_LARGE = "message larger than max"
"""What gRPC says (RESOURCE_EXHAUSTED) when a message is over the sender's or receiver's limit."""

# Inverse of STATUS_BY_KIND; where kinds share a code (UNAVAILABLE) the first listed wins: "not
# ready" is also what a client should do about a refused connection - retry later.
_CLASS_BY_CODE: dict[str, type[GroundedError]] = {}
for _kind, _status in STATUS_BY_KIND.items():
    _CLASS_BY_CODE.setdefault(_status.grpc, ERROR_BY_KIND[_kind])

T = TypeVar("T")


def error_from_rpc(exc: grpc.RpcError, what: str) -> GroundedError:
    """The :mod:`schemas.errors` error for a failed call."""
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (exc.details() if isinstance(exc, grpc.Call) else None) or str(exc)
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return UpstreamError(f"{what}: the vectorizer service timed out")
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and _TOO_LARGE in details:
        # Not overload: this request will never fit. As invalid input, a bulk caller retries
        # its items one by one (the import does), so only the item too large for it fails.
        return InvalidInputError(f"{what}: the request is larger than the service accepts ({details})")
    cls = _CLASS_BY_CODE.get(code.name, UpstreamError)
    return cls(details if cls is not UpstreamError else f"{what}: {details}")


def _vectors(rows: Sequence[pb.Vector]) -> Vectors:
    if not rows:
        return np.zeros((0, 0), np.float32)
    return np.asarray([list(v.values) for v in rows], dtype=np.float32)


def _chunks(items: Sequence[T], size_of: Any) -> Iterator[list[T]]:
    chunk: list[T] = []
    size = 0
    for item in items:
        if chunk and (len(chunk) >= CHUNK_ITEMS or size + size_of(item) > _CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += size_of(item)
    if chunk:
        yield chunk


class GrpcEncoder:
    """Talks to a running Grounded service at ``address`` (``host:port``)."""

    def __init__(self, address: str, *, timeout_s: float = 60, api_key: str | None = None) -> None:
        self._address = address
        self._timeout = timeout_s
        # The service's API key (GROUNDED_API_KEY there), sent with every call when set.
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else None
        self._channel = grpc.insecure_channel(
            address,
            options=[
                ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ],
        )
        self._stub = pb_grpc.VectorizerStub(self._channel)

    def model_info(self) -> ModelInfo:
        try:
            r = self._stub.GetModelInfo(pb.ModelInfoRequest(), timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, f"GetModelInfo on {self._address}") from exc
        return from_message(r, ModelInfo)

    def _embed(self, requests: list[pb.EmbedRequest], images: bool) -> Vectors:
        if not requests:
            return np.zeros((0, 0), np.float32)
        try:
            if len(requests) == 1:
                answers = [self._stub.Embed(requests[0], timeout=self._timeout, metadata=self._metadata)]
            else:
                # One stream for the whole bulk call; the deadline grows with its length.
                answers = list(
                    self._stub.EmbedStream(
                        iter(requests), timeout=self._timeout * len(requests), metadata=self._metadata
                    )
                )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, f"embedding on {self._address}") from exc
        for answer in answers:
            if answer.HasField("error"):
                # One request of the stream failed; the call as a whole fails the same way.
                cls = _CLASS_BY_CODE.get(answer.error.code, UpstreamError)
                raise cls(answer.error.message)
        by_id = {a.request_id: a for a in answers}
        parts = [
            _vectors(by_id[r.request_id].image_vectors if images else by_id[r.request_id].text_vectors)
            for r in requests
        ]
        return np.concatenate(parts, axis=0)

    def embed_images(self, images: Sequence[bytes]) -> Vectors:
        requests = [
            pb.EmbedRequest(images=chunk, request_id=str(i)) for i, chunk in enumerate(_chunks(images, len))
        ]
        return self._embed(requests, images=True)

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        requests = [
            pb.EmbedRequest(texts=chunk, request_id=str(i))
            for i, chunk in enumerate(_chunks(texts, lambda t: len(t.encode())))
        ]
        return self._embed(requests, images=False)

    def compose(self, image: bytes | None, text: str, options: ComposeOptions | None = None) -> ComposeResult:
        request = pb.ComposeQueryRequest(
            image=image or b"", text=text, options=to_message(options or ComposeOptions(), pb.ComposeOptions)
        )
        try:
            r = self._stub.ComposeQuery(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, f"ComposeQuery on {self._address}") from exc
        return from_message(r, ComposeResult)

    def close(self) -> None:
        self._channel.close()
