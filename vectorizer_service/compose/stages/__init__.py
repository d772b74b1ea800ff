"""The composed-query stages, in pipeline order."""

from vectorizer_service.compose.stages.background import BackgroundStage
from vectorizer_service.compose.stages.caption import CaptionStage
from vectorizer_service.compose.stages.embedding import EmbeddingStage
from vectorizer_service.compose.stages.fusion import FusionStage

__all__ = ["BackgroundStage", "CaptionStage", "EmbeddingStage", "FusionStage"]
