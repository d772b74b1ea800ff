"""Example queries the page offers to click: a reference photo and the change to try with it.

``grounded demo`` writes its shopper-photo queries to a folder (``examples.json`` plus one PNG
each); ``grounded ui`` on the demo collection reads them back, so a first visitor can try a query
without a photo of their own. The folder format lives here, beside the page that reads it, and
the demo (a layer above) writes it with :func:`write_examples`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EXAMPLES_DIR", "EXAMPLES_FILE", "MAX_EXAMPLES", "Example", "load_examples", "write_examples"]

EXAMPLES_DIR = "examples"
"""Where the demo writes its examples, under its output folder."""
EXAMPLES_FILE = "examples.json"
MAX_EXAMPLES = 8
"""Most examples the page shows: a row of thumbnails, not a gallery."""


@dataclass(frozen=True)
class Example:
    """One example query: its photo (PNG or JPEG bytes), the change and a short label."""

    photo: bytes
    text: str
    label: str = ""


def write_examples(folder: Path, examples: list[Example]) -> Path:
    """``folder/examples.json`` and ``folder/<n>.png``; returns the JSON file."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for number, example in enumerate(examples[:MAX_EXAMPLES]):
        name = f"{number}.png"
        (folder / name).write_bytes(example.photo)
        entries.append({"file": name, "text": example.text, "label": example.label})
    path = folder / EXAMPLES_FILE
    path.write_text(json.dumps(entries, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def load_examples(folder: Path) -> list[Example]:
    """The examples of ``folder``; none when it has no ``examples.json``. Entries whose photo is
    missing are skipped: the page is still useful without them."""
    path = folder / EXAMPLES_FILE
    if not path.is_file():
        return []
    entries = json.loads(path.read_text(encoding="utf-8"))
    examples = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        # Only a file of this folder: the JSON names it, so it cannot point elsewhere.
        photo = folder / Path(str(entry.get("file", ""))).name
        if not photo.is_file():
            continue
        examples.append(Example(photo.read_bytes(), str(entry.get("text", "")), str(entry.get("label", ""))))
    return examples[:MAX_EXAMPLES]
