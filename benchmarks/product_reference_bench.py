""" "This product, but ...": a stored product as the reference, against a shopper photo of it.

The product world's catalog is ingested into an embedded store with the model trained here;
each query of a CIRR-layout split is then run twice through ``near_grounded``: once with the
reference product's id (its stored image, its catalog title and attributes feed the caption),
once with the shopper photo of it. R@k counts the query's ``target_hard`` among the first k.

    python benchmarks/product_reference_bench.py --world grounded-data/world --split test
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from plugin.encoder.local import LocalEncoder
from plugin.ingest.pipeline import ingest_catalog
from plugin.search.query import near_grounded
from plugin.settings import PluginSettings
from plugin.store import open_store
from plugin.world.trained import trained_model_settings
from vectorizer_service.settings import ServiceSettings

_KS = (1, 5, 10, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--u2net-home", type=Path, default=Path(".models/u2net"))
    args = parser.parse_args()
    root = args.world
    catalog = json.loads((root / "captions" / f"cap.rc2.{args.split}.json").read_text())
    shopper = {
        q["pairid"]: q
        for q in json.loads((root / "captions" / f"cap.rc2.{args.split}-shopper.json").read_text())
    }
    photos = json.loads((root / "image_splits" / "split.rc2.shopper-photos.json").read_text())
    service = trained_model_settings(ServiceSettings(device="cpu", offline=True, u2net_home=args.u2net_home))
    encoder = LocalEncoder(service)
    with tempfile.TemporaryDirectory() as data:
        plugin = PluginSettings(data_dir=Path(data))
        store = open_store(plugin, dimension=encoder.model_info().dimension)
        try:
            ingest_catalog(
                root / "catalog.jsonl", store=store, encoder=encoder, settings=plugin, progress=False
            )
            hits: dict[str, list[int]] = {"product reference": [], "shopper photo": []}
            for q in catalog:
                target = q["target_hard"]
                by_product = near_grounded(
                    store, encoder, image=None, text=q["caption"], product=q["reference"], limit=50
                )
                photo = (root / photos[shopper[q["pairid"]]["reference"]]).read_bytes()
                by_photo = near_grounded(store, encoder, image=photo, text=q["caption"], limit=50)
                for name, result in (("product reference", by_product), ("shopper photo", by_photo)):
                    ids = [h.properties.get("product_id") for h in result.hits]
                    hits[name].append(ids.index(target) + 1 if target in ids else 10**6)
        finally:
            store.close()
            encoder.close()
    print(f"{len(catalog)} queries of {args.split}, gallery {root / 'catalog.jsonl'}, default pipeline")
    print("| reference | " + " | ".join(f"R@{k}" for k in _KS) + " |")
    print("|---|" + "---:|" * len(_KS))
    for name, ranks in hits.items():
        cells = " | ".join(f"{100 * sum(r <= k for r in ranks) / len(ranks):.1f}" for k in _KS)
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
