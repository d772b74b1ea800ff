"""Training an attribute head on a catalog's own labels (``grounded train-attributes``).

The attribute captioner names a reference's category, colour, pattern... zero-shot, from the
text tower's prompts; a catalog's records already say them for its own products. This run fits,
for the category and each attribute of the model folder's vocabulary, a probe
(:mod:`plugin.training.probes`: linear, or one hidden layer) on the frozen image vector, and
writes it into the model folder (:mod:`vectorizer_service.compose.attribute_head`), where the
captioner picks it up.

The probes see what serving sees: every catalog photo as a shop lists it, and ``scene_variants``
shopper-scene views of it (:mod:`plugin.training.scenes`: the product pasted on a generated
background, then cut out by the stand-in of the service's background removal and framed the
service's way; with ``real_cutouts``, the first scenes of each product also as the service's own
remover cuts them out, :mod:`plugin.training.scene_cutout`). Products, not views, are split: a
seeded ``val_fraction`` of them is held out to choose each probe's shape and weight decay (every
pair of ``hidden_sizes`` and ``weight_decays``) and its temperature, and to measure it (the card:
accuracy on held-out catalog photos, on their scene views and on their real cut-outs); the probes
are then refitted on every product with those choices. Deterministic by seed: the split, the
scenes, the cut-outs and the fits (L-BFGS, CPU) are functions of it.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from plugin.training.attribute_head_options import AttributeHeadOptions
from plugin.training.dataset import CatalogData, Example, held_out_products, load_catalog_examples
from plugin.training.images import WORKING_SIDE
from plugin.training.model_source import StartingModel, load_starting_model
from plugin.training.probes import Array, Labels, choose_probe, fit_probe, fit_temperature, score_probe
from plugin.training.scene_bank import SceneBank, SceneOptions
from plugin.training.scene_cutout import RealCutouts, load_real_cutouts
from schemas.errors import InvalidInputError
from vectorizer_service import (
    CATEGORY,
    AttributeHead,
    Probe,
    Vocabulary,
    label_space,
    load_vocabulary,
    resolve_device,
    save_attribute_head,
    vocabulary_fingerprint,
)

__all__ = ["AttributeHeadOptions", "AttributeHeadResult", "train_attribute_head"]

_ENCODE_BATCH = 128


@dataclass
class AttributeHeadResult:
    head: AttributeHead
    card: dict[str, Any]


@dataclass(frozen=True)
class _Views:
    """Image vectors of every view, the product row each shows, whether it is a scene, and
    whether that scene was cut out by the service's remover."""

    vectors: Array
    rows: np.ndarray
    scene: np.ndarray
    real: np.ndarray


def _encode(starting: StartingModel, images: Sequence[Image.Image], device: torch.device) -> Array:
    """Unit image vectors through the serving preprocessing (fp32, CPU)."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), _ENCODE_BATCH):
            pixels = torch.stack([starting.preprocess(i) for i in images[start : start + _ENCODE_BATCH]])
            out.append(starting.model.encode_image(pixels.to(device), normalize=True).float().cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def _views(
    starting: StartingModel,
    examples: Sequence[Example],
    options: AttributeHeadOptions,
    real: RealCutouts | None = None,
) -> _Views:
    bank = SceneBank(
        examples,
        SceneOptions(fraction=1.0, variants=options.scene_variants),
        options.seed,
        real=real,
        real_variants=options.real_cutouts,
    )
    images: list[Image.Image] = []
    rows: list[int] = []
    scene: list[bool] = []
    is_real: list[bool] = []
    for row, example in enumerate(examples):
        made = bank.views[row]
        first_real = len(made) - bank.real_views[row]
        images += [example.image, *made]
        rows += [row] * (1 + len(made))
        scene += [False] + [True] * len(made)
        is_real += [False] + [i >= first_real for i in range(len(made))]
    device = resolve_device(options.device)
    starting.model.eval().to(device)
    return _Views(_encode(starting, images, device), np.array(rows), np.array(scene), np.array(is_real))


def _labels(examples: Sequence[Example], vocabulary: Vocabulary) -> tuple[dict[str, Labels], dict[str, int]]:
    """Per probe name, each product's label index (-1: none, or a word the vocabulary lacks),
    and per name how many labels were left out as unknown words."""
    labels: dict[str, Labels] = {}
    unknown: dict[str, int] = {}
    for name, values in label_space(vocabulary).items():
        index = {v: i for i, v in enumerate(values)}
        words = [e.product.category if name == CATEGORY else e.product.attributes.get(name) for e in examples]
        labels[name] = np.array([index.get(w, -1) if w else -1 for w in words], dtype=np.int64)
        unknown[name] = sum(1 for w in words if w and w not in index)
    return labels, unknown


def _fit_one(
    name: str,
    values: tuple[str, ...],
    product_labels: Labels,
    views: _Views,
    held: np.ndarray,
    options: AttributeHeadOptions,
) -> tuple[Probe, dict[str, Any]]:
    y = product_labels[views.rows]
    known = y >= 0
    train = known & ~held[views.rows]
    test = known & held[views.rows]
    if len(np.unique(y[train])) < 2:
        raise InvalidInputError(f"{name}: the training products show fewer than 2 of its values")
    best, tried = choose_probe(
        _rows(views, y, train),
        _rows(views, y, test),
        len(values),
        options.hidden_sizes,
        options.weight_decays,
        options.seed,
    )
    fit, hidden, decay = best.fit, best.hidden, best.weight_decay
    temperature = fit_temperature(fit.logits(views.vectors[test]), y[test])
    report = {
        "values": len(values),
        "labelled_products": int((product_labels >= 0).sum()),
        "hidden": hidden,
        "weight_decay": decay,
        "temperature": round(temperature, 4),
        "held_out_catalog": score_probe(fit, *_rows(views, y, test & ~views.scene), temperature).as_json(),
        "held_out_scenes": score_probe(
            fit, *_rows(views, y, test & views.scene & ~views.real), temperature
        ).as_json(),
        "held_out_nll_before_calibration": round(best.score.nll, 4),
        "choice": best.name,
        "tried": {c.name: c.score.as_json() for c in tried},
    }
    if views.real.any():
        real = score_probe(fit, *_rows(views, y, test & views.real), temperature)
        report["held_out_real_cutouts"] = real.as_json()
    final = fit_probe(views.vectors[known], y[known], len(values), decay, hidden=hidden, seed=options.seed)
    probe = Probe(values, final.weight, final.bias, temperature, final.hidden_weight, final.hidden_bias)
    return probe, report


def _rows(views: _Views, y: Labels, mask: np.ndarray) -> tuple[Array, Labels]:
    return views.vectors[mask], y[mask]


def train_attribute_head(
    options: AttributeHeadOptions,
    *,
    command: Sequence[str] | None = None,
    echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> AttributeHeadResult:
    """Run ``options`` end to end (see the module docstring); ``command`` goes into the card."""
    options.validate()
    started = time.perf_counter()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    vocabulary_file = options.vocabulary_file()
    vocabulary = load_vocabulary(vocabulary_file)
    # The remover before the CLIP model: a missing u2netp file fails the run in a second.
    real = load_real_cutouts(options.scene_cache_dir()) if options.real_cutouts else None
    starting = load_starting_model(str(options.model), "", offline=options.offline)
    data: CatalogData = load_catalog_examples(
        options.catalog,
        options.images,
        skip_bad_rows=options.skip_bad_rows,
        working_side=max(WORKING_SIDE, starting.image_size),
    )
    for skipped in data.skipped:
        echo(f"skipped {skipped.describe()}")
    if len(data.examples) < 2:
        raise InvalidInputError("train-attributes needs at least 2 usable products (one held out)")
    labels, unknown = _labels(data.examples, vocabulary)
    views = _views(starting, data.examples, options, real)
    encode_s = time.perf_counter() - started
    held = held_out_products(len(data.examples), options.val_fraction, options.seed)
    probes: dict[str, Probe] = {}
    reports: dict[str, Any] = {}
    for name, values in label_space(vocabulary).items():
        if (labels[name] >= 0).sum() == 0:
            reports[name] = {"skipped": "no product of the catalog carries a value of it"}
            continue
        probes[name], reports[name] = _fit_one(name, values, labels[name], views, held, options)
        catalog, scenes = reports[name]["held_out_catalog"], reports[name]["held_out_scenes"]
        cut = reports[name].get("held_out_real_cutouts")
        echo(
            f"{name}: held-out accuracy catalog {catalog['accuracy']:.3f} ({catalog['rows']}), "
            f"scenes {scenes['accuracy']:.3f} ({scenes['rows']}); "
            + (f"real cut-outs {cut['accuracy']:.3f} ({cut['rows']}); " if cut else "")
            + f"{reports[name]['choice']}, "
            f"temperature {reports[name]['temperature']:.3f}"
        )
        if unknown[name]:
            reports[name]["unknown_words"] = unknown[name]
    if not probes:
        raise InvalidInputError(
            "no product carries a category or attribute of the vocabulary: nothing to train"
        )
    card = {
        "data": {
            "catalog": str(data.path.resolve()),
            "sha256": data.sha256,
            "products": len(data.examples),
            "held_out_products": int(held.sum()),
            "views": len(views.rows),
            "scene_views": int(views.scene.sum()),
            "real_cutout_views": int(views.real.sum()),
            **({"real_cutouts": real.as_json()} if real is not None else {}),
            "skipped_rows": [s.as_json() for s in data.skipped],
        },
        "vocabulary": str(vocabulary_file) if vocabulary_file else "bundled",
        "options": options.as_json(),
        "probes": reports,
        "timing": {"encode_s": round(encode_s, 2), "wall_s": round(time.perf_counter() - started, 2)},
        "command": list(command) if command is not None else None,
        "versions": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }
    head = AttributeHead(probes, vocabulary_fingerprint(vocabulary), card, options.min_probability)
    save_attribute_head(options.model, head)
    return AttributeHeadResult(head, card)
