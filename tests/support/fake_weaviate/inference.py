"""The Grounded service's real HTTP app on a real socket, for the fake Weaviate to call.

Weaviate's multi2vec-clip module calls ``inferenceUrl + "/vectorize"`` at every insert; with
this running, the fake does the same over the service's actual HTTP contract (FakeEmbedder
behind it, so vectors are deterministic and cheap).
"""

from __future__ import annotations

from typing import Any

from tests.support.live_app import LiveApp
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings
from vectorizer_service.transports.http import create_app

__all__ = ["InferenceService"]


class InferenceService(LiveApp):
    """``with InferenceService(dimension=8) as svc:`` serves ``svc.url`` until the block ends."""

    def __init__(self, dimension: int = 8, **settings: Any) -> None:
        self.embedder = FakeEmbedder(dimension=dimension)
        engine = Engine(
            ServiceSettings(
                **{"max_wait_ms": 2.0, "captioner": "none", "remove_background": False, **settings}
            ),
            embedder=self.embedder,
            load_compose_models=False,
        )
        super().__init__(create_app(engine))
