"""A query encoder without a service."""

from __future__ import annotations

from typing import Any

import numpy as np


class FakeEncoder:
    """:class:`plugin.encoder.protocol.QueryEncoder` over ``FakeEmbedder``: deterministic vectors, and a
    record of every call so tests can see what was embedded and composed."""

    def __init__(self, dimension: int = 8) -> None:
        from vectorizer_service.runtime.fake import FakeEmbedder

        self.embedder = FakeEmbedder(dimension=dimension)
        self.compose_calls: list[tuple[bytes | None, str, Any]] = []
        self.fail_images: set[bytes] = set()

    def model_info(self) -> Any:
        from schemas.wire import ModelMeta

        info = self.embedder.info
        return ModelMeta(**{k: getattr(info, k) for k in ModelMeta.model_fields})

    def embed_images(self, images: Any) -> np.ndarray:
        import io

        from PIL import Image

        from schemas.errors import InvalidInputError

        for i, data in enumerate(images):
            if data in self.fail_images:
                raise InvalidInputError(f"images[{i}]: refused by the fake service")
        return self.embedder.encode_images([Image.open(io.BytesIO(b)) for b in images])

    def embed_texts(self, texts: Any) -> np.ndarray:
        return self.embedder.encode_texts(list(texts))

    def compose(self, image: bytes | None, text: str, options: Any = None) -> Any:
        from schemas.wire import ComposeExplanation, ComposeResult

        self.compose_calls.append((image, text, options))
        parts = [self.embed_texts([text])[0]]
        if image is not None:
            parts.append(self.embed_images([image])[0])
        vec = np.sum(parts, axis=0)
        vec = vec / np.linalg.norm(vec)
        explanation = ComposeExplanation(
            caption="a red dress",
            attributes={"colour": "red"},
            attribute_sources={"colour": "zero-shot"},
            attribute_probabilities={"colour": 0.93},
            modification=text,
            fused_text=f"a red dress, {text}",
        )
        return ComposeResult(vector=[float(x) for x in vec], explanation=explanation)

    def close(self) -> None:
        return None
