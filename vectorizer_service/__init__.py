"""The Grounded vectorizer service: CLIP embeddings over HTTP (Weaviate's multi2vec-clip
contract) and gRPC, with dynamic batching and composed queries.

This module is the service's public face: ``__all__`` is everything another package (the
plugin, benchmarks, users' code) may import from the service. The layer contracts in
``pyproject.toml`` (``make lint``) fail the build when ``plugin`` imports any other module of
this package. The core (``Engine``) imports neither FastAPI nor grpc; names are loaded on first
use so that ``import vectorizer_service`` stays light (no torch, no model runtime).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vectorizer_service.settings import ENV_PREFIX, GroupedSettings, ServiceSettings, SettingsGroup

if TYPE_CHECKING:
    from schemas.model_info import ModelInfo
    from schemas.vocabulary import CATEGORY, Vocabulary
    from vectorizer_service.compose.attribute_head import (
        ATTRIBUTE_HEAD_CONFIG_FILE,
        ATTRIBUTE_HEAD_WEIGHTS_FILE,
        AttributeHead,
        Probe,
        label_space,
        load_attribute_head,
        save_attribute_head,
        vocabulary_fingerprint,
    )
    from vectorizer_service.compose.attributes import AttributeCaptioner
    from vectorizer_service.compose.framing import NEUTRAL_BACKGROUND, frame_subject
    from vectorizer_service.compose.model_remover import (
        REMOVER_CONFIG_FILE,
        REMOVER_FILE,
        REMOVER_FORMAT,
        base_remover_file,
        remover_batch,
    )
    from vectorizer_service.compose.pic2word import PIC2WORD_CAPTION_WORDINGS
    from vectorizer_service.compose.prompt_cache import default_cache_dir
    from vectorizer_service.compose.remover import load_remover
    from vectorizer_service.compose.stages.background import (
        MAX_MASK_COVERAGE,
        MIN_MASK_COVERAGE,
        cutout_view,
    )
    from vectorizer_service.compose.vocab import load_vocabulary, with_article
    from vectorizer_service.compose.weights import default_u2net_home, fetch_u2netp
    from vectorizer_service.engine import EmbedResult, Engine
    from vectorizer_service.images import ImageLimits, base64_to_bytes, decode_image
    from vectorizer_service.model_files import model_files_problem
    from vectorizer_service.runtime import OpenClipSource, resolve_open_clip_source
    from vectorizer_service.runtime.hub import HubAccess
    from vectorizer_service.runtime.loader import resolve_device
    from vectorizer_service.runtime.onnx_export import export_onnx
    from vectorizer_service.runtime.pic2word import (
        PIC2WORD_CONFIG_FILE,
        PIC2WORD_TRAIN_PROMPT,
        PIC2WORD_WEIGHTS_FILE,
        Pic2WordMapper,
        PseudoWordText,
        encode_with_pseudo_word,
        load_pic2word_mapper,
        save_pic2word_mapper,
    )
    from vectorizer_service.runtime.protocol import PreparedImage, Vectors
    from vectorizer_service.runtime.random_marker import RANDOM_WEIGHTS_FILE, mark_random
    from vectorizer_service.runtime.random_weights import (
        OPEN_CLIP_WEIGHTS_NAME,
        TINY_OPEN_CLIP_CONFIG,
        save_random_open_clip,
    )
    from vectorizer_service.serve import add_serve_arguments, run_service, settings_from_args
    from vectorizer_service.settings_cli import add_settings_arguments, settings_from_namespace

__all__ = [
    "ATTRIBUTE_HEAD_CONFIG_FILE",
    "ATTRIBUTE_HEAD_WEIGHTS_FILE",
    "CATEGORY",
    "ENV_PREFIX",
    "MAX_MASK_COVERAGE",
    "MIN_MASK_COVERAGE",
    "NEUTRAL_BACKGROUND",
    "OPEN_CLIP_WEIGHTS_NAME",
    "PIC2WORD_CAPTION_WORDINGS",
    "PIC2WORD_CONFIG_FILE",
    "PIC2WORD_TRAIN_PROMPT",
    "PIC2WORD_WEIGHTS_FILE",
    "RANDOM_WEIGHTS_FILE",
    "REMOVER_CONFIG_FILE",
    "REMOVER_FILE",
    "REMOVER_FORMAT",
    "TINY_OPEN_CLIP_CONFIG",
    "AttributeCaptioner",
    "AttributeHead",
    "EmbedResult",
    "Engine",
    "GroupedSettings",
    "HubAccess",
    "ImageLimits",
    "ModelInfo",
    "OpenClipSource",
    "Pic2WordMapper",
    "PreparedImage",
    "Probe",
    "PseudoWordText",
    "ServiceSettings",
    "SettingsGroup",
    "Vectors",
    "Vocabulary",
    "add_serve_arguments",
    "add_settings_arguments",
    "base64_to_bytes",
    "base_remover_file",
    "cutout_view",
    "decode_image",
    "default_cache_dir",
    "default_u2net_home",
    "encode_with_pseudo_word",
    "export_onnx",
    "fetch_u2netp",
    "frame_subject",
    "label_space",
    "load_attribute_head",
    "load_pic2word_mapper",
    "load_remover",
    "load_vocabulary",
    "mark_random",
    "model_files_problem",
    "remover_batch",
    "resolve_device",
    "resolve_open_clip_source",
    "run_service",
    "save_attribute_head",
    "save_pic2word_mapper",
    "save_random_open_clip",
    "settings_from_args",
    "settings_from_namespace",
    "vocabulary_fingerprint",
    "with_article",
]

# What each name is for, by group: the engine (in-process models), wire-level types, decoding at
# the edge as the service does, the vocabulary the captioner reads, model sources and weights
# (training, the demo's stand-in model, ONNX export, rembg's weights), and the CLI plumbing that
# turns settings classes into flags.
_LAZY = {
    "Engine": "vectorizer_service.engine",
    "EmbedResult": "vectorizer_service.engine",
    "ModelInfo": "schemas.model_info",
    "PreparedImage": "vectorizer_service.runtime.protocol",
    "Vectors": "vectorizer_service.runtime.protocol",
    "ImageLimits": "vectorizer_service.images",
    "base64_to_bytes": "vectorizer_service.images",
    "decode_image": "vectorizer_service.images",
    "model_files_problem": "vectorizer_service.model_files",
    "AttributeCaptioner": "vectorizer_service.compose.attributes",
    "ATTRIBUTE_HEAD_CONFIG_FILE": "vectorizer_service.compose.attribute_head",
    "ATTRIBUTE_HEAD_WEIGHTS_FILE": "vectorizer_service.compose.attribute_head",
    "AttributeHead": "vectorizer_service.compose.attribute_head",
    "Probe": "vectorizer_service.compose.attribute_head",
    "label_space": "vectorizer_service.compose.attribute_head",
    "load_attribute_head": "vectorizer_service.compose.attribute_head",
    "save_attribute_head": "vectorizer_service.compose.attribute_head",
    "vocabulary_fingerprint": "vectorizer_service.compose.attribute_head",
    "CATEGORY": "schemas.vocabulary",
    "Vocabulary": "schemas.vocabulary",
    "load_vocabulary": "vectorizer_service.compose.vocab",
    "with_article": "vectorizer_service.compose.vocab",
    "HubAccess": "vectorizer_service.runtime.hub",
    "OpenClipSource": "vectorizer_service.runtime",
    "resolve_open_clip_source": "vectorizer_service.runtime",
    "resolve_device": "vectorizer_service.runtime.loader",
    "export_onnx": "vectorizer_service.runtime.onnx_export",
    "PIC2WORD_CONFIG_FILE": "vectorizer_service.runtime.pic2word",
    "PIC2WORD_TRAIN_PROMPT": "vectorizer_service.runtime.pic2word",
    "PIC2WORD_WEIGHTS_FILE": "vectorizer_service.runtime.pic2word",
    "Pic2WordMapper": "vectorizer_service.runtime.pic2word",
    "PseudoWordText": "vectorizer_service.runtime.pic2word",
    "encode_with_pseudo_word": "vectorizer_service.runtime.pic2word",
    "load_pic2word_mapper": "vectorizer_service.runtime.pic2word",
    "save_pic2word_mapper": "vectorizer_service.runtime.pic2word",
    "PIC2WORD_CAPTION_WORDINGS": "vectorizer_service.compose.pic2word",
    "RANDOM_WEIGHTS_FILE": "vectorizer_service.runtime.random_marker",
    "mark_random": "vectorizer_service.runtime.random_marker",
    "OPEN_CLIP_WEIGHTS_NAME": "vectorizer_service.runtime.random_weights",
    "TINY_OPEN_CLIP_CONFIG": "vectorizer_service.runtime.random_weights",
    "save_random_open_clip": "vectorizer_service.runtime.random_weights",
    "default_u2net_home": "vectorizer_service.compose.weights",
    "default_cache_dir": "vectorizer_service.compose.prompt_cache",
    "NEUTRAL_BACKGROUND": "vectorizer_service.compose.framing",
    "frame_subject": "vectorizer_service.compose.framing",
    "load_remover": "vectorizer_service.compose.remover",
    "REMOVER_CONFIG_FILE": "vectorizer_service.compose.model_remover",
    "REMOVER_FILE": "vectorizer_service.compose.model_remover",
    "REMOVER_FORMAT": "vectorizer_service.compose.model_remover",
    "base_remover_file": "vectorizer_service.compose.model_remover",
    "remover_batch": "vectorizer_service.compose.model_remover",
    "MAX_MASK_COVERAGE": "vectorizer_service.compose.stages.background",
    "MIN_MASK_COVERAGE": "vectorizer_service.compose.stages.background",
    "cutout_view": "vectorizer_service.compose.stages.background",
    "fetch_u2netp": "vectorizer_service.compose.weights",
    "add_serve_arguments": "vectorizer_service.serve",
    "run_service": "vectorizer_service.serve",
    "settings_from_args": "vectorizer_service.serve",
    "add_settings_arguments": "vectorizer_service.settings_cli",
    "settings_from_namespace": "vectorizer_service.settings_cli",
}


# No public name here may equal a submodule's name (``serve``, ``images``, ...): importing that
# submodule sets the package attribute to the module and hides the name for every later caller.


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
