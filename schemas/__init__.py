"""Contracts shared by the vectorizer service and the Weaviate plugin.

Depends on nothing of ours: wire models, the model record, the vocabulary file format, the
product record, the collection description, the error tree, and the gRPC protocol
(``grounded.proto``, generated into ``grounded_pb2*``, converted to and from the pydantic models
by :mod:`schemas.proto`).
"""

from schemas.collection import (
    DEFAULT_COLLECTION,
    DEFAULT_VECTOR,
    CollectionSpec,
    DataType,
    PropertySpec,
    VectorSpec,
    attribute_pairs,
    product_collection,
    product_properties,
)
from schemas.errors import (
    ErrorKind,
    GroundedError,
    InvalidInputError,
    ModelUnavailableError,
    NotFoundError,
    NotReadyError,
    OverloadedError,
    UpstreamError,
)
from schemas.model_info import ModelInfo
from schemas.product import Product, product_uuid
from schemas.vocabulary import VOCABULARY_FORMAT, Vocabulary, parse_vocabulary, write_vocabulary
from schemas.wire import (
    ComposeExplanation,
    ComposeOptions,
    ComposeRequest,
    ComposeResult,
    ModelMeta,
    StageTiming,
    VectorizeRequest,
    VectorizeResponse,
)

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_VECTOR",
    "VOCABULARY_FORMAT",
    "CollectionSpec",
    "ComposeExplanation",
    "ComposeOptions",
    "ComposeRequest",
    "ComposeResult",
    "DataType",
    "ErrorKind",
    "GroundedError",
    "InvalidInputError",
    "ModelInfo",
    "ModelMeta",
    "ModelUnavailableError",
    "NotFoundError",
    "NotReadyError",
    "OverloadedError",
    "Product",
    "PropertySpec",
    "StageTiming",
    "UpstreamError",
    "VectorSpec",
    "VectorizeRequest",
    "VectorizeResponse",
    "Vocabulary",
    "attribute_pairs",
    "parse_vocabulary",
    "product_collection",
    "product_properties",
    "product_uuid",
    "write_vocabulary",
]
