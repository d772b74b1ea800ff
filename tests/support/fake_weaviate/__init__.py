"""An in-process fake Weaviate: REST (schema, meta, readiness, GraphQL) and gRPC (batch, search,
delete, aggregate, health), the way weaviate-client's own mock tests stand in for a server.

The real weaviate-client talks to it over real sockets, so the tests see exactly the requests our
code makes: every REST call and gRPC message is recorded for assertions. Objects are kept in
memory and searched by cosine distance with the filter operators our store uses, so behaviour
(upsert by UUID, resume, filters) can be asserted end to end.
"""

from __future__ import annotations

from .encoder import FakeEncoder
from .inference import InferenceService
from .server import FakeWeaviate
from .state import WEAVIATE_VERSION, FakeWeaviateError, FakeWeaviateState, RestCall, StoredObject

__all__ = [
    "WEAVIATE_VERSION",
    "FakeEncoder",
    "FakeWeaviate",
    "FakeWeaviateError",
    "FakeWeaviateState",
    "InferenceService",
    "RestCall",
    "StoredObject",
]
