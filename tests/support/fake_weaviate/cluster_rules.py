"""Cluster rules the fake enforces like Weaviate 1.38.2: the replication factor is bounded by the
node count (usecases/sharding/state.go), and a multi-tenant class needs a tenant on every object
and query while a plain one refuses it (adapters/repos/db/multitenancy/validator.go)."""

from __future__ import annotations

from typing import Any

from .state import FakeWeaviateError

__all__ = ["bucket", "replication_error"]


def replication_error(cls: dict[str, Any], nodes: int) -> str | None:
    factor = int((cls.get("replicationConfig") or {}).get("factor", 1))
    if factor < 1:
        return f"replication factor must be at least 1, got {factor}"
    if factor > nodes:
        return f"could not find enough weaviate nodes for replication: {nodes} available, {factor} requested"
    return None


def bucket(schema: dict[str, dict[str, Any]], collection: str, tenant: str) -> str:
    """The key of the objects ``collection``'s ``tenant`` holds in the fake's state (the class
    name itself without tenants); :class:`FakeWeaviateError` as Weaviate refuses."""
    cls = schema.get(collection) or {}
    multi = bool((cls.get("multiTenancyConfig") or {}).get("enabled"))
    if multi and not tenant:
        raise FakeWeaviateError(
            f"class {collection} has multi-tenancy enabled, but request was without tenant"
        )
    if tenant and not multi:
        raise FakeWeaviateError(f"class {collection} has multi-tenancy disabled, but request was with tenant")
    return f"{collection}\x00{tenant}" if tenant else collection
