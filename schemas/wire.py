"""JSON wire models shared by the service's HTTP API and its clients.

Field names of the ``/vectorize`` and ``/meta`` models follow Weaviate's multi2vec-clip inference
contract exactly (camelCase), because a stock Weaviate is the client. The gRPC messages of
``grounded.proto`` mirror the compose models and the model record field for field;
:mod:`schemas.proto` converts between them and ``tests/unit/test_wire_proto.py`` compares them.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.limits import (
    MAX_ATTRIBUTE_NAME_CHARS,
    MAX_ATTRIBUTE_VALUE_CHARS,
    MAX_CATALOG_ATTRIBUTES,
    MAX_CATALOG_CAPTION_CHARS,
    MAX_TEMPLATE_CHARS,
    MAX_VECTORIZE_ITEMS,
)
from schemas.model_info import ModelInfo

FusionMethod = Literal["image_anchor", "direction", "slerp", "pic2word", "pic2word_caption", "ensemble"]
"""How the embedding stage combines the reference image vector with the text vectors
(docs/composed-queries.md gives each formula and its source)."""
FUSION_METHODS: tuple[FusionMethod, ...] = get_args(FusionMethod)
PIC2WORD_METHODS: tuple[FusionMethod, ...] = ("pic2word", "pic2word_caption")
"""The methods that put the image into the prompt as a pseudo-word (a trained mapper: Pic2Word)."""
DEFAULT_FUSION_METHOD: FusionMethod = "image_anchor"
"""The method composed queries used before there was a choice: the server default's default."""
DEFAULT_DIRECTION_GAIN = 1.0
"""``direction``'s gain ``g`` by default: the change applied once, as the text states it."""
MAX_DIRECTION_GAIN = 4.0
"""Largest gain accepted: PDV reports its best at 1-1.4; far above, the change swamps the image."""
AUTO_BACKGROUND = "auto"
BackgroundChoice = bool | Literal["auto"]
"""The background-removal switch, per request and as the server default: true cuts the product
out of every photo, false keeps every photo as it is, "auto" decides per photo (a studio photo
keeps its background, any other is cut out). gRPC carries it as ``remove_background`` (the
true / false of older clients) and ``remove_background_mode`` ("on", "off", "auto"):
:mod:`schemas.proto`."""


class VectorizeRequest(BaseModel):
    """``POST /vectorize``: either field may be missing, null or empty."""

    model_config = ConfigDict(extra="ignore")

    texts: list[str] | None = Field(default=None, max_length=MAX_VECTORIZE_ITEMS)
    images: list[str] | None = Field(
        default=None, max_length=MAX_VECTORIZE_ITEMS, description="base64 images, optional data: prefix"
    )


class VectorizeResponse(BaseModel):
    textVectors: list[list[float]]
    imageVectors: list[list[float]]


ModelMeta = ModelInfo
"""``GET /meta``'s body: the one model record, :class:`schemas.model_info.ModelInfo`, under
its old wire name."""


class ErrorResponse(BaseModel):
    """Every HTTP error body; Weaviate reads ``error``."""

    error: str


_AttributeName = Annotated[str, StringConstraints(max_length=MAX_ATTRIBUTE_NAME_CHARS)]
_AttributeValue = Annotated[str, StringConstraints(max_length=MAX_ATTRIBUTE_VALUE_CHARS)]


class ComposeOptions(BaseModel):
    """Per-request switches of the composed-query pipeline. ``None`` means the server default."""

    model_config = ConfigDict(extra="forbid")

    remove_background: BackgroundChoice | None = Field(
        default=None,
        description="true: cut the product out; false: keep the photo; auto: keep a studio photo's "
        "background and cut any other photo out (the explanation's background_note says which)",
    )
    caption: bool | None = None
    fuse: bool | None = None
    template: str | None = Field(
        default=None,
        max_length=MAX_TEMPLATE_CHARS,
        description="fusion template with {caption} and {modification} (pic2word methods: a prompt "
        "with the pseudo-word * as well)",
    )
    image_weight: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="share of the reference image side in the query vector (0: the text alone); "
        "every fusion method reads it",
    )
    fusion_method: FusionMethod | None = Field(
        default=None,
        description="how the image and text vectors combine: image_anchor (linear mix), direction "
        "(the change as a text direction applied to the image, PDV), slerp (spherical interpolation), "
        "pic2word (the image as the pseudo-word * of 'a photo of * , {modification}', Saito et al.; "
        "needs a trained mapper), pic2word_caption (the pseudo-word and the caption in one prompt) or "
        "ensemble (Pic2Word's vector when a mapper is loaded, the caption's fused text and the change, "
        "summed as unit vectors 1 : 0.5 : 0.25)",
    )
    direction_gain: float | None = Field(
        default=None,
        ge=0.0,
        le=MAX_DIRECTION_GAIN,
        description="direction method: how far along t(fused) - t(caption) the query moves (default 1)",
    )
    drop_overridden: bool | None = Field(
        default=None,
        description="attribute-aware fusion: drop caption attributes the modification overrides "
        "(default true); false fills the template with the whole caption",
    )
    return_cutout: bool = False
    catalog_caption: str | None = Field(
        default=None,
        max_length=MAX_CATALOG_CAPTION_CHARS,
        description="a stored reference product's caption (its catalog title), used before a zero-shot one",
    )
    catalog_attributes: dict[_AttributeName, _AttributeValue] | None = Field(
        default=None,
        max_length=MAX_CATALOG_ATTRIBUTES,
        description="a stored reference product's catalog attributes: they win over the captioner's picks",
    )


class StageTiming(BaseModel):
    stage: str
    ms: float
    skipped: bool = False
    note: str = ""


class ComposeExplanation(BaseModel):
    """What every stage of the composed query did, so a shopper's result can be explained."""

    # bytes travel as base64 text in JSON (the cut-out PNG)
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    caption: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict, description="attribute captioner's picks")
    attribute_sources: dict[str, str] = Field(
        default_factory=dict,
        description="where each attribute came from: 'catalog', 'attribute-head' (the model "
        "folder's trained head) or 'zero-shot'",
    )
    attribute_probabilities: dict[str, float] = Field(
        default_factory=dict,
        description="the probability of each attribute the captioner named (a catalog's own "
        "values have none)",
    )
    modification: str = ""
    fused_text: str | None = None
    mask_coverage: float | None = None
    background_removed: bool = False
    background_note: str = ""
    image_weight: float = 0.0
    fusion_method: FusionMethod | None = Field(
        default=None, description="the fusion method the embedding stage applied"
    )
    direction_gain: float | None = Field(default=None, description="the gain used (direction method only)")
    timings: list[StageTiming] = Field(default_factory=list)
    cutout_png: bytes | None = Field(default=None, description="PNG of the cut-out, when asked for")


class ComposeResult(BaseModel):
    """The core's answer, and the body of ``POST /compose``: one L2-normalised query vector
    plus its explanation."""

    vector: list[float]
    explanation: ComposeExplanation


class ComposeRequest(BaseModel):
    """``POST /compose``."""

    model_config = ConfigDict(extra="forbid")

    image: str | None = Field(default=None, description="base64 reference image, optional data: prefix")
    text: str = Field(default="", description="the requested change, e.g. 'in blue with long sleeves'")
    options: ComposeOptions = Field(default_factory=ComposeOptions)
