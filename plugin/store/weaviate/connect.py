"""Opening the Weaviate product store from settings: the client connection, the collection spec
(vector index, cluster layout, who computes vectors), refused before connecting when invalid."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

import weaviate
from weaviate.classes.init import Auth
from weaviate.exceptions import WeaviateBaseError

from plugin.settings import PluginSettings
from plugin.store.weaviate.store import WeaviateStore
from schemas.cluster import ClusterSpec
from schemas.collection import product_collection
from schemas.errors import InvalidInputError, UpstreamError
from schemas.vector_index import VectorIndexSpec

__all__ = ["connect_weaviate", "weaviate_store"]


def connect_weaviate(settings: PluginSettings) -> weaviate.WeaviateClient:
    """Connect to the Weaviate at ``settings.weaviate_url`` (HTTP) and its gRPC port."""
    if not settings.weaviate_url:
        raise InvalidInputError("weaviate_url is not set (GROUNDED_WEAVIATE_URL)")
    url = urlsplit(settings.weaviate_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InvalidInputError(f"weaviate_url must be an http(s) URL, got {settings.weaviate_url!r}")
    secure = url.scheme == "https"
    auth = Auth.api_key(settings.weaviate_api_key.get_secret_value()) if settings.weaviate_api_key else None
    try:
        return weaviate.connect_to_custom(
            http_host=url.hostname,
            http_port=url.port or (443 if secure else 80),
            http_secure=secure,
            grpc_host=url.hostname,
            grpc_port=settings.weaviate_grpc_port,
            grpc_secure=secure,
            auth_credentials=auth,
        )
    except WeaviateBaseError as exc:
        raise UpstreamError(f"cannot connect to Weaviate at {settings.weaviate_url}: {exc}") from exc


def weaviate_store(
    settings: PluginSettings, *, model: str | None = None, weights_sha256: str | None = None
) -> WeaviateStore:
    """The product store for ``settings``: connected client, spec from ``collection`` and
    ``vectorization`` ('weaviate' = multi2vec-clip computes vectors, 'plugin' = we do). ``model``
    and ``weights_sha256`` name the plugin's model, recorded with the collection and compared
    with what it records where the plugin computes vectors (:class:`WeaviateStore`)."""
    base = product_collection(settings.collection)
    index = VectorIndexSpec(
        index_type=settings.weaviate_index_type,
        quantizer=settings.weaviate_quantizer,
        rq_bits=settings.weaviate_rq_bits,
        pq_segments=settings.weaviate_pq_segments,
        rescore_limit=settings.weaviate_rescore_limit,
        filter_strategy=settings.weaviate_filter_strategy,
    )
    # Refused here, before connecting, with the reason: Weaviate refuses the same (422).
    index.validate(async_indexing=settings.weaviate_async_indexing)
    cluster = ClusterSpec(
        replication_factor=settings.weaviate_replication_factor,
        async_replication=settings.weaviate_async_replication,
        shards=settings.weaviate_shards,
        multi_tenancy=settings.weaviate_multi_tenancy,
    )
    cluster.validate()
    spec = dataclasses.replace(
        base,
        vector=dataclasses.replace(
            base.vector, server_side=settings.vectorization == "weaviate", index=index
        ),
        cluster=cluster,
    )
    return WeaviateStore(
        connect_weaviate(settings),
        spec,
        clip_inference_url=settings.clip_inference_url,
        max_batch_bytes=settings.weaviate_batch_max_bytes,
        tenant=settings.weaviate_tenant,
        consistency_level=settings.weaviate_consistency_level,
        model=model,
        weights_sha256=weights_sha256,
    )
