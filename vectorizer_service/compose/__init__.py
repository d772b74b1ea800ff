"""The composed-query pipeline: background removal -> caption -> fusion -> embedding.

The engine builds :class:`ComposePipeline` over batched model entry points (:class:`ComposeDeps`)
and loads the stage models once with :func:`load_stage_models`.
"""

from vectorizer_service.compose.factory import load_captioner, load_stage_models
from vectorizer_service.compose.fusion import DEFAULT_TEMPLATE, Fusion, fuse, validate_template
from vectorizer_service.compose.pipeline import ComposePipeline
from vectorizer_service.compose.protocols import BackgroundRemover, Caption, Captioner, ComposeDeps, Cutout
from vectorizer_service.compose.vocab import Vocabulary, load_vocabulary

__all__ = [
    "DEFAULT_TEMPLATE",
    "BackgroundRemover",
    "Caption",
    "Captioner",
    "ComposeDeps",
    "ComposePipeline",
    "Cutout",
    "Fusion",
    "Vocabulary",
    "fuse",
    "load_captioner",
    "load_stage_models",
    "load_vocabulary",
    "validate_template",
]
