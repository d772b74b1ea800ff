"""The one model record: what a loaded embedding model is.

Every runtime backend (and the fake) builds it; ``GET /meta`` serves it as JSON (Weaviate's
multi2vec-clip reads that body, so its field names and order are a contract); gRPC
``GetModelInfo`` sends it as ``ModelInfoResponse``, converted field by field by
:mod:`schemas.proto`; every encoder's ``model_info()`` returns it. ``ModelMeta``
(:mod:`schemas.wire`) and ``vectorizer_service.ModelInfo`` are this same class.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelInfo"]


class ModelInfo(BaseModel):
    """What a loaded model is; served at ``GET /meta`` and by gRPC ``GetModelInfo``."""

    model_config = ConfigDict(frozen=True)

    name: str
    backend: str
    pretrained: str
    dimension: int
    device: str
    dtype: str
    context_length: int
    text_trimming: bool = Field(description="batches are trimmed to their longest real token sequence")
    source_backend: str = Field(
        default="",
        description="for an exported model (onnx): the backend its weights came from; empty otherwise. "
        "Its vectors are that model's vectors, so a catalog embedded before the export stays "
        "searchable after it",
    )
    version: str = Field(
        default="",
        description="the Grounded version that serves the model (the service stamps it); empty from "
        "a service older than the field. Not part of the vector space: an upgrade keeps the catalog",
    )
    weights_sha256: str = Field(
        default="",
        description="``sha256:<hex>`` of a local model folder's CLIP weights file; empty for a hub "
        "model, a backend that does not read such a file, or a service older than the field. Kept "
        "out of ``vector_space`` (whose form stores and collections compare): the embedded store "
        "records it beside, so a model retrained into the same folder is told apart",
    )

    @property
    def vector_space(self) -> str:
        """What names this model's vector space: ``<backend>:<name>:<pretrained>:<dimension>``.

        Two models of the same dimension (ViT-B-32 from OpenAI and from LAION) give incomparable
        vectors, so the weights are part of it; the device and precision are not. An export names
        the backend its weights came from (``source_backend``): it makes the same vectors (to
        ~1e-7) as its source. Stores record this string on disk: it must never change form.
        """
        return f"{self.source_backend or self.backend}:{self.name}:{self.pretrained}:{self.dimension}"
