"""Helpers of the reliability suite: a fake encoder with a chosen model identity, small
catalogs written to disk, and a reader of what the embedded store holds."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from schemas.wire import ComposeResult, ModelMeta
from vectorizer_service.runtime.fake import FakeEmbedder

DIM = 8


class NamedFakeEncoder:
    """A :class:`plugin.encoder.protocol.QueryEncoder` over ``FakeEmbedder`` that reports ``pretrained``
    as its weights, so tests can stand in two models of the same dimension; ``seed`` changes
    its image vectors as another model's would; ``exported`` reports it as an ONNX export of
    the same weights. Counts the images it embeds."""

    def __init__(self, pretrained: str = "weights-a", seed: bytes = b"", *, exported: bool = False) -> None:
        self.embedder = FakeEmbedder(dimension=DIM)
        self.pretrained = pretrained
        self.seed = seed
        self.exported = exported
        self.images_embedded = 0

    def model_info(self) -> ModelMeta:
        info = self.embedder.info
        return ModelMeta(
            name=info.name,
            backend="onnx" if self.exported else info.backend,
            source_backend=info.backend if self.exported else "",
            pretrained=self.pretrained,
            dimension=info.dimension,
            device=info.device,
            dtype=info.dtype,
            context_length=info.context_length,
            text_trimming=info.text_trimming,
        )

    def embed_images(self, images: Sequence[bytes]) -> np.ndarray:
        self.images_embedded += len(images)
        opened = [Image.open(io.BytesIO(b)) for b in images]
        vectors = self.embedder.encode_images(opened)
        if self.seed:
            vectors = vectors[:, ::-1].copy()
        return vectors

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode_texts(list(texts))

    def compose(self, image: bytes | None, text: str, options: Any = None) -> ComposeResult:
        raise NotImplementedError

    def close(self) -> None:
        pass


def png(colour: tuple[int, int, int], size: tuple[int, int] = (12, 12)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def write_catalog(folder: Path, products: list[dict[str, Any]], name: str = "catalog.jsonl") -> Path:
    """``products`` as JSONL, each with its own small image ``<id>.png`` (distinct colours)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, product in enumerate(products):
        image = folder / f"{product['id']}.png"
        if not image.exists():
            image.write_bytes(png((index * 37 % 256, index * 91 % 256, index * 53 % 256)))
        product.setdefault("image", image.name)
    path = folder / name
    path.write_text("".join(json.dumps(p) + "\n" for p in products), encoding="utf-8")
    return path


def products(count: int) -> list[dict[str, Any]]:
    return [{"id": f"p{i:03d}", "title": f"product {i}", "price": float(i)} for i in range(count)]


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` and holds no pixel data: enough for a decoder
    that checks the header first, and nothing to allocate."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def jpeg_header(width: int, height: int) -> bytes:
    """A tiny JPEG (well under 1 KB) whose header claims ``width`` x ``height`` pixels: a real
    8 x 8 JPEG with its frame header's size rewritten, as in issue 22's memory attack. Decoding
    it allocates the claimed size, then finds the data truncated."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 150)).save(buffer, format="JPEG", quality=50)
    data = bytearray(buffer.getvalue())
    at = data.index(b"\xff\xc0")  # baseline start-of-frame: length (2), precision (1), height, width
    data[at + 5 : at + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def big_jpeg(width: int, height: int) -> bytes:
    """A valid JPEG of ``width`` x ``height`` pixels that compresses to a few hundred KB (one colour)."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, format="JPEG", quality=10)
    return buffer.getvalue()
