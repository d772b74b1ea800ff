"""The Weaviate product store (weaviate-client v4).

The collection is built from :class:`schemas.collection.CollectionSpec`: one named vector that
either Weaviate computes with its ``multi2vec-clip`` module pointed at the Grounded service
(``spec.vector.server_side``), or that the plugin computes and sends with each object. Distances
are cosine, the same as the embedded LanceDB store, so scores mean the same in both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import weaviate
from weaviate.classes.data import DataObject
from weaviate.classes.query import Filter, MetadataQuery
from weaviate.collections import Collection
from weaviate.exceptions import UnexpectedStatusCodeError, WeaviateBaseError

from plugin.store.fingerprint import FINGERPRINT_PROPERTY
from plugin.store.protocol import (
    SCAN_BATCH,
    ProductFilter,
    ProductRow,
    RowError,
    SearchHit,
    StoredProduct,
    UpsertResult,
    VectorBatch,
    check_scan_batch,
    split_changed,
)
from plugin.store.weaviate.batches import by_encoded_size, encoded_size
from plugin.store.weaviate.cluster import cluster_create_kwargs, scoped, validate_on_cluster
from plugin.store.weaviate.drift import WAYS_OUT, config_differences
from plugin.store.weaviate.identity import CATALOG_DESCRIPTION, check_recorded_model, describe_model
from plugin.store.weaviate.scan import DEFAULT_CURSOR_PAGE, cursor_scan
from plugin.store.weaviate.schema import as_vector, product_filter, vector_config, weaviate_properties
from schemas.cluster import check_tenant
from schemas.collection import CollectionSpec
from schemas.collection import DataType as SpecType
from schemas.errors import InvalidInputError, UpstreamError
from vectorizer_service import Vectors

__all__ = ["WeaviateStore", "as_vector", "product_filter", "vector_config", "weaviate_properties"]

log = logging.getLogger(__name__)

# gRPC filters with thousands of ids are fine, but keep each request well below message limits.
_EXISTING_CHUNK = 500
# Ids per delete request: under Weaviate's default QUERY_MAXIMUM_RESULTS (10000).
_DELETE_CHUNK = 5000
DEFAULT_BATCH_BYTES = 50_000_000


class WeaviateStore:
    """:class:`plugin.store.protocol.ProductStore` on a Weaviate collection.

    ``model`` (:func:`plugin.store.fingerprint.model_identity`) and ``weights_sha256``
    (:attr:`schemas.model_info.ModelInfo.weights_sha256`) name the model whose vectors the plugin
    sends. Where the plugin computes vectors they are recorded in the description of a collection
    it creates (:mod:`plugin.store.weaviate.identity`), and a collection recorded as built by
    another model, or by other weights of the same model folder, is refused naming both, like the
    embedded store's table, on :meth:`create_collection` and on the first use of
    :attr:`collection` (every read and write), before anything is read or written.
    """

    def __init__(
        self,
        client: weaviate.WeaviateClient,
        spec: CollectionSpec,
        *,
        clip_inference_url: str | None = None,
        max_batch_bytes: int = DEFAULT_BATCH_BYTES,
        tenant: str | None = None,
        consistency_level: str | None = None,
        cursor_page: int = DEFAULT_CURSOR_PAGE,
        model: str | None = None,
        weights_sha256: str | None = None,
    ) -> None:
        check_tenant(spec.cluster, tenant, spec.name)
        self._client = client
        self._spec = spec
        self._tenant = tenant
        self._consistency_level = consistency_level
        self._clip_inference_url = clip_inference_url
        self._max_batch_bytes = max_batch_bytes
        self._cursor_page = cursor_page
        # With multi2vec-clip, Weaviate embeds objects through the service at inferenceUrl
        # (compared by the drift check); the plugin's model made none of the stored vectors, so its
        # identity would vouch for vectors it never saw: nothing is recorded or compared then.
        self._model = None if spec.vector.server_side else (model or None)
        self._weights = (weights_sha256 or None) if self._model else None
        self._model_checked = self._model is None

    @property
    def spec(self) -> CollectionSpec:
        return self._spec

    @property
    def computes_vectors(self) -> bool:
        return self._spec.vector.server_side

    @property
    def collection(self) -> Collection[Any, Any]:
        """The underlying weaviate-client collection (for SDK use, e.g. ``near_grounded_collection``),
        scoped to the store's tenant and consistency level: every read and write goes through it.
        The first use checks the model the collection records (see the class)."""
        if not self._model_checked:
            self._check_recorded_model()
        return self._scoped()

    def _scoped(self) -> Collection[Any, Any]:
        return scoped(self._client.collections.get(self._spec.name), self._tenant, self._consistency_level)

    def create_collection(self) -> None:
        """Create the collection; an existing one is kept if it matches the spec and the model
        and refused (with the ways out) if it does not, before anything is written to it."""
        try:
            if self._client.collections.exists(self._spec.name):
                config = self._scoped().config.get(simple=True)
                problems = config_differences(config, self._spec, self._clip_inference_url)
                if problems:
                    raise InvalidInputError(
                        f"collection {self._spec.name!r} exists with another configuration: "
                        f"{'; '.join(problems)}. To go on: {WAYS_OUT}"
                    )
                self._accept_model(config.description, record=True)
                return
            validate_on_cluster(self._client, self._spec.cluster)
            self._client.collections.create(
                self._spec.name,
                description=(
                    describe_model(None, self._model, self._weights) if self._model else CATALOG_DESCRIPTION
                ),
                properties=weaviate_properties(self._spec),
                vector_config=vector_config(self._spec, self._clip_inference_url),
                **cluster_create_kwargs(self._spec.cluster),
            )
            self._model_checked = True
        except WeaviateBaseError as exc:
            raise UpstreamError(f"cannot create collection {self._spec.name!r}: {exc}") from exc

    def _check_recorded_model(self) -> None:
        try:
            config = self._scoped().config.get(simple=True)
        except WeaviateBaseError as exc:
            if isinstance(exc, UnexpectedStatusCodeError) and exc.status_code == 404:
                return  # no collection yet: the operation itself says so
            raise UpstreamError(f"cannot read collection {self._spec.name!r}: {exc}") from exc
        self._accept_model(config.description, record=False)

    def _accept_model(self, description: str | None, *, record: bool) -> None:
        """Refuse a collection recorded as built by another model or other weights; with
        ``record`` (an import is about to write), record the model on one that records none."""
        if self._model is None:
            return
        recorded = check_recorded_model(self._spec.name, description, self._model, self._weights)
        if record and recorded.model is None:
            try:
                # Without the weights hash: see plugin.store.weaviate.identity.
                self._scoped().config.update(description=describe_model(description, self._model, None))
            except WeaviateBaseError as exc:
                # Recording is a safeguard for later runs, never a reason to refuse this one (a
                # key may import into a collection without the right to change its schema).
                log.warning("could not record the model on collection %r: %s", self._spec.name, exc)
        self._model_checked = True

    def upsert(self, rows: Sequence[ProductRow]) -> list[RowError]:
        """Insert or replace, in requests under ``max_batch_bytes``: images travel as base64 and
        one gRPC message over Weaviate's ``GRPC_MAX_MESSAGE_SIZE`` (usecases/config/
        environment.go) fails every object in it."""
        errors: list[RowError] = []
        for part in by_encoded_size(rows, self._max_batch_bytes):
            size = encoded_size(part[0]) if len(part) == 1 else 0
            if size > self._max_batch_bytes:
                errors.append(
                    RowError(
                        part[0].uuid,
                        f"object is {size} bytes, over the {self._max_batch_bytes}-byte batch limit",
                    )
                )
                continue
            errors.extend(self._insert(part))
        return errors

    def upsert_changed(self, rows: Sequence[ProductRow]) -> UpsertResult:
        """:meth:`upsert` of the rows whose fingerprint is not the stored one, read just before
        writing. Not exact under concurrent imports: Weaviate has no conditional batch write, so
        two imports that both read before either writes each count a product as created."""
        stored = self.fingerprints([row.uuid for row in rows])
        write, created, replaced, unchanged = split_changed(rows, stored)
        errors = self.upsert(write)
        failed = {error.uuid for error in errors}
        return UpsertResult(errors, created - failed, replaced - failed, unchanged, exact=False)

    def _insert(self, rows: Sequence[ProductRow]) -> list[RowError]:
        objects = [
            DataObject(
                properties=row.properties,
                uuid=row.uuid,
                vector={self._spec.vector.name: list(row.vector)} if row.vector is not None else None,
            )
            for row in rows
        ]
        try:
            result = self.collection.data.insert_many(objects)
        except WeaviateBaseError as exc:
            # The whole batch failed (e.g. Weaviate down): every row is reported, none dropped.
            return [RowError(row.uuid, f"Weaviate rejected the batch: {exc}") for row in rows]
        return [RowError(rows[i].uuid, err.message) for i, err in sorted(result.errors.items())]

    def existing(self, uuids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        wanted = list(dict.fromkeys(uuids))
        for start in range(0, len(wanted), _EXISTING_CHUNK):
            chunk = wanted[start : start + _EXISTING_CHUNK]
            try:
                res = self.collection.query.fetch_objects(
                    filters=Filter.by_id().contains_any(chunk), limit=len(chunk), return_properties=[]
                )
            except WeaviateBaseError as exc:
                raise UpstreamError(f"cannot look up existing objects: {exc}") from exc
            found.update(str(obj.uuid) for obj in res.objects)
        return found

    def fingerprints(self, uuids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(uuids))
        for start in range(0, len(wanted), _EXISTING_CHUNK):
            chunk = wanted[start : start + _EXISTING_CHUNK]
            try:
                res = self.collection.query.fetch_objects(
                    filters=Filter.by_id().contains_any(chunk),
                    limit=len(chunk),
                    return_properties=[FINGERPRINT_PROPERTY],
                )
            except WeaviateBaseError as exc:
                raise UpstreamError(f"cannot look up existing objects: {exc}") from exc
            for obj in res.objects:
                found[str(obj.uuid)] = str(obj.properties.get(FINGERPRINT_PROPERTY) or "")
        return found

    def compact(self) -> None:
        """Nothing to do: Weaviate compacts its own segments."""

    def without_vectors(self, uuids: Sequence[str]) -> set[str]:
        wanted = list(dict.fromkeys(uuids))
        missing: set[str] = set()
        name = self._spec.vector.name
        for start in range(0, len(wanted), _EXISTING_CHUNK):
            chunk = wanted[start : start + _EXISTING_CHUNK]
            try:
                res = self.collection.query.fetch_objects(
                    filters=Filter.by_id().contains_any(chunk),
                    limit=len(chunk),
                    return_properties=[],
                    include_vector=[name],
                )
            except WeaviateBaseError as exc:
                raise UpstreamError(f"cannot read back stored vectors: {exc}") from exc
            missing.update(str(obj.uuid) for obj in res.objects if not obj.vector.get(name))
        return missing

    def search(
        self,
        vector: Vectors | Sequence[float],
        *,
        filters: ProductFilter | None = None,
        limit: int = 10,
        return_properties: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        try:
            res = self.collection.query.near_vector(
                near_vector=as_vector(vector),
                target_vector=self._spec.vector.name,
                filters=product_filter(filters),
                limit=limit,
                return_properties=list(return_properties) if return_properties is not None else None,
                return_metadata=MetadataQuery(distance=True),
            )
        except WeaviateBaseError as exc:
            raise UpstreamError(f"Weaviate search failed: {exc}") from exc
        # Weaviate stores no nulls and leaves unset properties out of its answer; fill them in
        # as None so that hits carry the same keys as the embedded store's (blobs only by name).
        wanted = (
            list(return_properties)
            if return_properties is not None
            else [p.name for p in self._spec.properties if p.data_type is not SpecType.BLOB]
        )
        return [
            SearchHit(
                uuid=str(obj.uuid),
                properties={**dict.fromkeys(wanted), **obj.properties},
                distance=float(obj.metadata.distance if obj.metadata.distance is not None else 0.0),
            )
            for obj in res.objects
        ]

    def search_many(
        self,
        vectors: np.ndarray,
        *,
        limit: int = 10,
        return_properties: Sequence[str] | None = None,
    ) -> list[list[SearchHit]]:
        """One ``near_vector`` search per row (Weaviate's gRPC API takes one vector a query)."""
        rows = np.asarray(vectors, dtype=np.float32)
        return [self.search(row, limit=limit, return_properties=return_properties) for row in rows]

    def product(self, product_id: str) -> StoredProduct | None:
        """The stored product with this catalog id, its image and its vector, or ``None``."""
        name = self._spec.vector.name
        try:
            res = self.collection.query.fetch_objects(
                filters=Filter.by_property("product_id").equal(product_id),
                limit=1,
                return_properties=[p.name for p in self._spec.properties],
                include_vector=[name],
            )
        except WeaviateBaseError as exc:
            raise UpstreamError(f"cannot read product {product_id!r}: {exc}") from exc
        if not res.objects:
            return None
        obj = res.objects[0]
        vector = obj.vector.get(name) if obj.vector else None
        return StoredProduct(
            uuid=str(obj.uuid),
            properties={**dict.fromkeys(p.name for p in self._spec.properties), **obj.properties},
            # A named single vector is a flat list (multi-vectors are lists of lists: not ours).
            vector=[float(x) for x in vector] if vector else None,  # type: ignore[arg-type]
        )

    def iter_vectors(
        self, *, batch_size: int = SCAN_BATCH, properties: Sequence[str] = (), vectors: bool = True
    ) -> Iterator[VectorBatch]:
        """Every object with a vector once, through Weaviate's cursor API
        (``collection.iterator``: pages ``after`` the last UUID, in UUID order), regrouped into
        batches of at most ``batch_size``. Objects without the vector are skipped."""
        check_scan_batch(batch_size)
        names = list(dict.fromkeys(properties))
        unknown = sorted(set(names) - {p.name for p in self._spec.properties})
        if unknown:
            raise InvalidInputError(f"properties: unknown {', '.join(unknown)}")
        return cursor_scan(
            self.collection,
            self._spec.vector.name,
            batch_size=batch_size,
            page=self._cursor_page,
            properties=names,
            with_vectors=vectors,
        )

    def count(self) -> int:
        try:
            return int(self.collection.aggregate.over_all(total_count=True).total_count or 0)
        except WeaviateBaseError as exc:
            raise UpstreamError(f"cannot count objects: {exc}") from exc

    def delete(self, uuids: Sequence[str]) -> int:
        """Delete these objects; returns how many were deleted. Weaviate deletes at most
        ``QUERY_MAXIMUM_RESULTS`` (default 10000) per request (adapters/repos/db/batch.go), a
        limit the client cannot see, so each chunk is repeated until nothing more matches."""
        wanted = list(dict.fromkeys(uuids))
        deleted = 0
        for start in range(0, len(wanted), _DELETE_CHUNK):
            chunk = wanted[start : start + _DELETE_CHUNK]
            where = Filter.by_id().contains_any(chunk)
            remaining = len(chunk)
            while remaining > 0:
                try:
                    res = self.collection.data.delete_many(where=where)
                except WeaviateBaseError as exc:
                    raise UpstreamError(f"cannot delete objects (after deleting {deleted}): {exc}") from exc
                deleted += int(res.successful)
                remaining -= int(res.successful)
                if res.successful == 0:  # the rest of the chunk is not stored
                    break
        return deleted

    def drop(self) -> None:
        self._model_checked = self._model is None  # a collection created again is checked again
        try:
            self._client.collections.delete(self._spec.name)
        except WeaviateBaseError as exc:
            raise UpstreamError(f"cannot drop collection {self._spec.name!r}: {exc}") from exc

    def close(self) -> None:
        self._client.close()
