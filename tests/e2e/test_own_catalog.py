"""The README's "Your own catalog" commands, run exactly as written, on generated photos.

Issue 23's "done when": from a fresh clone, offline, a folder of photos plus a CSV becomes a
searchable catalog with a trained model and a derived vocabulary, using only commands the README
shows. The commands are read from the README's code block (so the README and this test cannot
drift) and run through ``grounded``'s entry point in a folder laid out like the clone's root:
``my-shop/`` beside ``plugin/world/model`` and ``.models/u2net`` (links to this checkout's). Only
the last command, ``grounded ui``, is not run: it serves until stopped (tests/browser covers the
page).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from plugin.cli import EXIT_OK, main
from plugin.store.lance.store import LanceStore
from schemas.vocabulary import parse_vocabulary

REPO_ROOT = Path(__file__).resolve().parents[2]
COLOURS = {"red": (205, 35, 35), "blue": (35, 60, 200), "green": (40, 160, 70), "yellow": (230, 200, 40)}
KINDS = ("mug", "t-shirt", "cap")
VARIANTS = 2
"""Products per (kind, colour): 24 in all."""


def _readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Your own catalog\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "the README's own-catalog section has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _draw(kind: str, rgb: tuple[int, int, int], variant: int) -> Image.Image:
    """A product shot: the product in its colour on a light studio background."""
    image = Image.new("RGB", (160, 160), (238 - 6 * variant, 236, 232))
    pen = ImageDraw.Draw(image)
    shift = 6 * variant
    if kind == "mug":
        pen.rounded_rectangle((45 + shift, 45, 105 + shift, 120), 8, fill=rgb)
        pen.ellipse((95 + shift, 60, 130 + shift, 100), outline=rgb, width=8)
    elif kind == "t-shirt":
        body = [(50, 40), (110, 40), (140, 70), (120, 80), (115, 130), (45, 130), (40, 80), (20, 70)]
        pen.polygon([(x + shift, y) for x, y in body], fill=rgb)
    else:
        pen.pieslice((40 + shift, 50, 120 + shift, 130), 180, 360, fill=rgb)
        pen.rectangle((80 + shift, 86, 140 + shift, 92), fill=rgb)
    return image


def _write_shop(shop: Path) -> list[dict[str, str]]:
    """``shop/photos/sku-NN.jpg`` and ``shop/products.csv`` as a merchant would export them."""
    (shop / "photos").mkdir(parents=True)
    rows = []
    for kind in KINDS:
        for colour, rgb in COLOURS.items():
            for variant in range(VARIANTS):
                sku = f"sku-{len(rows) + 1:02d}"
                _draw(kind, rgb, variant).save(shop / "photos" / f"{sku}.jpg", quality=90)
                rows.append(
                    {
                        "id": sku,
                        "title": f"{colour.title()} {kind} no. {variant + 1}",
                        "category": kind,
                        "price": f"{12 + 3 * len(rows)}.90",
                        "attr_colour": colour,
                        "image": f"photos/{sku}.jpg",
                    }
                )
    with (shop / "products.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _clone_root(root: Path, u2net_home: Path) -> None:
    """What the commands read from a clone besides ``my-shop``: the world model (the start of
    ``grounded train``) and the background remover's weights (``make demo`` fetched them)."""
    (root / "plugin" / "world").mkdir(parents=True)
    (root / "plugin" / "world" / "model").symlink_to(REPO_ROOT / "plugin" / "world" / "model")
    (root / ".models").mkdir()
    (root / ".models" / "u2net").symlink_to(u2net_home)


def test_the_readmes_commands_turn_photos_and_a_csv_into_a_searchable_catalog(
    tmp_path: Path, u2net_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = _readme_commands()
    rows = _write_shop(tmp_path / "my-shop")
    _clone_root(tmp_path, u2net_home)
    monkeypatch.chdir(tmp_path)
    # Offline: nothing may reach a model hub.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GROUNDED_OFFLINE", "1")
    monkeypatch.setenv("PWD", str(tmp_path))

    outputs: dict[str, str] = {}
    ran = []
    for line in commands:
        words = shlex.split(line, comments=True)
        if words[0] == "export":
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                monkeypatch.setenv(name, os.path.expandvars(value))
            continue
        assert words[0] == "grounded", f"the README's block runs something else: {line}"
        if words[1] == "ui":
            continue  # a server; see the module's docstring
        capsys.readouterr()
        code = main(words[1:])
        captured = capsys.readouterr()
        assert code == EXIT_OK, f"{line}\n{captured.out}\n{captured.err}"
        outputs[words[1]] = captured.out + captured.err
        ran.append(words[1])
    assert ran == ["vocabulary", "train", "train-pic2word", "ingest", "search"]

    # The vocabulary is derived from the CSV: its categories and its attribute's values.
    for kind in KINDS:
        assert kind in outputs["vocabulary"]

    # A trained model: weights, a card, and the derived vocabulary the captioner reads.
    model = tmp_path / "my-shop" / "model"
    assert (model / "open_clip_model.safetensors").stat().st_size > 1_000_000
    card = json.loads((model / "card.json").read_text(encoding="utf-8"))
    assert card["data"]["rows"] == len(rows)
    vocabulary = parse_vocabulary((model / "vocabulary.json").read_text(encoding="utf-8"), "trained")
    assert {c.name for c in vocabulary.categories} == set(KINDS)
    assert {v.name for a in vocabulary.attributes for v in a.values} >= set(COLOURS)

    # The Pic2Word mapper beside the weights it was trained for: the default query's word term.
    assert (model / "pic2word.safetensors").is_file()
    assert json.loads((model / "pic2word.json").read_text(encoding="utf-8"))["model_weights_sha256"]

    # Searchable: every product is in the store, and the search ranks catalog products.
    config = json.loads((model / "open_clip_config.json").read_text(encoding="utf-8"))
    dimension = config["model_cfg"]["embed_dim"]
    store = LanceStore(tmp_path / "grounded-data", dimension=dimension, collection="MyShop")
    assert store.count() == len(rows)
    store.close()
    ids = {row["id"] for row in rows}
    found = set(re.findall(r"sku-\d\d", outputs["search"]))
    assert found and found <= ids, outputs["search"]
