"""Service settings: built once per process, passed explicitly.

Every field reads the environment variable ``GROUNDED_<FIELD>`` (e.g. ``GROUNDED_MODEL``) and
has a matching ``grounded serve --<field>`` flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "GROUNDED_"


class ServiceSettings(BaseSettings):
    """Settings of the vectorizer service (HTTP + gRPC) and its composed-query pipeline."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # --- embedding model -------------------------------------------------------------------
    backend: Literal["open_clip", "transformers"] = Field(
        "open_clip", description="model runtime: open_clip or transformers (CLIPModel, SiglipModel)"
    )
    model: str = Field(
        "ViT-B-32",
        description="open_clip model name or 'hf-hub:org/name'; for transformers a hub id or a local "
        "save_pretrained directory",
    )
    pretrained: str = Field(
        "openai", description="open_clip pretrained tag or a local checkpoint file (.pt/.bin/.safetensors)"
    )
    device: str = Field("auto", description="'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'")
    precision: Literal["auto", "fp32", "fp16"] = Field(
        "auto", description="'auto' is fp16 on CUDA and fp32 on CPU"
    )
    trim_text: bool = Field(
        True, description="trim each text batch to its longest real token sequence where that is exact"
    )
    offline: bool = Field(
        False, description="never reach a model hub; weights must be local (also HF_HUB_OFFLINE=1)"
    )

    # --- batching ----------------------------------------------------------------------------
    max_batch_size: int = Field(32, ge=1, description="largest model batch")
    max_wait_ms: float = Field(
        5.0, ge=0, description="how long a batch waits for more work once the model is free"
    )
    max_queue: int = Field(
        1024, ge=1, description="items waiting per batcher before 429 / RESOURCE_EXHAUSTED"
    )
    torch_threads: int | None = Field(None, ge=1, description="torch intra-op threads (default: torch's)")

    # --- input limits -------------------------------------------------------------------------
    max_items_per_request: int = Field(256, ge=1, description="texts + images in one request")
    max_request_bytes: int = Field(64 * 1024 * 1024, ge=1, description="largest request body")
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1, description="largest encoded image")
    max_image_pixels: int = Field(40_000_000, ge=1, description="largest decoded image (width x height)")
    max_text_chars: int = Field(
        10_000,
        ge=1,
        description="longest text accepted; longer is an error, long texts within it are "
        "truncated to the model's context",
    )

    # --- composed query -----------------------------------------------------------------------
    rembg_model: str = Field("u2netp", description="rembg model name: u2netp, u2net, isnet-general-use, ...")
    u2net_home: Path | None = Field(
        None, description="folder holding rembg's <model>.onnx files (rembg's U2NET_HOME)"
    )
    captioner: Literal["attributes", "transformers", "none"] = Field(
        "attributes", description="'attributes' (CLIP zero-shot, no extra weights) or 'transformers'"
    )
    caption_model: str = Field(
        "Salesforce/blip-image-captioning-base",
        description="transformers image-to-text model: hub id or local directory",
    )
    vocabulary: Path | None = Field(
        None, description="attribute vocabulary JSON for the attribute captioner (default: bundled)"
    )
    fusion_template: str = Field(
        "a photo of {caption}, {modification}", description="default fusion template"
    )
    image_weight: float = Field(
        0.0, ge=0.0, le=1.0, description="default weight of the reference image vector in the query"
    )
    remove_background: bool = Field(True, description="default of the background-removal switch")

    # --- transports ---------------------------------------------------------------------------
    host: str = Field("0.0.0.0", description="bind address of both servers")
    http_port: int = Field(8000, ge=0, le=65535, description="HTTP port (Weaviate multi2vec-clip contract)")
    grpc_port: int = Field(50052, ge=0, le=65535, description="gRPC port; 0 disables gRPC")
    log_level: str = Field("info", description="log level")
