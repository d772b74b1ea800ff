"""Weaviate's cluster features for the product collection: replication, shards, tenants and
consistency levels, from a :class:`schemas.cluster.ClusterSpec` (weaviate-client v4)."""

from __future__ import annotations

from typing import Any

import weaviate
from weaviate.classes.config import Configure, ConsistencyLevel
from weaviate.collections import Collection
from weaviate.exceptions import WeaviateBaseError

from schemas.cluster import ClusterSpec
from schemas.errors import UpstreamError

__all__ = ["cluster_create_kwargs", "node_count", "scoped", "validate_on_cluster"]

_LEVELS = {"ONE": ConsistencyLevel.ONE, "QUORUM": ConsistencyLevel.QUORUM, "ALL": ConsistencyLevel.ALL}


def node_count(client: weaviate.WeaviateClient) -> int:
    """How many nodes the cluster reports (``GET /v1/nodes``)."""
    try:
        return len(client.cluster.nodes())
    except WeaviateBaseError as exc:
        raise UpstreamError(f"cannot list Weaviate's nodes: {exc}") from exc


def validate_on_cluster(client: weaviate.WeaviateClient, spec: ClusterSpec) -> None:
    """Check ``spec`` against this cluster (the node count bounds the replication factor).
    A single-node default asks the server nothing."""
    needs_nodes = spec.replication_factor > 1
    spec.validate(nodes=node_count(client) if needs_nodes else None)


def cluster_create_kwargs(spec: ClusterSpec) -> dict[str, Any]:
    """``collections.create`` keyword arguments; empty for the single-node default, so a
    default collection is created exactly as before."""
    kwargs: dict[str, Any] = {}
    if spec.replication_factor > 1 or spec.async_replication:
        kwargs["replication_config"] = Configure.replication(
            factor=spec.replication_factor, async_enabled=spec.async_replication
        )
    if spec.shards is not None:
        kwargs["sharding_config"] = Configure.sharding(desired_count=spec.shards)
    if spec.multi_tenancy:
        # Tenants appear with a merchant's first import; no separate "create tenant" step.
        kwargs["multi_tenancy_config"] = Configure.multi_tenancy(enabled=True, auto_tenant_creation=True)
    return kwargs


def scoped(
    collection: Collection[Any, Any], tenant: str | None, consistency: str | None
) -> Collection[Any, Any]:
    """The collection seen from one tenant and at one consistency level (both optional)."""
    if tenant:
        collection = collection.with_tenant(tenant)
    if consistency:
        collection = collection.with_consistency_level(_LEVELS[consistency])
    return collection
