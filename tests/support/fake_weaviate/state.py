"""What the fake Weaviate holds and records."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from weaviate.proto.v1 import batch_delete_pb2, batch_pb2, search_get_pb2

WEAVIATE_VERSION = "1.38.2"  # what docker-compose.yml and the Helm values pin


@dataclass
class RestCall:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StoredObject:
    properties: dict[str, Any]
    vectors: dict[str, np.ndarray]


@dataclass
class FakeWeaviateState:
    """What the fake holds and what it was asked."""

    schema: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, dict[str, StoredObject]] = field(default_factory=dict)
    rest_calls: list[RestCall] = field(default_factory=list)
    batch_requests: list[batch_pb2.BatchObjectsRequest] = field(default_factory=list)
    search_requests: list[search_get_pb2.SearchRequest] = field(default_factory=list)
    delete_requests: list[batch_delete_pb2.BatchDeleteRequest] = field(default_factory=list)
    grpc_metadata: list[dict[str, str]] = field(default_factory=list)
    # Tests set this to make Weaviate reject an object: returns an error message or None.
    reject: Callable[[dict[str, Any]], str | None] | None = None
    # Acknowledge batches but store nothing (a store that loses writes).
    lose_writes: bool = False
    # Canned GraphQL answer (or a function of the request body).
    graphql_response: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Weaviate's QUERY_MAXIMUM_RESULTS (usecases/config/environment.go): caps one delete.
    query_maximum_results: int = 10000
    # multi2vec-clip's CLIP_INFERENCE_API: used when a class gives no inferenceUrl.
    clip_inference_api: str | None = None
    # Each named vector index's dimension, fixed by its first vector.
    dimensions: dict[tuple[str, str], int] = field(default_factory=dict)
    # When set, REST calls need ``Authorization: Bearer <api_key>`` (anonymous access off).
    api_key: str | None = None
    # Nodes ``/v1/nodes`` reports: the bound on a class's replication factor.
    node_count: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeWeaviateError(Exception):
    """A request real Weaviate would refuse; answered as a gRPC error like Weaviate's."""
