"""Service settings: built once per process, passed explicitly.

Every field reads the environment variable ``GROUNDED_<FIELD>`` (e.g. ``GROUNDED_MODEL``) and
has a matching ``grounded serve --<field>`` flag.

The device also follows ``ENABLE_CUDA`` / ``CUDA_CORE``, the two variables Weaviate's own
inference containers read (and the only setting the official Helm chart gives its
``multi2vec-clip`` container), so the image is a drop-in for that chart. ``GROUNDED_DEVICE`` and
``--device`` win over them when set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from schemas.limits import MAX_VECTORIZE_ITEMS
from schemas.wire import (
    DEFAULT_DIRECTION_GAIN,
    MAX_DIRECTION_GAIN,
    BackgroundChoice,
    FusionMethod,
)

AUTO_FUSION: Literal["auto"] = "auto"
"""The server's default fusion method: :data:`AUTO_METHOD`, chosen on the product world's val
splits (the Pic2Word term joins it when the model folder carries a mapper)."""
AUTO_METHOD: FusionMethod = "ensemble"
"""What ``auto`` resolves to, with or without a Pic2Word mapper (docs/composed-queries.md)."""

__all__ = [
    "AUTO_METHOD",
    "ENV_PREFIX",
    "GroupedSettings",
    "ServiceSettings",
    "SettingsGroup",
    "default_bind_host",
    "device_from_inference_env",
]

ENV_PREFIX = "GROUNDED_"
_CONTAINER_MARKERS = (Path("/.dockerenv"), Path("/run/.containerenv"))


def default_bind_host() -> str:
    """``0.0.0.0`` inside a container (Docker, Podman, Kubernetes), where the port is published
    or fronted by a Service; ``127.0.0.1`` on a workstation or VM, where listening on every
    interface would expose the endpoints to the whole network."""
    in_container = any(marker.exists() for marker in _CONTAINER_MARKERS) or any(
        os.environ.get(name) for name in ("KUBERNETES_SERVICE_HOST", "container")
    )
    return "0.0.0.0" if in_container else "127.0.0.1"


_CUDA_ON = ("1", "true")
_DEFAULT_CUDA_CORE = "cuda:0"


def device_from_inference_env(env: Mapping[str, str]) -> str | None:
    """The device that Weaviate's inference containers would pick from ``env``, or ``None``.

    ``ENABLE_CUDA`` "1" or "true" means ``CUDA_CORE`` (default ``cuda:0``); any other value means
    the CPU; without ``ENABLE_CUDA`` these variables say nothing (the ``auto`` default stands).
    """
    enable = env.get("ENABLE_CUDA")
    if enable is None:
        return None
    if enable.strip().lower() in _CUDA_ON:
        return env.get("CUDA_CORE", "").strip() or _DEFAULT_CUDA_CORE
    return "cpu"


class SettingsGroup(NamedTuple):
    """Settings fields on one topic, under a heading of ``--help``."""

    title: str
    fields: tuple[str, ...]


class GroupedSettings(BaseSettings):
    """A settings class whose fields are grouped by topic in ``setting_groups``, every field in
    exactly one group: a command's ``--help`` lists the groups the command reads, and accepts
    (without listing) the flags of the others."""

    setting_groups: ClassVar[Mapping[str, SettingsGroup]] = {}


class ServiceSettings(GroupedSettings):
    """Settings of the vectorizer service (HTTP + gRPC) and its composed-query pipeline."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # Group names are unique across this class and PluginSettings: a command names the groups
    # it reads from both in one list.
    setting_groups: ClassVar[Mapping[str, SettingsGroup]] = {
        "model": SettingsGroup(
            "embedding model settings",
            (
                "backend",
                "model",
                "pretrained",
                "device",
                "precision",
                "trim_text",
                "offline",
                "torch_threads",
            ),
        ),
        "batching": SettingsGroup("batching settings", ("max_batch_size", "max_wait_ms", "max_queue")),
        "limits": SettingsGroup(
            "request and input limits",
            (
                "max_items_per_request",
                "max_request_bytes",
                "max_image_bytes",
                "max_image_pixels",
                "pixel_budget",
                "max_text_chars",
            ),
        ),
        "compose": SettingsGroup(
            "composed-query settings (background removal, captioner, fusion)",
            (
                "rembg_model",
                "u2net_home",
                "captioner",
                "caption_model",
                "caption_min_probability",
                "caption_min_margin",
                "caption_logit_scale",
                "attribute_head",
                "fusion_template",
                "image_weight",
                "fusion_method",
                "direction_gain",
                "remove_background",
                "cutout_cache_size",
                "remover_threads",
                "remover_input_size",
                "remover_one_region",
                "model_remover",
            ),
        ),
        "vocabulary": SettingsGroup("attribute vocabulary and cache settings", ("vocabulary", "cache_dir")),
        "server": SettingsGroup(
            "service server settings (HTTP, gRPC)",
            ("host", "api_key", "http_port", "grpc_port", "http_read_timeout_s", "log_level"),
        ),
    }

    # --- embedding model -------------------------------------------------------------------
    backend: Literal["open_clip", "transformers", "onnx"] = Field(
        "open_clip",
        description="model runtime: open_clip, transformers (CLIPModel, SiglipModel), or onnx (a folder "
        "from `grounded models export-onnx`, served on ONNX Runtime without torch)",
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
    max_items_per_request: int = Field(
        256, ge=1, le=MAX_VECTORIZE_ITEMS, description="texts + images in one request"
    )
    max_request_bytes: int = Field(64 * 1024 * 1024, ge=1, description="largest request body")
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1, description="largest encoded image")
    max_image_pixels: int = Field(40_000_000, ge=1, description="largest decoded image (width x height)")
    pixel_budget: int = Field(
        120_000_000,
        ge=0,
        description="decoded pixels held at once across all requests (large JPEGs count at the "
        "reduced scale they are decoded to); a request that would exceed it gets 429 / "
        "RESOURCE_EXHAUSTED. Keep it >= max_image_pixels; 0 turns it off",
    )
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
    caption_min_probability: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="the attribute captioner names a category or value only if its probability "
        "reaches at least this (raised over each threshold of the vocabulary; chosen on the "
        "product world's val split, see docs/composed-queries.md)",
    )
    caption_min_margin: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="... and only if it leads the runner-up by at least this (raised over each "
        "threshold of the vocabulary); what is left out is listed in the caption stage's note",
    )
    caption_logit_scale: float | None = Field(
        None,
        gt=0.0,
        description="softmax temperature of the attribute captioner's probabilities (default: the "
        "one the model learned when its checkpoint has it, else the vocabulary's logit_scale)",
    )
    attribute_head: bool = Field(
        True,
        description="the attribute captioner reads the model folder's trained attribute head "
        "(attribute_head.safetensors, grounded train-attributes) when it has one for the vocabulary; "
        "false: zero-shot prompts only",
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
    fusion_method: FusionMethod | Literal["auto"] = Field(
        AUTO_FUSION,
        description="default way the image and text vectors combine: auto (ensemble: Pic2Word's vector "
        "when the model folder carries a mapper, the caption's fused text and the change, summed; "
        "chosen on the product world's val splits, docs/composed-queries.md), image_anchor "
        "(linear), direction (PDV text direction applied to the image), slerp (spherical), "
        "ensemble, pic2word or pic2word_caption (the image as a pseudo-word; need "
        "pic2word.safetensors in the model folder); "
        "docs/composed-queries.md",
    )
    direction_gain: float = Field(
        DEFAULT_DIRECTION_GAIN,
        ge=0.0,
        le=MAX_DIRECTION_GAIN,
        description="default gain of the direction method (how far along t(fused) - t(caption))",
    )
    remove_background: BackgroundChoice = Field(
        "auto",
        description="default of the background-removal switch: true, false, or auto (keep the "
        "background of studio photos, a plain border around a framed subject; cut the others out)",
    )
    cutout_cache_size: int = Field(
        256,
        ge=0,
        description="cut-outs and captions remembered for reference photos composed again (0: off)",
    )
    remover_threads: int = Field(
        2,
        ge=1,
        description="runs of the background remover side by side, one thread each (its own ONNX "
        "Runtime session, beside the embedding model); concurrent queries' photos share the runs",
    )
    remover_input_size: int = Field(
        320,
        ge=32,
        le=1024,
        description="side of the square the u2net-family remover sees (trained at 320); smaller is "
        "faster, but on the product world's shopper photos no smaller side kept the 320 px mask "
        "(mean IoU 0.87 at 256: docs/composed-queries.md, benchmarks/compose_bench.py --mask-iou)",
    )
    remover_one_region: bool = Field(
        True,
        description="keep only the largest connected region of the remover's mask (stray regions "
        "of a shopper's photo then neither widen the frame nor add their colour; chosen on the "
        "product world's val split: docs/composed-queries.md)",
    )
    model_remover: bool = Field(
        True,
        description="use the background remover fine-tuned into the model folder (`grounded "
        "train-remover`: remover.onnx, at the side it was tuned at, intersected with the plain "
        "rembg_model file unless it was tuned to serve alone) when the folder has one",
    )
    cache_dir: Path | None = Field(
        None,
        description="folder for derived data that is slow to recompute (the attribute captioner's "
        "prompt vectors); default $XDG_CACHE_HOME/grounded or ~/.cache/grounded",
    )

    # --- transports ---------------------------------------------------------------------------
    host: str = Field(
        default_factory=lambda: default_bind_host(),
        description="bind address of both servers (default: all interfaces in a container, 127.0.0.1 "
        "elsewhere)",
    )
    api_key: SecretStr | None = Field(
        None,
        description="require 'Authorization: Bearer <key>' on /compose, /metrics and every gRPC method "
        "(/vectorize, /meta and health stay open for Weaviate: fence them by network)",
    )
    http_port: int = Field(8000, ge=0, le=65535, description="HTTP port (Weaviate multi2vec-clip contract)")
    grpc_port: int = Field(50052, ge=0, le=65535, description="gRPC port; 0 disables gRPC")
    http_read_timeout_s: float = Field(
        30.0,
        gt=0,
        description="seconds an HTTP client has to send a request's headers (from connecting, or "
        "from the first byte of the next request on a kept-alive connection), and again its body; "
        "slower connections are closed",
    )
    log_level: str = Field("info", description="log level")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then ``GROUNDED_*``, then ``ENABLE_CUDA`` / ``CUDA_CORE``, then the defaults."""
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            file_secret_settings,
            _InferenceContainerEnv(settings_cls),
        )


class _InferenceContainerEnv(PydanticBaseSettingsSource):
    """``ENABLE_CUDA`` / ``CUDA_CORE`` as the ``device`` setting, below every GROUNDED_* source."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        device = device_from_inference_env(os.environ)
        return {} if device is None else {"device": device}
