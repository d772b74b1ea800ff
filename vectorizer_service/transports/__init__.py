"""Transports over the engine: HTTP (FastAPI, Weaviate's multi2vec-clip contract) and gRPC.

Each converts messages, calls the engine, and maps errors once (``errors.describe_error``).
"""

from vectorizer_service.transports.errors import ErrorReply, describe_error
from vectorizer_service.transports.grpc import GrpcTransport
from vectorizer_service.transports.http import create_app

__all__ = ["ErrorReply", "GrpcTransport", "create_app", "describe_error"]
