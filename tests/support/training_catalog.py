"""A tiny synthetic product catalog for the training tests: coloured shapes drawn with PIL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

COLOURS = {"red": (220, 30, 30), "green": (30, 190, 40), "blue": (30, 40, 220), "yellow": (235, 215, 20)}
SHAPES = ("square", "disc", "stripe")


def draw(colour: str, shape: str, size: int = 40) -> Image.Image:
    """A ``colour`` ``shape`` on white."""
    image = Image.new("RGB", (size, size), (255, 255, 255))
    pen = ImageDraw.Draw(image)
    box = (size // 4, size // 4, 3 * size // 4, 3 * size // 4)
    if shape == "square":
        pen.rectangle(box, fill=COLOURS[colour])
    elif shape == "disc":
        pen.ellipse(box, fill=COLOURS[colour])
    else:
        pen.rectangle((0, size // 2 - 4, size, size // 2 + 4), fill=COLOURS[colour])
    return image


def write_catalog(folder: Path, *, copies: int = 2, extra: list[dict[str, Any]] | None = None) -> Path:
    """``folder/catalog.jsonl`` with ``len(COLOURS) * len(SHAPES) * copies`` products (category =
    shape, attribute colour) and their PNG files; ``extra`` rows are appended as given."""
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for colour in COLOURS:
        for shape in SHAPES:
            for copy in range(copies):
                name = f"{colour}-{shape}-{copy}.png"
                draw(colour, shape).save(folder / name)
                rows.append(
                    {
                        "id": f"{colour}-{shape}-{copy}",
                        "title": f"{colour} {shape} no. {copy}",
                        "category": shape,
                        "attributes": {"colour": colour},
                        "image": name,
                    }
                )
    rows.extend(extra or [])
    path = folder / "catalog.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_tiny_config(folder: Path) -> Path:
    """``folder/tiny-train.json``: the tiny open_clip architecture the training tests start from."""
    from vectorizer_service.runtime import TINY_OPEN_CLIP_CONFIG

    path = folder / "tiny-train.json"
    path.write_text(json.dumps(TINY_OPEN_CLIP_CONFIG))
    return path
