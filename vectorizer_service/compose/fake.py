"""Deterministic stand-ins for the stage models, for unit tests: no weights, no onnxruntime."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from vectorizer_service.compose.protocols import Caption, Cutout


class FakeRemover:
    """Keeps the centre box of each image on white and reports a fixed mask coverage.
    Records the batch sizes it was called with."""

    def __init__(self, coverage: float = 0.5) -> None:
        self.coverage = coverage
        self.batches: list[int] = []

    @property
    def name(self) -> str:
        return "fake"

    def remove(self, images: Sequence[Image.Image]) -> list[Cutout]:
        self.batches.append(len(images))
        cutouts = []
        for image in images:
            w, h = image.size
            box = (w // 4, h // 4, w - w // 4, h - h // 4)
            out = Image.new("RGB", image.size, (255, 255, 255))
            out.paste(image.convert("RGB").crop(box), box[:2])
            cutouts.append(Cutout(image=out, coverage=self.coverage))
        return cutouts


class FakeCaptioner:
    """Returns the same caption for every image and remembers the images it saw."""

    def __init__(self, caption: Caption | None = None) -> None:
        self.result = caption or Caption(
            "a red floral cotton dress",
            {"category": "dress", "colour": "red", "pattern": "floral", "material": "cotton"},
            probabilities={"category": 0.7, "colour": 0.95, "pattern": 0.9, "material": 0.8},
        )
        self.seen: list[Image.Image] = []

    @property
    def name(self) -> str:
        return "fake"

    def caption(self, images: Sequence[Image.Image]) -> list[Caption]:
        self.seen.extend(images)
        return [self.result for _ in images]
