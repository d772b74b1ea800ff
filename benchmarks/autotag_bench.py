"""Auto-tagging precision and coverage on the product world's held-out products.

Each held-out catalog product of a split is handed to the auto-tagger (``plugin/ingest/tagging.py``,
the code ``grounded ingest --auto-tag`` runs) with its category and attributes removed; the
values it fills are compared with the world's known ones. Coverage: share of products given a
value; precision: share of given values that are right.

    python benchmarks/autotag_bench.py --world grounded-data/world --split test
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from plugin.encoder.local import LocalEncoder
from plugin.ingest.tagging import DEFAULT_THRESHOLD, AutoTagger
from plugin.world.trained import TRAINED_MODEL_DIR, trained_model_settings
from schemas.product import Product
from vectorizer_service.compose.vocab import load_vocabulary
from vectorizer_service.settings import ServiceSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--threshold", type=float, action="append", help="repeatable")
    parser.add_argument("--model", type=Path, default=TRAINED_MODEL_DIR)
    args = parser.parse_args()
    manifest = json.loads((args.world / "world.json").read_text())
    held_out = set(manifest["held_out_combinations"][args.split])
    rows = [json.loads(line) for line in (args.world / "catalog.jsonl").read_text().splitlines()]
    rows = [
        r
        for r in rows
        if f"{r['category']}/{r['attributes']['colour']}/{r['attributes']['pattern']}" in held_out
    ]
    settings = trained_model_settings(
        ServiceSettings(device="cpu", offline=True, remove_background=False, captioner="none"), args.model
    )
    encoder = LocalEncoder(settings)
    try:
        tagger_vocabulary = load_vocabulary(settings.vocabulary)
        images = [(args.world / r["image"]).read_bytes() for r in rows]
        bare = [Product(id=r["id"], title=r["id"]) for r in rows]
        print(f"{len(rows)} held-out {args.split} products, model {args.model}")
        print("| threshold | attribute | products | coverage | precision |")
        print("|---:|---|---:|---:|---:|")
        for threshold in args.threshold or [DEFAULT_THRESHOLD]:
            tagger = AutoTagger(encoder, tagger_vocabulary, threshold=threshold)
            tagged = tagger.tag(bare, images)
            given: Counter[str] = Counter()
            right: Counter[str] = Counter()
            total: Counter[str] = Counter()
            for row, result in zip(rows, tagged, strict=True):
                truth = {"category": row["category"], **row["attributes"]}
                for name, inferred in result.inferred.items():
                    given[name] += 1
                    right[name] += int(truth.get(name) == inferred.value)
                for name in truth:
                    total[name] += 1
            for name in ("category", "colour", "pattern", "cut", "sleeve"):
                if total[name]:
                    precision = f"{100 * right[name] / given[name]:.1f}" if given[name] else "-"
                    coverage = f"{100 * given[name] / total[name]:.1f}"
                    print(f"| {threshold} | {name} | {total[name]} | {coverage} | {precision} |")
    finally:
        encoder.close()


if __name__ == "__main__":
    main()
