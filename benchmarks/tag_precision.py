"""Auto-tags that abstain, measured: margins calibrated on a catalog, precision on held-out products.

The tagger is the one ``grounded ingest --auto-tag`` builds (``plugin.vocabulary.catalog_tagger``):
the calibration catalog's own vocabulary and, per attribute, the smallest margin whose precision
on a seeded part of its own products is surely 95% (its lower confidence bound, and the fitted
precision at the margin itself; ``plugin.ingest.calibration``). It then tags every held-out product (those of
``--measure`` not in ``--calibrate``) with its category and attributes removed; per attribute,
precision is the share of written tags that are right, coverage the share of products that
have the attribute which got a tag.

    python benchmarks/tag_precision.py --calibrate grounded-data/world/catalog-train.jsonl \\
        --measure grounded-data/world/catalog.jsonl --model plugin/world/model
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from plugin.encoder.local import LocalEncoder
from plugin.ingest.catalog import read_catalog
from plugin.vocabulary import catalog_tagger, local_photos
from plugin.world.trained import TRAINED_MODEL_DIR, trained_model_settings
from vectorizer_service import ServiceSettings

_CHUNK = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", type=Path, required=True, help="catalog the margins are chosen on")
    parser.add_argument(
        "--measure", type=Path, required=True, help="catalog whose other products are measured"
    )
    parser.add_argument("--model", type=Path, default=TRAINED_MODEL_DIR)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    calibration_rows = [r.product for r in read_catalog(args.calibrate) if r.product is not None]
    seen_ids = {p.id for p in calibration_rows}
    held_out = [r.product for r in read_catalog(args.measure) if r.product and r.product.id not in seen_ids]
    settings = trained_model_settings(
        ServiceSettings(device="cpu", offline=True, remove_background=False, captioner="none"), args.model
    )
    encoder = LocalEncoder(settings, compose_models=False)
    try:
        tagger = catalog_tagger(encoder, calibration_rows, args.calibrate.parent, seed=args.seed)
        photos, _ = local_photos(held_out, args.measure.parent)
        written: Counter[str] = Counter()
        right: Counter[str] = Counter()
        having: Counter[str] = Counter()
        abstained = 0
        for start in range(0, len(photos), _CHUNK):
            chunk = photos[start : start + _CHUNK]
            bare = [p.model_copy(update={"category": "", "attributes": {}}) for p, _ in chunk]
            for (product, _), tagged in zip(chunk, tagger.tag(bare, [b for _, b in chunk]), strict=True):
                truth = {"category": product.category, **product.attributes}
                having.update(truth.keys())
                abstained += tagged.abstained
                for name, tag in tagged.inferred.items():
                    written[name] += 1
                    right[name] += tag.value.casefold() == truth.get(name, "").casefold()
    finally:
        encoder.close()
    calibration = tagger.calibration or {}
    table = {}
    print(f"calibrated on {args.calibrate} (seed {args.seed}); measured on {len(photos)} held-out products")
    print(
        f"{'attribute':<10} {'margin':>7} {'calib. prec.':>12} {'bound':>6} {'held-out prec.':>15} "
        f"{'coverage':>9} {'tags':>5}"
    )
    for name, c in calibration.items():
        precision = right[name] / written[name] if written[name] else None
        coverage = written[name] / having[name] if having[name] else 0.0
        margin = "abstain" if c.threshold is None else f"{c.threshold:.3f}"
        shown = "-" if precision is None else f"{precision:.1%}"
        print(
            f"{name:<10} {margin:>7} {c.precision:>12.1%} {c.lower_bound:>6.1%} {shown:>15} "
            f"{coverage:>9.1%} {written[name]:>5}"
        )
        table[name] = {
            "threshold": c.threshold,
            "calibration_precision": round(c.precision, 4),
            "calibration_lower_bound": round(c.lower_bound, 4),
            "precision": None if precision is None else round(precision, 4),
            "coverage": round(coverage, 4),
            "tags": written[name],
            "products": having[name],
        }
    print(f"abstained: {abstained}")
    print(json.dumps(table))


if __name__ == "__main__":
    main()
