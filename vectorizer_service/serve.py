"""Run the service: HTTP (uvicorn) and gRPC (grpc.aio) in one process and one event loop.

The model is loaded once, after both servers are listening, so liveness answers while it loads
and readiness (HTTP ``/.well-known/ready``, gRPC health) turns on when it is warmed up. SIGINT
and SIGTERM stop both servers gracefully: gRPC health goes NOT_SERVING, in-flight calls finish.

``add_serve_arguments`` generates one ``--flag`` per :class:`ServiceSettings` field, so every
environment variable ``GROUNDED_<FIELD>`` has a flag; a flag given on the command line wins.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from vectorizer_service.settings import ServiceSettings
from vectorizer_service.settings_cli import add_settings_arguments
from vectorizer_service.settings_cli import settings_from_args as settings_from_namespace

__all__ = ["add_serve_arguments", "run_service", "serve", "serve_async", "settings_from_args"]

log = logging.getLogger("vectorizer_service")

_GRPC_GRACE_S = 5.0
_HTTP_GRACE_S = 10


def add_serve_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add one ``--field-name`` option per :class:`ServiceSettings` field to ``parser``."""
    add_settings_arguments(parser, [ServiceSettings])
    return parser


def settings_from_args(args: argparse.Namespace) -> ServiceSettings:
    """Settings from the environment, overridden by the flags given on the command line."""
    return settings_from_namespace(ServiceSettings, args)


def serve(settings: ServiceSettings) -> None:
    """Run both servers until SIGINT / SIGTERM. Raises the model's loading error, if any."""
    # Before torch loads: idle OpenMP workers sleep instead of spinning, so on a few cores the
    # event loop and the image decoders get the CPU between batches. An explicit value wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve_async(settings))


async def serve_async(settings: ServiceSettings, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set (or a signal arrives); load the model once, in the background."""
    from vectorizer_service.engine import Engine
    from vectorizer_service.transports.grpc import GrpcTransport
    from vectorizer_service.transports.http import create_app

    stop = stop or asyncio.Event()
    engine = Engine(settings)
    config = uvicorn.Config(
        create_app(engine, manage_engine=False),
        host=settings.host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level.lower() == "debug",  # per-request logging costs throughput
        timeout_graceful_shutdown=_HTTP_GRACE_S,
        http=_slow_client_protocol(settings.http_read_timeout_s),
    )
    http = _Server(config)
    grpc_transport = (
        GrpcTransport(engine, f"{settings.host}:{settings.grpc_port}") if settings.grpc_port else None
    )
    failure: list[BaseException] = []

    async def load() -> None:
        try:
            await engine.start()
        except Exception as exc:
            log.error("loading the model failed; shutting down: %s", exc)
            failure.append(exc)
            stop.set()
            return
        if grpc_transport is not None:
            await grpc_transport.update_health()

    with _stop_on_signals(stop):
        if grpc_transport is not None:
            await grpc_transport.start()
            log.info("gRPC listening on %s:%d", settings.host, grpc_transport.port)
        http_task = asyncio.create_task(http.serve(), name="http")
        load_task = asyncio.create_task(load(), name="load-model")
        stop_task = asyncio.create_task(stop.wait(), name="stop")
        try:
            await asyncio.wait({http_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            log.info("shutting down")
            load_task.cancel()
            stop_task.cancel()
            http.should_exit = True
            if grpc_transport is not None:
                await grpc_transport.stop(_GRPC_GRACE_S)
            await http_task
            await engine.stop()
    if failure:
        raise failure[0]


def _slow_client_protocol(timeout_s: float) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol, but a client gets ``timeout_s`` to send a request's headers.

    uvicorn closes a kept-alive connection that stays idle, but never one that sends nothing
    after connecting, or trickles its headers a byte at a time: each such connection was held
    forever. The request's body has the same time again (``transports.http``)."""

    class SlowClientTimeout(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._between_requests():
                self._arm()
            super().data_received(data)
            if not self._between_requests():
                self._disarm()  # the headers are in: the request is the app's now

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self._between_requests() and not self.transport.is_closing():
                log.info("closed a connection that sent no complete request in %.0f s", timeout_s)
                self.transport.close()

    return SlowClientTimeout


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: :func:`serve_async` owns the signals,
    so gRPC and the engine shut down in the same orderly pass."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


run_service = serve
"""The service face's name for :func:`serve` (``vectorizer_service.serve`` is this module)."""
