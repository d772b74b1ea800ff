"""An in-process fake Weaviate: REST (schema, meta, readiness, GraphQL) and gRPC (batch, search,
delete, aggregate, health), the way weaviate-client's own mock tests stand in for a server.

The real weaviate-client talks to it over real sockets, so the tests see exactly the requests our
code makes: every REST call and gRPC message is recorded for assertions. Objects are kept in
memory and searched by cosine distance with the filter operators our store uses, so behaviour
(upsert by UUID, resume, filters) can be asserted end to end.
"""

from __future__ import annotations

import json
import re
import threading
import uuid as uuid_module
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import numpy as np
from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2, health_pb2_grpc
from weaviate.proto.v1 import (
    aggregate_pb2,
    base_pb2,
    batch_delete_pb2,
    batch_pb2,
    properties_pb2,
    search_get_pb2,
    weaviate_pb2_grpc,
)

WEAVIATE_VERSION = "1.32.4"
F = base_pb2.Filters


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
    lock: threading.Lock = field(default_factory=threading.Lock)


# --- filters ---------------------------------------------------------------------------------


class FakeWeaviateError(Exception):
    """A request real Weaviate would refuse; answered as a gRPC error like Weaviate's."""


def _schema_props(schema: dict[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    if schema is None:
        return None
    return {p["name"]: p for p in schema.get("properties", [])}


def _tokens(value: Any, tokenization: str) -> list[str]:
    """Weaviate's tokenizers for the two we declare: "field" keeps the trimmed value as one
    case-sensitive token, "word" lowercases and splits on anything not alphanumeric."""
    text = str(value)
    if tokenization == "field":
        return [text.strip()] if text.strip() else []
    return [t for t in re.split(r"[^\w]|_", text.lower()) if t]


def _filter_value(f: base_pb2.Filters) -> Any:
    which = f.WhichOneof("test_value")
    if which in ("value_text_array", "value_number_array", "value_int_array", "value_boolean_array"):
        return list(getattr(f, which).values)
    return getattr(f, which) if which else None


def _matches(
    f: base_pb2.Filters, obj_id: str, props: dict[str, Any], schema: dict[str, dict[str, Any]] | None
) -> bool:
    """One object against a filter, as Weaviate's inverted index answers it: text is compared
    token by token under the property's tokenization, absent/null values match no operator,
    and filtering on an unknown or unindexed property is an error, not an empty result."""
    if f.operator == F.OPERATOR_AND:
        return all(_matches(sub, obj_id, props, schema) for sub in f.filters)
    if f.operator == F.OPERATOR_OR:
        return any(_matches(sub, obj_id, props, schema) for sub in f.filters)
    name = f.target.property if f.HasField("target") else f.on[0]
    expected = _filter_value(f)
    if name == "_id":
        wanted = expected if isinstance(expected, list) else [expected]
        ids = {str(uuid_module.UUID(str(v))) for v in wanted}
        if f.operator in (F.OPERATOR_EQUAL, F.OPERATOR_CONTAINS_ANY):
            return obj_id in ids
        raise FakeWeaviateError(f"fake Weaviate: operator {f.operator} on _id")
    prop = (schema or {}).get(name)
    if schema is not None and prop is None:
        raise FakeWeaviateError(f"no such prop with name '{name}' found in class")
    if prop is not None and not prop.get("indexFilterable", True):
        raise FakeWeaviateError(f"Filtering by property '{name}' requires inverted index")
    actual = props.get(name)
    if actual is None or actual == []:
        return False
    data_type = prop["dataType"][0] if prop else ("text[]" if isinstance(actual, list) else "text")
    if data_type.startswith("text"):
        tokenization = (prop or {}).get("tokenization") or "word"
        stored = {
            t for v in (actual if isinstance(actual, list) else [actual]) for t in _tokens(v, tokenization)
        }
        values = expected if isinstance(expected, list) else [expected]
        query = [t for v in values for t in _tokens(v, tokenization)]
        if f.operator == F.OPERATOR_EQUAL:
            return bool(query) and all(t in stored for t in query)
        if f.operator == F.OPERATOR_CONTAINS_ANY:
            return any(t in stored for t in query)
        if f.operator == F.OPERATOR_CONTAINS_ALL:
            return bool(query) and all(t in stored for t in query)
        raise FakeWeaviateError(f"fake Weaviate: operator {f.operator} on text property '{name}'")
    numbers = actual if isinstance(actual, list) else [actual]
    if f.operator == F.OPERATOR_EQUAL:
        return any(n == expected for n in numbers)
    if f.operator == F.OPERATOR_CONTAINS_ANY:
        return any(n in expected for n in numbers)
    if f.operator == F.OPERATOR_CONTAINS_ALL:
        return all(e in numbers for e in expected)
    if f.operator == F.OPERATOR_GREATER_THAN_EQUAL:
        return any(n >= expected for n in numbers)
    if f.operator == F.OPERATOR_LESS_THAN_EQUAL:
        return any(n <= expected for n in numbers)
    if f.operator == F.OPERATOR_GREATER_THAN:
        return any(n > expected for n in numbers)
    if f.operator == F.OPERATOR_LESS_THAN:
        return any(n < expected for n in numbers)
    raise FakeWeaviateError(f"fake Weaviate: filter operator {f.operator}")


# --- gRPC ------------------------------------------------------------------------------------


def _decode_properties(p: batch_pb2.BatchObject.Properties) -> dict[str, Any]:
    props: dict[str, Any] = MessageToDict(p.non_ref_properties) if p.HasField("non_ref_properties") else {}
    for arr in p.text_array_properties:
        props[arr.prop_name] = list(arr.values)
    for num in p.number_array_properties:
        props[num.prop_name] = list(np.frombuffer(num.values_bytes, "<f8")) if num.values_bytes else []
    for name in p.empty_list_props:
        props[name] = []
    return props


def _encode_value(value: Any, data_type: str | None) -> properties_pb2.Value:
    """A stored value in the reply's typed form, chosen from the schema like Weaviate does."""
    if isinstance(value, bool):
        return properties_pb2.Value(bool_value=value)
    if isinstance(value, (int, float)):
        return properties_pb2.Value(number_value=float(value))
    if isinstance(value, list):
        if data_type in ("number[]", "int[]"):
            packed = np.asarray(value, "<f8").tobytes()
            return properties_pb2.Value(
                list_value=properties_pb2.ListValue(number_values=properties_pb2.NumberValues(values=packed))
            )
        return properties_pb2.Value(
            list_value=properties_pb2.ListValue(text_values=properties_pb2.TextValues(values=value))
        )
    if data_type == "blob":
        return properties_pb2.Value(blob_value=str(value))
    return properties_pb2.Value(text_value=str(value))


def _returned_properties(request: Any, schema: dict[str, dict[str, Any]] | None) -> list[str] | None:
    """Which properties Weaviate answers with (``None``: every stored one). No ``properties``
    message, or ``return_all_nonref_properties``, means every non-reference property in the
    schema except blobs (kept out "to not overload the response"); otherwise the named ones."""
    if not request.HasField("properties") or request.properties.return_all_nonref_properties:
        if schema is None:
            return None
        return [name for name, p in schema.items() if p["dataType"][0] != "blob"]
    return list(request.properties.non_ref_properties)


def _query_vector(nv: Any) -> tuple[np.ndarray, str | None]:
    target = nv.targets.target_vectors[0] if nv.targets.target_vectors else None
    if nv.vectors:
        return np.frombuffer(nv.vectors[0].vector_bytes, "<f4"), target
    if nv.vector_bytes:
        return np.frombuffer(nv.vector_bytes, "<f4"), target
    return np.asarray(list(nv.vector), np.float32), target


class _Servicer(weaviate_pb2_grpc.WeaviateServicer):  # type: ignore[misc]
    def __init__(self, state: FakeWeaviateState) -> None:
        self.s = state

    def _record_metadata(self, context: grpc.ServicerContext) -> None:
        self.s.grpc_metadata.append({k: v for k, v in context.invocation_metadata()})

    def BatchObjects(self, request: Any, context: Any) -> batch_pb2.BatchObjectsReply:
        self._record_metadata(context)
        errors = []
        with self.s.lock:
            self.s.batch_requests.append(request)
            for index, obj in enumerate(request.objects):
                props = _decode_properties(obj.properties)
                problem = self.s.reject(props) if self.s.reject else None
                if problem:
                    errors.append(batch_pb2.BatchObjectsReply.BatchError(index=index, error=problem))
                    continue
                vectors = {v.name: np.frombuffer(v.vector_bytes, "<f4").copy() for v in obj.vectors}
                if self.s.lose_writes:
                    continue
                self.s.objects.setdefault(obj.collection, {})[obj.uuid] = StoredObject(props, vectors)
        return batch_pb2.BatchObjectsReply(took=0.001, errors=errors)

    def _schema(self, collection: str) -> dict[str, dict[str, Any]] | None:
        return _schema_props(self.s.schema.get(collection))

    def Search(self, request: Any, context: Any) -> search_get_pb2.SearchReply:
        self._record_metadata(context)
        with self.s.lock:
            self.s.search_requests.append(request)
            objects = dict(self.s.objects.get(request.collection, {}))
            schema = self._schema(request.collection)
        try:
            rows = [
                (oid, o)
                for oid, o in objects.items()
                if not request.HasField("filters") or _matches(request.filters, oid, o.properties, schema)
            ]
        except FakeWeaviateError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, f"extract params: {exc}")
        scored: list[tuple[float, str, StoredObject]] = []
        for oid, obj in rows:
            distance = 0.0
            if request.HasField("near_vector"):
                q, target = _query_vector(request.near_vector)
                stored = obj.vectors.get(target or "", next(iter(obj.vectors.values()), None))
                if stored is None:
                    continue
                if stored.shape != q.shape:
                    context.abort(
                        grpc.StatusCode.UNKNOWN,
                        f"vector search: vector lengths don't match: {len(q)} vs {len(stored)}",
                    )
                distance = 1.0 - float(np.dot(q, stored) / (np.linalg.norm(q) * np.linalg.norm(stored)))
            scored.append((distance, oid, obj))
        # Vector search ranks by distance; a plain fetch lists objects in UUID order.
        scored.sort(key=lambda t: (t[0], t[1]))
        wanted = _returned_properties(request, schema)
        results = []
        for distance, oid, obj in scored[: request.limit or 10]:
            # Weaviate stores no nulls, so an unset property is simply absent from the answer.
            props = {
                k: v for k, v in obj.properties.items() if v is not None and (wanted is None or k in wanted)
            }
            types = {k: (schema or {}).get(k, {}).get("dataType", [None])[0] for k in props}
            results.append(
                search_get_pb2.SearchResult(
                    metadata=search_get_pb2.MetadataResult(
                        id_as_bytes=uuid_module.UUID(oid).bytes,
                        distance=distance,
                        distance_present=request.metadata.distance,
                    ),
                    properties=search_get_pb2.PropertiesResult(
                        non_ref_props=properties_pb2.Properties(
                            fields={k: _encode_value(v, types[k]) for k, v in props.items()}
                        ),
                        target_collection=request.collection,
                    ),
                )
            )
        return search_get_pb2.SearchReply(took=0.001, results=results)

    def BatchDelete(self, request: Any, context: Any) -> batch_delete_pb2.BatchDeleteReply:
        self._record_metadata(context)
        with self.s.lock:
            self.s.delete_requests.append(request)
            objects = self.s.objects.get(request.collection, {})
            schema = self._schema(request.collection)
            try:
                doomed = [
                    oid for oid, o in objects.items() if _matches(request.filters, oid, o.properties, schema)
                ]
            except FakeWeaviateError as exc:
                context.abort(grpc.StatusCode.UNKNOWN, str(exc))
            for oid in doomed:
                del objects[oid]
        return batch_delete_pb2.BatchDeleteReply(took=0.001, matches=len(doomed), successful=len(doomed))

    def Aggregate(self, request: Any, context: Any) -> aggregate_pb2.AggregateReply:
        self._record_metadata(context)
        with self.s.lock:
            objects = self.s.objects.get(request.collection, {})
            schema = self._schema(request.collection)
            try:
                count = sum(
                    1
                    for oid, o in objects.items()
                    if not request.HasField("filters") or _matches(request.filters, oid, o.properties, schema)
                )
            except FakeWeaviateError as exc:
                context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        return aggregate_pb2.AggregateReply(
            took=0.001, single_result=aggregate_pb2.AggregateReply.Single(objects_count=count)
        )


class _Health(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    def Check(self, request: Any, context: Any) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


# --- REST ------------------------------------------------------------------------------------


def _handler(state: FakeWeaviateState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            path = self.path.split("?", 1)[0]
            state.rest_calls.append(
                RestCall(method, path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            status, answer = self._route(method, path, body)
            self._reply(status, answer)

        def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
            if path == "/pypi":  # stands in for PyPI in the client's version check
                return 200, {"info": {"version": "4.16.2"}}
            if path == "/v1/meta":
                return 200, {"version": WEAVIATE_VERSION, "modules": {"multi2vec-clip": {}}}
            if path in ("/v1/.well-known/ready", "/v1/.well-known/live"):
                return 200, {}
            if path == "/v1/schema" and method == "POST":
                with state.lock:
                    state.schema[body["class"]] = body
                return 200, body
            if path.startswith("/v1/schema/"):
                name = path.rsplit("/", 1)[1]
                with state.lock:
                    if method == "DELETE":
                        state.schema.pop(name, None)
                        state.objects.pop(name, None)
                        return 200, {}
                    if name in state.schema:
                        return 200, state.schema[name]
                return 404, {"error": [{"message": f"class {name} not found"}]}
            if path == "/v1/graphql" and method == "POST":
                answer = state.graphql_response(body) if state.graphql_response else {"data": {"Get": {}}}
                return 200, answer
            return 404, {"error": [{"message": f"fake Weaviate: no route {method} {path}"}]}

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def do_PUT(self) -> None:
            self._handle("PUT")

    return Handler


class FakeWeaviate:
    """Start with ``with FakeWeaviate() as fake:``; ``fake.http_port`` / ``fake.grpc_port``."""

    def __init__(self) -> None:
        self.state = FakeWeaviateState()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(_Servicer(self.state), self._grpc)  # type: ignore[no-untyped-call]
        health_pb2_grpc.add_HealthServicer_to_server(_Health(), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        self.http_port = self._http.server_address[1]
        self._thread = threading.Thread(
            # A short poll interval: shutdown() waits for it, once per test.
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def __enter__(self) -> FakeWeaviate:
        self._grpc.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._grpc.stop(grace=None)

    def objects(self, collection: str) -> dict[str, StoredObject]:
        with self.state.lock:
            return dict(self.state.objects.get(collection, {}))


# --- a query encoder without a service ---------------------------------------------------------


class FakeEncoder:
    """:class:`plugin.encoder.QueryEncoder` over ``FakeEmbedder``: deterministic vectors, and a
    record of every call so tests can see what was embedded and composed."""

    def __init__(self, dimension: int = 8) -> None:
        from vectorizer_service.runtime.fake import FakeEmbedder

        self.embedder = FakeEmbedder(dimension=dimension)
        self.compose_calls: list[tuple[bytes | None, str, Any]] = []
        self.fail_images: set[bytes] = set()

    def model_info(self) -> Any:
        from schemas.wire import ModelMeta

        info = self.embedder.info
        return ModelMeta(**{k: getattr(info, k) for k in ModelMeta.model_fields})

    def embed_images(self, images: Any) -> np.ndarray:
        import io

        from PIL import Image

        from schemas.errors import InvalidInputError

        for i, data in enumerate(images):
            if data in self.fail_images:
                raise InvalidInputError(f"images[{i}]: refused by the fake service")
        return self.embedder.encode_images([Image.open(io.BytesIO(b)) for b in images])

    def embed_texts(self, texts: Any) -> np.ndarray:
        return self.embedder.encode_texts(list(texts))

    def compose(self, image: bytes | None, text: str, options: Any = None) -> Any:
        from schemas.wire import ComposeExplanation, ComposeResult

        self.compose_calls.append((image, text, options))
        parts = [self.embed_texts([text])[0]]
        if image is not None:
            parts.append(self.embed_images([image])[0])
        vec = np.sum(parts, axis=0)
        vec = vec / np.linalg.norm(vec)
        explanation = ComposeExplanation(
            caption="a red dress", modification=text, fused_text=f"a red dress, {text}"
        )
        return ComposeResult(vector=[float(x) for x in vec], explanation=explanation)

    def close(self) -> None:
        return None
