"""The fake's gRPC side: batch, search, delete, aggregate, health."""

from __future__ import annotations

import uuid as uuid_module
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

from .cluster_rules import bucket
from .filters import _matches, _schema_props
from .objects import cursor_page, delete_matching, prepare_object, vector_search
from .state import FakeWeaviateError, FakeWeaviateState


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
            if not problem:
                given = {v.name: np.frombuffer(v.vector_bytes, "<f4").copy() for v in obj.vectors}
                try:
                    key = bucket(self.s.schema, obj.collection, obj.tenant)
                    stored = prepare_object(self.s, obj.collection, props, given)
                except FakeWeaviateError as exc:
                    problem = str(exc)
            if problem:
                errors.append(batch_pb2.BatchObjectsReply.BatchError(index=index, error=problem))
                continue
            if self.s.lose_writes:
                continue
            with self.s.lock:
                self.s.objects.setdefault(key, {})[obj.uuid] = stored
        return batch_pb2.BatchObjectsReply(took=0.001, errors=errors)

    def _schema(self, collection: str) -> dict[str, dict[str, Any]] | None:
        return _schema_props(self.s.schema.get(collection))

    def Search(self, request: Any, context: Any) -> search_get_pb2.SearchReply:
        self._record_metadata(context)
        with self.s.lock:
            self.s.search_requests.append(request)
            schema = self._schema(request.collection)
        query, target = (
            _query_vector(request.near_vector) if request.HasField("near_vector") else (None, None)
        )
        filters = request.filters if request.HasField("filters") else None
        try:
            key = bucket(self.s.schema, request.collection, request.tenant)
            if request.after:
                try:
                    scored = cursor_page(self.s, request.collection, request, objects_key=key)
                except FakeWeaviateError as exc:  # the explorer's refusal, not a parse error
                    context.abort(grpc.StatusCode.UNKNOWN, str(exc))
            else:
                scored = vector_search(
                    self.s, request.collection, query, target, filters, request.limit or 10, objects_key=key
                )
        except FakeWeaviateError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, f"extract params: {exc}")
        wanted = _returned_properties(request, schema)
        # ``include_vector=True`` asks for every vector (metadata.vector, no names); names ask for those.
        want_vectors: list[str] | None = list(request.metadata.vectors) or (
            None if request.metadata.vector else []
        )
        results = []
        for distance, oid, obj in scored:
            # Weaviate stores no nulls, so an unset property is simply absent from the answer.
            props = {
                k: v for k, v in obj.properties.items() if v is not None and (wanted is None or k in wanted)
            }
            types = {k: (schema or {}).get(k, {}).get("dataType", [None])[0] for k in props}
            vectors = [
                base_pb2.Vectors(name=n, vector_bytes=np.asarray(obj.vectors[n], "<f4").tobytes())
                for n in (sorted(obj.vectors) if want_vectors is None else want_vectors)
                if n in obj.vectors
            ]
            results.append(
                search_get_pb2.SearchResult(
                    metadata=search_get_pb2.MetadataResult(
                        id_as_bytes=uuid_module.UUID(oid).bytes,
                        distance=distance,
                        distance_present=request.metadata.distance,
                        vectors=vectors,
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
        try:
            key = bucket(self.s.schema, request.collection, request.tenant)
            matches, deleted = delete_matching(self.s, request.collection, request.filters, objects_key=key)
        except FakeWeaviateError as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        return batch_delete_pb2.BatchDeleteReply(took=0.001, matches=matches, successful=deleted)

    def Aggregate(self, request: Any, context: Any) -> aggregate_pb2.AggregateReply:
        self._record_metadata(context)
        with self.s.lock:
            try:
                objects = self.s.objects.get(bucket(self.s.schema, request.collection, request.tenant), {})
            except FakeWeaviateError as exc:
                context.abort(grpc.StatusCode.UNKNOWN, str(exc))
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
