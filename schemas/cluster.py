"""How a Weaviate collection spreads over a cluster: replication, shards, tenants, consistency.

Validated as Weaviate 1.38.2 validates them (usecases/schema/class.go, usecases/sharding/state.go,
adapters/repos/db/multitenancy/validator.go), so a bad choice fails before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from schemas.errors import InvalidInputError

__all__ = ["CONSISTENCY_LEVELS", "ClusterSpec", "ConsistencyLevel", "check_tenant"]

ConsistencyLevel = Literal["ONE", "QUORUM", "ALL"]
CONSISTENCY_LEVELS: tuple[str, ...] = get_args(ConsistencyLevel)
MAX_SHARDS = 1024
"""A sanity bound: more shards than this per collection only adds overhead on any real cluster."""


@dataclass(frozen=True)
class ClusterSpec:
    """Replication factor (copies of each shard, at most the node count), asynchronous repair
    between replicas, the desired shard count (``None``: one per node, Weaviate's default), and
    multi-tenancy (one tenant per merchant; tenants are created by the first import into them)."""

    replication_factor: int = 1
    async_replication: bool = False
    shards: int | None = None
    multi_tenancy: bool = False

    def validate(self, *, nodes: int | None = None) -> None:
        """Raise :class:`InvalidInputError` for what Weaviate would refuse; ``nodes`` (from
        ``/v1/nodes``) when known."""
        if self.replication_factor < 1:
            raise InvalidInputError(f"replication factor must be at least 1, got {self.replication_factor}")
        if nodes is not None and self.replication_factor > nodes:
            raise InvalidInputError(
                "could not find enough weaviate nodes for replication: "
                f"{nodes} available, {self.replication_factor} requested"
            )
        if self.shards is not None and not 1 <= self.shards <= MAX_SHARDS:
            raise InvalidInputError(
                f"desired shard count must be between 1 and {MAX_SHARDS}, got {self.shards}"
            )
        if self.multi_tenancy and self.shards is not None:
            # A multi-tenant collection has one shard per tenant: a shard count means nothing.
            raise InvalidInputError(
                "a multi-tenant collection has one shard per tenant: leave the shard count unset"
            )


def check_tenant(spec: ClusterSpec, tenant: str | None, collection: str) -> None:
    """A tenant exactly when the collection is multi-tenant (Weaviate's own messages)."""
    if spec.multi_tenancy and not tenant:
        raise InvalidInputError(
            f"class {collection} has multi-tenancy enabled, but request was without tenant "
            "(set --weaviate-tenant, one per merchant)"
        )
    if tenant and not spec.multi_tenancy:
        raise InvalidInputError(
            f"class {collection} has multi-tenancy disabled, but request was with tenant "
            "(set --weaviate-multi-tenancy when the collection is created)"
        )
