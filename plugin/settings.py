"""Plugin settings (CLI, SDK helpers, GraphQL endpoint): ``GROUNDED_<FIELD>`` env vars, each
mirrored by a CLI flag. Built once per process and passed explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.collection import DEFAULT_COLLECTION


class PluginSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GROUNDED_", extra="ignore")

    weaviate_url: str | None = Field(
        None, description="Weaviate HTTP URL, e.g. http://localhost:8080; unset = embedded LanceDB store"
    )
    weaviate_grpc_port: int = Field(50051, description="Weaviate's gRPC port")
    weaviate_api_key: SecretStr | None = Field(None, description="Weaviate API key, if it needs one")
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
    data_dir: Path = Field(Path("grounded-data"), description="where the embedded store keeps its data")
    graphql_host: str = Field("0.0.0.0", description="bind address of the GraphQL endpoint")
    graphql_port: int = Field(8085, description="port of the GraphQL endpoint")
    allow_private_image_urls: bool = Field(
        False, description="let ingestion fetch image URLs on private or loopback networks"
    )
    image_fetch_timeout_s: float = Field(10.0, gt=0, description="timeout of one image download")
    max_image_download_bytes: int = Field(20 * 1024 * 1024, gt=0, description="largest image download")
