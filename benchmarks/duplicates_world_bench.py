"""Near-duplicate detection on the product world with planted duplicates.

A share of the world's products get a second listing whose photo is re-rendered (another seed:
patterns shift), recropped (85-95 %) and slightly re-coloured (brightness and channel gains of a
few percent). Everything is ingested into an embedded store with the model trained here, and
``find_duplicates`` (the code ``grounded duplicates`` runs) groups it. A pair counts as found when
both listings share a group; precision is over every pair the groups imply.

    python benchmarks/duplicates_world_bench.py --world grounded-data/world --planted 100
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from plugin.encoder.local import LocalEncoder
from plugin.ingest.pipeline import ingest_catalog
from plugin.search.duplicates import DEFAULT_THRESHOLD, find_duplicates
from plugin.settings import PluginSettings
from plugin.store import open_store
from plugin.world.products import enumerate_products, product_rng
from plugin.world.render import catalog_photo
from plugin.world.spec import load_world_spec
from plugin.world.trained import trained_model_settings
from vectorizer_service.settings import ServiceSettings


def _variant(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    side = image.width
    keep = float(rng.uniform(0.85, 0.95))
    crop = int(side * keep)
    x, y = (int(v) for v in rng.integers(0, side - crop + 1, size=2))
    image = image.crop((x, y, x + crop, y + crop)).resize((side, side), Image.Resampling.BICUBIC)
    image = ImageEnhance.Brightness(image).enhance(float(rng.uniform(0.95, 1.05)))
    gains = rng.uniform(0.97, 1.03, size=3)
    return Image.fromarray((np.asarray(image, dtype=np.float32) * gains).clip(0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True, help="a world from `grounded world build`")
    parser.add_argument("--planted", type=int, default=100)
    parser.add_argument("--threshold", type=float, action="append", help="repeatable")
    args = parser.parse_args()
    spec = load_world_spec()
    products = {p.id: p for p in enumerate_products(spec, 0)}
    rows = [json.loads(line) for line in (args.world / "catalog.jsonl").read_text().splitlines()]
    rng = np.random.default_rng(7)
    planted = [rows[int(i)] for i in rng.choice(len(rows), size=args.planted, replace=False)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "dups").mkdir()
        # Image paths relative to the file system root: originals and planted copies live in two
        # folders, and ingestion only reads images under its image folder.
        catalog = [{**r, "image": str((args.world / r["image"]).resolve())[1:]} for r in rows]
        for row in planted:
            product = products[row["id"]]
            photo = catalog_photo(product.look(spec), product_rng(99, product.id, "duplicate"))
            path = folder / "dups" / f"{row['id']}-dup.png"
            _variant(photo, rng).save(path)
            catalog.append({**row, "id": f"{row['id']}-dup", "image": str(path.resolve())[1:]})
        (folder / "catalog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in catalog))
        encoder = LocalEncoder(
            trained_model_settings(
                ServiceSettings(device="cpu", offline=True, captioner="none", remove_background=False)
            )
        )
        plugin = PluginSettings(data_dir=folder / "data")
        store = open_store(plugin, dimension=encoder.model_info().dimension)
        try:
            ingest_catalog(
                folder / "catalog.jsonl",
                store=store,
                encoder=encoder,
                settings=plugin,
                image_dir=Path("/"),
                progress=False,
            )
            truth = {frozenset((r["id"], f"{r['id']}-dup")) for r in planted}
            print(f"{len(catalog)} listings ({len(planted)} planted duplicates), model plugin/world/model")
            print("| threshold | groups | pairs implied | planted found | precision | recall | seconds |")
            print("|---:|---:|---:|---:|---:|---:|---:|")
            for threshold in args.threshold or [DEFAULT_THRESHOLD]:
                started = time.perf_counter()
                report = find_duplicates(store, encoder.model_info().dimension, threshold=threshold)
                seconds = time.perf_counter() - started
                pairs = {
                    frozenset(pair)
                    for group in report.groups
                    for pair in itertools.combinations([m.product_id for m in group.members], 2)
                }
                found = len(pairs & truth)
                precision = found / len(pairs) if pairs else 0.0
                print(
                    f"| {threshold} | {len(report.groups)} | {len(pairs)} | {found} | {precision:.3f} | "
                    f"{found / len(truth):.3f} | {seconds:.1f} |"
                )
        finally:
            store.close()
            encoder.close()


if __name__ == "__main__":
    main()
