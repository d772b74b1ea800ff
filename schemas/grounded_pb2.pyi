from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmbedRequest(_message.Message):
    __slots__ = ("texts", "images", "request_id")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    images: _containers.RepeatedScalarFieldContainer[bytes]
    request_id: str
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., images: _Optional[_Iterable[bytes]] = ..., request_id: _Optional[str] = ...) -> None: ...

class Vector(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("text_vectors", "image_vectors", "request_id", "error")
    TEXT_VECTORS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_VECTORS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    text_vectors: _containers.RepeatedCompositeFieldContainer[Vector]
    image_vectors: _containers.RepeatedCompositeFieldContainer[Vector]
    request_id: str
    error: ItemError
    def __init__(self, text_vectors: _Optional[_Iterable[_Union[Vector, _Mapping]]] = ..., image_vectors: _Optional[_Iterable[_Union[Vector, _Mapping]]] = ..., request_id: _Optional[str] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ModelInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfoResponse(_message.Message):
    __slots__ = ("name", "backend", "pretrained", "dimension", "device", "dtype", "context_length", "text_trimming", "source_backend", "version", "weights_sha256")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    PRETRAINED_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    TEXT_TRIMMING_FIELD_NUMBER: _ClassVar[int]
    SOURCE_BACKEND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    backend: str
    pretrained: str
    dimension: int
    device: str
    dtype: str
    context_length: int
    text_trimming: bool
    source_backend: str
    version: str
    weights_sha256: str
    def __init__(self, name: _Optional[str] = ..., backend: _Optional[str] = ..., pretrained: _Optional[str] = ..., dimension: _Optional[int] = ..., device: _Optional[str] = ..., dtype: _Optional[str] = ..., context_length: _Optional[int] = ..., text_trimming: _Optional[bool] = ..., source_backend: _Optional[str] = ..., version: _Optional[str] = ..., weights_sha256: _Optional[str] = ...) -> None: ...

class ComposeOptions(_message.Message):
    __slots__ = ("remove_background", "caption", "fuse", "template", "image_weight", "return_cutout", "drop_overridden", "catalog_caption", "catalog_attributes", "fusion_method", "direction_gain", "remove_background_mode")
    class CatalogAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REMOVE_BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    FUSE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    RETURN_CUTOUT_FIELD_NUMBER: _ClassVar[int]
    DROP_OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    CATALOG_CAPTION_FIELD_NUMBER: _ClassVar[int]
    CATALOG_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    FUSION_METHOD_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_GAIN_FIELD_NUMBER: _ClassVar[int]
    REMOVE_BACKGROUND_MODE_FIELD_NUMBER: _ClassVar[int]
    remove_background: bool
    caption: bool
    fuse: bool
    template: str
    image_weight: float
    return_cutout: bool
    drop_overridden: bool
    catalog_caption: str
    catalog_attributes: _containers.ScalarMap[str, str]
    fusion_method: str
    direction_gain: float
    remove_background_mode: str
    def __init__(self, remove_background: _Optional[bool] = ..., caption: _Optional[bool] = ..., fuse: _Optional[bool] = ..., template: _Optional[str] = ..., image_weight: _Optional[float] = ..., return_cutout: _Optional[bool] = ..., drop_overridden: _Optional[bool] = ..., catalog_caption: _Optional[str] = ..., catalog_attributes: _Optional[_Mapping[str, str]] = ..., fusion_method: _Optional[str] = ..., direction_gain: _Optional[float] = ..., remove_background_mode: _Optional[str] = ...) -> None: ...

class ComposeQueryRequest(_message.Message):
    __slots__ = ("image", "text", "options")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    text: str
    options: ComposeOptions
    def __init__(self, image: _Optional[bytes] = ..., text: _Optional[str] = ..., options: _Optional[_Union[ComposeOptions, _Mapping]] = ...) -> None: ...

class StageTiming(_message.Message):
    __slots__ = ("stage", "ms", "skipped", "note")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    MS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    stage: str
    ms: float
    skipped: bool
    note: str
    def __init__(self, stage: _Optional[str] = ..., ms: _Optional[float] = ..., skipped: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class ComposeExplanation(_message.Message):
    __slots__ = ("caption", "attributes", "modification", "fused_text", "mask_coverage", "background_removed", "background_note", "image_weight", "timings", "cutout_png", "attribute_sources", "fusion_method", "direction_gain", "attribute_probabilities")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AttributeSourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AttributeProbabilitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    MODIFICATION_FIELD_NUMBER: _ClassVar[int]
    FUSED_TEXT_FIELD_NUMBER: _ClassVar[int]
    MASK_COVERAGE_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_REMOVED_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_NOTE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    CUTOUT_PNG_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_SOURCES_FIELD_NUMBER: _ClassVar[int]
    FUSION_METHOD_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_GAIN_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    caption: str
    attributes: _containers.ScalarMap[str, str]
    modification: str
    fused_text: str
    mask_coverage: float
    background_removed: bool
    background_note: str
    image_weight: float
    timings: _containers.RepeatedCompositeFieldContainer[StageTiming]
    cutout_png: bytes
    attribute_sources: _containers.ScalarMap[str, str]
    fusion_method: str
    direction_gain: float
    attribute_probabilities: _containers.ScalarMap[str, float]
    def __init__(self, caption: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., modification: _Optional[str] = ..., fused_text: _Optional[str] = ..., mask_coverage: _Optional[float] = ..., background_removed: _Optional[bool] = ..., background_note: _Optional[str] = ..., image_weight: _Optional[float] = ..., timings: _Optional[_Iterable[_Union[StageTiming, _Mapping]]] = ..., cutout_png: _Optional[bytes] = ..., attribute_sources: _Optional[_Mapping[str, str]] = ..., fusion_method: _Optional[str] = ..., direction_gain: _Optional[float] = ..., attribute_probabilities: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ComposeQueryResponse(_message.Message):
    __slots__ = ("vector", "explanation")
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    vector: _containers.RepeatedScalarFieldContainer[float]
    explanation: ComposeExplanation
    def __init__(self, vector: _Optional[_Iterable[float]] = ..., explanation: _Optional[_Union[ComposeExplanation, _Mapping]] = ...) -> None: ...
