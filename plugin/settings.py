"""Plugin settings (CLI, SDK helpers, GraphQL endpoint): ``GROUNDED_<FIELD>`` env vars, each
mirrored by a CLI flag. Built once per process and passed explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from schemas.collection import DEFAULT_COLLECTION
from schemas.errors import InvalidInputError
from vectorizer_service import GroupedSettings, SettingsGroup


def default_bind_host() -> str:
    """Loopback, unless this process runs in a container (Docker, Podman or Kubernetes), where
    only the container's network sees the port and loopback would make it unreachable."""
    in_container = (
        Path("/.dockerenv").exists()
        or Path("/run/.containerenv").exists()
        or "KUBERNETES_SERVICE_HOST" in os.environ
    )
    return "0.0.0.0" if in_container else "127.0.0.1"


StoreBackend = Literal["embedded", "weaviate"]
"""The product stores: the embedded LanceDB table, or a Weaviate server."""


class PluginSettings(GroupedSettings):
    model_config = SettingsConfigDict(env_prefix="GROUNDED_", extra="ignore")

    # By what reads them: a command's --help lists only the groups it reads (plugin/cli).
    setting_groups: ClassVar[Mapping[str, SettingsGroup]] = {
        # Apart from "store": the GraphQL endpoint reads the Weaviate URL and collection, and
        # always serves Weaviate.
        "store-backend": SettingsGroup("product store choice", ("store",)),
        "store": SettingsGroup("product store settings", ("weaviate_url", "collection")),
        "data": SettingsGroup("data folder settings", ("data_dir",)),
        "weaviate": SettingsGroup(
            "Weaviate connection settings",
            (
                "weaviate_grpc_port",
                "weaviate_api_key",
                "weaviate_multi_tenancy",
                "weaviate_tenant",
                "weaviate_consistency_level",
            ),
        ),
        # Read when an import creates the collection (or checks an existing one against them).
        "weaviate-collection": SettingsGroup(
            "Weaviate collection and import settings",
            (
                "vectorization",
                "clip_inference_url",
                "weaviate_batch_max_bytes",
                "weaviate_index_type",
                "weaviate_quantizer",
                "weaviate_rq_bits",
                "weaviate_pq_segments",
                "weaviate_rescore_limit",
                "weaviate_filter_strategy",
                "weaviate_async_indexing",
                "weaviate_replication_factor",
                "weaviate_async_replication",
                "weaviate_shards",
            ),
        ),
        "lance": SettingsGroup(
            "embedded store index settings",
            (
                "lance_index_type",
                "lance_index_rows",
                "lance_nprobes",
                "lance_refine_factor",
                "lance_filter_sketch_rows",
            ),
        ),
        "service": SettingsGroup(
            "vectorizer service client settings", ("service_address", "service_api_key")
        ),
        "image-fetch": SettingsGroup(
            "catalog image download settings",
            (
                "allow_private_image_urls",
                "image_fetch_timeout_s",
                "max_image_download_bytes",
                "max_image_pixels",
            ),
        ),
        "graphql": SettingsGroup(
            "GraphQL endpoint settings",
            (
                "graphql_host",
                "graphql_port",
                "graphql_api_key",
                "graphql_max_body_bytes",
                "graphql_max_near_grounded",
                "graphql_max_batch_items",
                "graphql_auth_cache_s",
            ),
        ),
        "ui": SettingsGroup("search page settings", ("ui_host", "ui_port")),
        "search-server": SettingsGroup("running search page to send queries to", ("search_url",)),
        "duplicates": SettingsGroup("near-duplicate search settings", ("duplicates_exact_limit",)),
    }

    store: StoreBackend | None = Field(
        None,
        description="the product store: 'embedded' (LanceDB in data_dir) or 'weaviate' (at weaviate_url); "
        "unset = weaviate when weaviate_url is set, else embedded",
    )
    weaviate_url: str | None = Field(
        None,
        description="Weaviate HTTP URL, e.g. http://localhost:8080; when set (and store is unset), "
        "products live in Weaviate",
    )
    weaviate_grpc_port: int = Field(50051, description="Weaviate's gRPC port")
    weaviate_api_key: SecretStr | None = Field(None, description="Weaviate API key, if it needs one")
    weaviate_batch_max_bytes: int = Field(
        50_000_000,
        gt=0,
        description="largest import request sent to Weaviate; keep it under Weaviate's GRPC_MAX_MESSAGE_SIZE "
        "(default 104858000)",
    )
    collection: str = Field(DEFAULT_COLLECTION, description="product collection name")
    vectorization: Literal["weaviate", "plugin"] = Field(
        "weaviate",
        description="who embeds products in Weaviate: Weaviate's multi2vec-clip module pointed at the "
        "service ('weaviate'), or the plugin over the service's gRPC API ('plugin')",
    )
    clip_inference_url: str = Field(
        "http://vectorizer:8000",
        description="the service's HTTP address as Weaviate sees it (multi2vec-clip inferenceUrl)",
    )
    service_address: str | None = Field(
        None, description="the service's gRPC address host:port; unset = run the models in-process"
    )
    service_api_key: SecretStr | None = Field(
        None, description="the service's API key (its GROUNDED_API_KEY), sent on every gRPC call"
    )
    data_dir: Path = Field(Path("grounded-data"), description="where the embedded store keeps its data")
    graphql_host: str | None = Field(
        None,
        description="bind address of the GraphQL endpoint; unset = 127.0.0.1, or 0.0.0.0 inside a container",
    )
    graphql_port: int = Field(8085, description="port of the GraphQL endpoint")
    graphql_api_key: SecretStr | None = Field(
        None,
        description="API key the GraphQL endpoint requires (X-Grounded-Api-Key header, or "
        "Authorization: Bearer when Weaviate needs no credentials); unset = none",
    )
    graphql_max_body_bytes: int = Field(
        32 * 1024 * 1024,
        gt=0,
        description="largest request body on any path, GraphQL or passed through to Weaviate "
        "(a base64 image fits); larger is refused with 413",
    )
    graphql_max_near_grounded: int = Field(
        8, ge=1, description="most nearGrounded fields in one HTTP request (a batch counts all its queries)"
    )
    graphql_max_batch_items: int = Field(
        64, ge=1, description="most queries in one /v1/graphql/batch request that uses nearGrounded"
    )
    graphql_auth_cache_s: float = Field(
        30.0, ge=0, description="how long Weaviate's answer on a caller's credentials is reused"
    )
    ui_host: str | None = Field(
        None, description="bind address of the search page; unset = 127.0.0.1, or 0.0.0.0 inside a container"
    )
    ui_port: int = Field(8090, description="port of the search page (grounded ui)")
    search_url: str | None = Field(
        None,
        description="a running search page (`grounded ui`), e.g. http://127.0.0.1:8090: `grounded search` "
        "sends its query to the page's /api/search and loads neither models nor the store",
    )
    allow_private_image_urls: bool = Field(
        False, description="let ingestion fetch image URLs on private or loopback networks"
    )
    image_fetch_timeout_s: float = Field(10.0, gt=0, description="timeout of one image download")
    max_image_download_bytes: int = Field(20 * 1024 * 1024, gt=0, description="largest image download")
    max_image_pixels: int = Field(
        40_000_000, gt=0, description="largest catalog image (width x height), checked from its header"
    )
    weaviate_index_type: Literal["hnsw", "flat", "dynamic"] = Field(
        "hnsw", description="Weaviate vector index type (dynamic needs ASYNC_INDEXING on the server)"
    )
    weaviate_quantizer: Literal["none", "pq", "sq", "bq", "rq"] = Field(
        "none", description="Weaviate vector compression (a flat index takes only bq or rq); docs/scale.md"
    )
    weaviate_rq_bits: int = Field(8, description="bits per dimension of RQ compression: 8 or 1")
    weaviate_pq_segments: int = Field(
        0, ge=0, description="PQ segments (must divide the dimension); 0 = Weaviate's"
    )
    weaviate_rescore_limit: int | None = Field(
        None, ge=0, description="candidates rescored on full vectors (SQ/BQ/RQ); unset = Weaviate's default"
    )
    weaviate_filter_strategy: Literal["sweeping", "acorn"] | None = Field(
        None, description="HNSW filter strategy; unset = the server's default"
    )
    weaviate_async_indexing: bool = Field(
        False, description="the Weaviate server runs with ASYNC_INDEXING=true (required by a dynamic index)"
    )
    weaviate_replication_factor: int = Field(
        1, ge=1, description="copies of each shard (at most the number of Weaviate nodes)"
    )
    weaviate_async_replication: bool = Field(
        False, description="repair replicas asynchronously in the background"
    )
    weaviate_shards: int | None = Field(None, ge=1, description="desired shard count; unset = one per node")
    weaviate_multi_tenancy: bool = Field(
        False, description="one tenant per merchant (created on first import)"
    )
    weaviate_tenant: str | None = Field(
        None, description="the tenant (merchant) imports and searches are scoped to"
    )
    weaviate_consistency_level: Literal["ONE", "QUORUM", "ALL"] | None = Field(
        None, description="replicas that must answer a write or read; unset = Weaviate's (QUORUM)"
    )
    lance_index_type: Literal["ivf_rq", "ivf_hnsw_sq", "ivf_pq"] = Field(
        "ivf_rq", description="the embedded store's vector index type (docs/scale.md says why)"
    )
    lance_index_rows: int = Field(
        20_000, ge=0, description="rows at which an import builds the embedded store's indexes (0 = never)"
    )
    lance_nprobes: int = Field(
        40, ge=1, description="IVF partitions an unfiltered query probes (a filtered one: twice as many)"
    )
    lance_refine_factor: int = Field(
        10, ge=1, description="candidates per result the embedded store re-ranks on full vectors"
    )
    lance_filter_sketch_rows: int = Field(
        100_000,
        ge=0,
        description="rows from which the embedded store keeps an in-memory sketch for filtered "
        "queries (~630 MB at 1M x 512; 0 = never); docs/scale.md",
    )
    duplicates_exact_limit: int = Field(
        1_000_000,
        ge=0,
        description="products up to which `grounded duplicates` finds every pair exactly (in memory: "
        "n x dim x 4 bytes and more, ~6.3 GB at 1M x 512; 5-8 min at 1M on 2 cores); above it, each "
        "product's nearest neighbours from the store's index",
    )

    def store_backend(self) -> StoreBackend:
        """The product store these settings select: ``store`` when set, else Weaviate when
        ``weaviate_url`` is set, else the embedded table. ``store='weaviate'`` without a URL is an
        :class:`InvalidInputError` naming both settings (commands ask before loading a model)."""
        if self.store == "weaviate" and not self.weaviate_url:
            raise InvalidInputError(
                "store is 'weaviate' (GROUNDED_STORE / --store) but weaviate_url is not set: "
                "set GROUNDED_WEAVIATE_URL (--weaviate-url), or use --store embedded"
            )
        if self.store is not None:
            return self.store
        return "weaviate" if self.weaviate_url else "embedded"

    def ui_bind_host(self) -> str:
        """Where the search page listens: ``ui_host``, else :func:`default_bind_host`."""
        return self.ui_host or default_bind_host()

    def graphql_bind_host(self) -> str:
        """Where the GraphQL endpoint listens: ``graphql_host``, else :func:`default_bind_host`."""
        return self.graphql_host or default_bind_host()
