"""gRPC transport (grpc.aio): ``grounded.v1.Vectorizer``, grpc.health.v1 and reflection.

Methods only convert messages (generically, with :mod:`schemas.proto`: every field of the
pydantic contract and of its proto message, none listed here) and call the engine. One
interceptor maps every exception to its status code (via
:func:`~vectorizer_service.transports.errors.describe_error`) and records the metrics, so no
method has a try/except of its own. Health is ``NOT_SERVING`` until the
engine is ready.

A request that does not parse (corrupt protobuf, a string field that is not UTF-8) is the
caller's error, ``INVALID_ARGUMENT``: the interceptor's deserializer turns it into an
:class:`_Undecodable` placeholder instead of letting grpc answer ``UNKNOWN``. In
``EmbedStream`` each request succeeds or fails on its own: a failed one is answered with its
``error`` set, and the stream goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from pydantic import SecretStr, ValidationError

from schemas import grounded_pb2 as pb
from schemas import grounded_pb2_grpc as pb_grpc
from schemas.errors import GroundedError, InvalidInputError, UnauthenticatedError
from schemas.proto import from_message, to_message
from schemas.wire import ComposeOptions
from vectorizer_service.engine import EmbedResult, Engine
from vectorizer_service.metrics import OUTCOME_CANCELLED, OUTCOME_OK, ServiceMetrics
from vectorizer_service.transports.auth import check_bearer
from vectorizer_service.transports.errors import describe_error, validation_message
from vectorizer_service.transports.wire_count import TooManyElementsError, count_elements

__all__ = ["SERVICE_NAME", "GrpcTransport", "VectorizerServicer"]

_SERVICE = pb.DESCRIPTOR.services_by_name["Vectorizer"]
SERVICE_NAME = _SERVICE.full_name
_STREAM_WINDOW = 8
"""EmbedStream requests in flight at once: enough to fill model batches, bounded memory."""


class _Undecodable:
    """Stands in for a request message that did not parse; using it raises the input error."""

    def __init__(self, message: str) -> None:
        self.message = message


def _parsed(request: Any) -> Any:
    if isinstance(request, _Undecodable):
        raise InvalidInputError(request.message)
    return request


class VectorizerServicer(pb_grpc.VectorizerServicer):  # type: ignore[misc]  # generated, untyped
    """``grounded.v1.Vectorizer`` over an :class:`Engine`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def Embed(self, request: pb.EmbedRequest, context: grpc.aio.ServicerContext) -> pb.EmbedResponse:
        request = _parsed(request)
        result = await self._engine.embed(list(request.texts), list(request.images))
        return _embed_response(result, request.request_id)

    async def EmbedStream(
        self, request_iterator: AsyncIterator[pb.EmbedRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.EmbedResponse]:
        """Answers in request order; up to ``_STREAM_WINDOW`` requests are embedded concurrently
        so their items share model batches."""
        window: asyncio.Queue[asyncio.Future[pb.EmbedResponse] | None] = asyncio.Queue(_STREAM_WINDOW)
        reader = asyncio.ensure_future(self._read_stream(request_iterator, window))
        try:
            while (pending := await window.get()) is not None:
                yield await pending
        finally:
            reader.cancel()
            while not window.empty():
                leftover = window.get_nowait()
                if leftover is not None:
                    leftover.cancel()

    async def _read_stream(
        self,
        request_iterator: AsyncIterator[pb.EmbedRequest],
        window: asyncio.Queue[asyncio.Future[pb.EmbedResponse] | None],
    ) -> None:
        try:
            async for request in request_iterator:
                await window.put(asyncio.ensure_future(self._embed_one_of_stream(request)))
        except Exception as exc:  # reading failed: the consumer raises it in order
            failed: asyncio.Future[pb.EmbedResponse] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            await window.put(failed)
        await window.put(None)

    async def _embed_one_of_stream(self, request: pb.EmbedRequest | _Undecodable) -> pb.EmbedResponse:
        request_id = "" if isinstance(request, _Undecodable) else request.request_id
        try:
            message = _parsed(request)
            result = await self._engine.embed(list(message.texts), list(message.images))
        except GroundedError as exc:
            # This request fails, the stream does not; the message names the request.
            where = f"request {request_id!r}: " if request_id else ""
            error = pb.ItemError(code=exc.status.grpc, message=f"{where}{exc.message}")
            return pb.EmbedResponse(request_id=request_id, error=error)
        return _embed_response(result, request_id)

    async def GetModelInfo(
        self, request: pb.ModelInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.ModelInfoResponse:
        _parsed(request)
        return to_message(self._engine.info, pb.ModelInfoResponse)

    async def ComposeQuery(
        self, request: pb.ComposeQueryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ComposeQueryResponse:
        request = _parsed(request)
        # Converting and validating the options is CPU work in proportion to their entries:
        # off the event loop.
        options = await asyncio.to_thread(_compose_options, request.options)
        result = await self._engine.compose(request.image or None, request.text, options)
        return to_message(result, pb.ComposeQueryResponse)


class GrpcTransport:
    """The gRPC server: our service, health and reflection, with the error interceptor.

    Construct inside the event loop that will run it. ``port`` is the bound port (useful with
    port 0 in tests).
    """

    def __init__(self, engine: Engine, address: str) -> None:
        self._engine = engine
        # Room for framing on top of the largest accepted request.
        max_message = engine.settings.max_request_bytes + 64 * 1024
        self.server = grpc.aio.server(
            interceptors=[_ErrorBoundary(engine.metrics, engine.settings.api_key)],
            options=[("grpc.max_receive_message_length", max_message)],
        )
        pb_grpc.add_VectorizerServicer_to_server(VectorizerServicer(engine), self.server)
        self.health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        health_name = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
        reflection.enable_server_reflection((SERVICE_NAME, health_name, reflection.SERVICE_NAME), self.server)
        self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot bind the gRPC server to {address}")

    async def start(self) -> None:
        """Start serving; health reflects whether the engine is ready yet."""
        await self.server.start()
        await self.update_health()

    async def update_health(self) -> None:
        """Publish SERVING once the engine is ready (call after ``engine.start()``)."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if self._engine.ready
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ("", SERVICE_NAME):
            await self.health.set(service, status)

    async def stop(self, grace: float | None = 5.0) -> None:
        """Report NOT_SERVING, let in-flight calls finish for ``grace`` seconds, stop."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


# --- message conversion ----------------------------------------------------------------------


def _embed_response(result: EmbedResult, request_id: str) -> pb.EmbedResponse:
    return pb.EmbedResponse(
        text_vectors=[pb.Vector(values=row) for row in result.text_vectors.tolist()],
        image_vectors=[pb.Vector(values=row) for row in result.image_vectors.tolist()],
        request_id=request_id,
    )


def _compose_options(message: pb.ComposeOptions) -> ComposeOptions:
    try:
        return from_message(message, ComposeOptions)
    except ValidationError as exc:
        raise InvalidInputError(validation_message(exc)) from None


# --- the one error boundary -------------------------------------------------------------------

_Handler = Callable[..., Any]


_INLINE_PARSE_BYTES = 64 * 1024
"""Messages up to this size are parsed on the event loop: a thread hop would cost more."""


class _Encoded:
    """A request message as received, parsed by the boundary (see ``intercept_service``)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


async def _decoded(parse: Callable[[bytes], Any], request: Any) -> Any:
    if not isinstance(request, _Encoded):
        return request
    if len(request.data) <= _INLINE_PARSE_BYTES:
        return parse(request.data)
    return await asyncio.to_thread(parse, request.data)


async def _decoded_each(parse: Callable[[bytes], Any], requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        yield await _decoded(parse, request)


def _tolerant(deserialize: Callable[[bytes], Any], descriptor: Descriptor) -> Callable[[bytes], Any]:
    """``deserialize``, but a message that does not parse, or holds too many elements to parse
    without stalling the service (:mod:`~vectorizer_service.transports.wire_count`), becomes an
    :class:`_Undecodable` (grpc would answer UNKNOWN with an internal message, and end the
    whole stream)."""

    def parse(data: bytes) -> Any:
        try:
            count_elements(data, descriptor)
        except TooManyElementsError as exc:
            return _Undecodable(str(exc))
        try:
            return deserialize(data)
        except Exception as exc:  # protobuf's DecodeError, and UnicodeDecodeError on some runtimes
            detail = str(exc) or type(exc).__name__
            return _Undecodable(
                f"the request is not a valid message ({detail}); is a string field not UTF-8?"
            )

    return parse


class _ErrorBoundary(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc ships no type stubs
    """Wraps each of our methods: exceptions become status codes, outcomes become metrics."""

    def __init__(self, metrics: ServiceMetrics, api_key: SecretStr | None = None) -> None:
        self._metrics = metrics
        self._api_key = api_key

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or not method.startswith(f"/{SERVICE_NAME}/"):
            return handler
        # The key is in the call's metadata, which arrives before the message: a caller without
        # it is refused by a handler that never reads the message (a unary handler would
        # receive all of it first: 60 MiB cost 389 MB before the 401).
        metadata = dict(handler_call_details.invocation_metadata or ())
        try:
            check_bearer(metadata.get("authorization"), self._api_key)
        except UnauthenticatedError as exc:
            return self._refusal(method, exc)
        parse: Callable[[bytes], Any] = lambda data: data  # noqa: E731  # no deserializer: bytes
        if handler.request_deserializer is not None:
            # grpc would parse each message on the event loop, however many elements it holds
            # (a 6 MB map of 200,000 entries: 1 s, GIL held). It hands us the bytes instead; we
            # count the elements from the wire first (wire_count), then parse.
            name = method.rsplit("/", 1)[-1]
            parse = _tolerant(handler.request_deserializer, _SERVICE.methods_by_name[name].input_type)
            handler = handler._replace(request_deserializer=_Encoded)
        if handler.unary_unary is not None:
            return handler._replace(unary_unary=self._wrap_unary(method, handler.unary_unary, parse))
        if handler.stream_stream is not None:
            return handler._replace(stream_stream=self._wrap_stream(method, handler.stream_stream, parse))
        return handler

    def _refusal(self, method: str, exc: UnauthenticatedError) -> grpc.RpcMethodHandler:
        async def refuse(_requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            self._metrics.request_done(method, exc.kind.value, 0.0)
            await context.abort(grpc.StatusCode[exc.status.grpc], exc.message)
            yield  # an async generator, as a streaming handler is; never reached

        return grpc.stream_stream_rpc_method_handler(refuse)

    def _wrap_unary(self, method: str, behavior: _Handler, parse: Callable[[bytes], Any]) -> _Handler:
        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with self._boundary(method, context):
                return await behavior(await _decoded(parse, request), context)

        return unary

    def _wrap_stream(self, method: str, behavior: _Handler, parse: Callable[[bytes], Any]) -> _Handler:
        async def stream(request_iterator: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async with self._boundary(method, context):
                async for response in behavior(_decoded_each(parse, request_iterator), context):
                    yield response

        return stream

    @contextlib.asynccontextmanager
    async def _boundary(self, method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        started = time.perf_counter()
        outcome = OUTCOME_OK
        try:
            yield
        except asyncio.CancelledError:
            outcome = OUTCOME_CANCELLED
            raise
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            reply = describe_error(exc, method)
            outcome = reply.kind.value
            await context.abort(grpc.StatusCode[reply.status.grpc], reply.message)
        finally:
            self._metrics.request_done(method, outcome, time.perf_counter() - started)
