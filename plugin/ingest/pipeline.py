"""Importing a catalog into a product store, with a report of every row that did not make it.

Rows go in batches: read and validate, load images, skip the ones stored already with the same
content fingerprint (:mod:`plugin.store.fingerprint`: record, image bytes and model; deterministic
UUIDs make a re-run resume instead of duplicating), compute vectors for the new and changed ones
when the store does not embed objects itself, upsert (changed rows are updated in place). What
counts as new, updated or unchanged is decided by the store as it writes (exactly under the
embedded store's write lock), so two imports at once do not both report a product as new.
Every failure - bad JSON, validation, missing or undecodable image, fetch failure, store
rejection - is kept with its row number and reason and written to a JSONL
report; none is silently dropped. Afterwards the stored objects are checked against the input.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from plugin.encoder.protocol import QueryEncoder
from plugin.ingest.catalog import CatalogRow, count_rows, read_catalog
from plugin.ingest.image_fetch import ImageFetcher
from plugin.ingest.report import IngestReport, RowFailure, write_report
from plugin.ingest.tagging import INFERRED_PROPERTY, AutoTagger, Tagged, inferred_json
from plugin.settings import PluginSettings
from plugin.store.fingerprint import (
    FINGERPRINT_PROPERTY,
    SERVER_SIDE_MODEL,
    model_identity,
    product_fingerprint,
)
from plugin.store.protocol import ProductRow, ProductStore
from plugin.store.weaviate.multi2vec import combine_like_weaviate, object_texts
from schemas.collection import VectorSpec, product_properties
from schemas.errors import GroundedError, InvalidInputError
from schemas.images import image_shape_problem
from schemas.product import Product, product_uuid
from vectorizer_service import Vectors

__all__ = ["IngestReport", "RowFailure", "combine_vectors", "ingest_catalog"]

log = logging.getLogger(__name__)

_IMAGE_PROPERTY = "image"
_ITEM_PREFIX = re.compile(r"^(images|texts)\[\d+\]: ")


@dataclass
class _Pending:
    row: int
    product: Product
    uuid: str
    fingerprint: str = ""
    inferred: str = ""
    """Auto-tagging's ``attributes_inferred`` JSON (empty when it is off)."""
    tags: tuple[int, int] = (0, 0)
    """Auto-tags written and abstained for this row."""


def combine_vectors(spec: VectorSpec, image_vectors: Vectors, text_vectors: dict[str, Vectors]) -> Vectors:
    """Each object's vector from its field vectors (every field present), as Weaviate's
    multi2vec-clip combines them: see :mod:`plugin.store.weaviate.multi2vec` for the order and the weights."""
    texts = [text_vectors[name] for name in sorted(spec.text_fields)]
    images = [image_vectors] * len(spec.image_fields)
    return np.stack(
        [
            combine_like_weaviate(
                spec.text_fields, spec.image_fields, [t[i] for t in texts], [m[i] for m in images]
            )
            for i in range(len(image_vectors))
        ]
    )


def _check_decodable(data: bytes, max_pixels: int) -> None:
    """Refuse an image that is not one, is broken, or has a shape the service would refuse
    (read from the header, before anything is decoded or sent)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            problem = image_shape_problem(img.width, img.height, max_pixels)
            if problem is not None:
                raise InvalidInputError(problem)
            img.verify()
    except InvalidInputError:
        raise
    except UnidentifiedImageError:
        raise InvalidInputError("image cannot be decoded: not an image (unknown format)") from None
    except Exception as exc:  # PIL raises many types for broken files
        raise InvalidInputError(f"image cannot be decoded ({type(exc).__name__}: {exc})") from exc


class _Ingestor:
    def __init__(
        self,
        store: ProductStore,
        encoder: QueryEncoder | None,
        fetcher: ImageFetcher,
        bar: tqdm,
        model: str,
        tagger: AutoTagger | None = None,
    ) -> None:
        self.store = store
        self.tagger = tagger
        self.model = model
        self.max_image_pixels = fetcher.max_image_pixels
        self.encoder = encoder
        self.fetcher = fetcher
        self.bar = bar
        self.vector = store.spec.vector
        self.failures: list[RowFailure] = []
        self.first_row: dict[str, int] = {}
        self.product_ids: dict[str, str] = {}
        self.stored: list[str] = []
        self.upserted = 0
        self.updated = 0
        self.tags_written = 0
        self.tags_abstained = 0
        self.skipped = 0
        self.counts_exact = True

    def fail(self, row: int, product_id: str | None, reason: str) -> None:
        self.failures.append(RowFailure(row, product_id, reason))

    def add(self, item: CatalogRow, batch: list[_Pending]) -> None:
        if item.product is None:
            self.fail(item.row, item.product_id, item.error or "invalid row")
            self.bar.update(1)
            return
        uid = str(product_uuid(item.product.id))
        if uid in self.first_row:
            self.fail(item.row, item.product.id, f"duplicate product id (first on row {self.first_row[uid]})")
            self.bar.update(1)
            return
        self.first_row[uid] = item.row
        self.product_ids[uid] = item.product.id
        batch.append(_Pending(item.row, item.product, uid))

    def flush(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        stored_fingerprints = self.store.fingerprints([p.uuid for p in batch])
        loaded: list[tuple[_Pending, bytes]] = []
        for pending in batch:
            try:
                image = self._image(pending.product)
            except GroundedError as exc:
                self.fail(pending.row, pending.product.id, exc.message)
                continue
            record = product_properties(pending.product, None)
            if self.tagger is not None:  # tags depend on the threshold: another one re-tags
                record["auto_tag"] = self.tagger.identity
            pending.fingerprint = product_fingerprint(record, image, model=self.model, vector=self.vector)
            if stored_fingerprints.get(pending.uuid) == pending.fingerprint:
                self.skipped += 1
                self.stored.append(pending.uuid)
            else:
                loaded.append((pending, image))
        self._tag(loaded)
        rows = self._rows(loaded)
        by_uuid = {p.uuid: p for p, _ in loaded}
        # The store decides what is new against what it holds when it writes: another import
        # may have written some of these since the read above.
        result = self.store.upsert_changed(rows)
        self.counts_exact = self.counts_exact and result.exact
        rejected = {err.uuid: err.message for err in result.errors}
        for r in rows:
            if r.uuid in rejected:
                p = by_uuid[r.uuid]
                self.fail(p.row, p.product.id, f"store rejected the object: {rejected[r.uuid]}")
                continue
            self.stored.append(r.uuid)
            self.tags_written += by_uuid[r.uuid].tags[0]
            self.tags_abstained += by_uuid[r.uuid].tags[1]
            if r.uuid in result.unchanged:
                self.skipped += 1
            else:
                self.upserted += 1
                self.updated += r.uuid in result.replaced
        self.bar.update(len(batch))

    def _tag(self, loaded: Sequence[tuple[_Pending, bytes]]) -> None:
        """Fill each product's missing attributes (``--auto-tag``); an image the model refuses
        gets no tags here (its embedding fails next, and is reported there)."""
        if self.tagger is None or not loaded:
            return
        try:
            tagged = self.tagger.tag([p.product for p, _ in loaded], [img for _, img in loaded])
        except InvalidInputError:
            tagged = []
            for p, img in loaded:
                try:
                    tagged += self.tagger.tag([p.product], [img])
                except InvalidInputError:
                    tagged.append(Tagged(p.product))
        for (pending, _), result in zip(loaded, tagged, strict=True):
            pending.product = result.product
            pending.inferred = inferred_json(result.inferred)
            pending.tags = (len(result.inferred), result.abstained)

    def _image(self, product: Product) -> bytes:
        if product.image is None or product.image == "":
            raise InvalidInputError("no image given")
        data = self.fetcher.load(product.image)
        _check_decodable(data, self.max_image_pixels)
        return data

    def _rows(self, loaded: Sequence[tuple[_Pending, bytes]]) -> list[ProductRow]:
        props = [
            {
                **product_properties(p.product, base64.b64encode(img).decode("ascii")),
                FINGERPRINT_PROPERTY: p.fingerprint,
                **({INFERRED_PROPERTY: p.inferred} if self.tagger is not None else {}),
            }
            for p, img in loaded
        ]
        if self.store.computes_vectors or not loaded:
            return [ProductRow(p.uuid, pr) for (p, _), pr in zip(loaded, props, strict=True)]
        vectors = self._vectors([img for _, img in loaded], props)
        rows = []
        for (p, _), pr, vec in zip(loaded, props, vectors, strict=True):
            if vec is None:
                continue
            rows.append(ProductRow(p.uuid, pr, [float(x) for x in vec]))
        return rows

    def _vectors(
        self, images: list[bytes], props: list[dict[str, object]], *, single: bool = False
    ) -> list[Vectors | None]:
        """Vectors of a batch; ``None`` for each item the service refused (recorded as a failure
        of its row). ``single`` is the one-item retry, which raises instead."""
        assert self.encoder is not None
        try:
            image_vecs = self.encoder.embed_images(images)
            # The texts Weaviate would embed, per object and in its order (absent fields skipped).
            texts = [object_texts(self.vector.text_fields, p) for p in props]
            flat = [t for ts in texts for t in ts]
            text_vecs = (
                self.encoder.embed_texts(flat) if flat else np.zeros((0, image_vecs.shape[1]), np.float32)
            )
            out: list[Vectors | None] = []
            start = 0
            for i, ts in enumerate(texts):
                mine = text_vecs[start : start + len(ts)]
                start += len(ts)
                per_field = [image_vecs[i]] * len(self.vector.image_fields)
                out.append(
                    combine_like_weaviate(self.vector.text_fields, self.vector.image_fields, mine, per_field)
                )
            return out
        except InvalidInputError:
            if single:
                raise
        # One bad item fails a whole batch on the service; retry one by one to find it.
        out = []
        for img, pr in zip(images, props, strict=True):
            try:
                out.append(self._vectors([img], [pr], single=True)[0])
            except GroundedError as exc:
                uid = str(product_uuid(str(pr["product_id"])))
                pending_row = self.first_row.get(uid, 0)
                # One image per call here: "images[0]: " would name the call's item, not the row.
                reason = _ITEM_PREFIX.sub("", exc.message)
                self.fail(pending_row, str(pr["product_id"]), f"embedding failed: {reason}")
                out.append(None)
        return out


def _run(
    items: Iterable[CatalogRow],
    *,
    store: ProductStore,
    encoder: QueryEncoder | None,
    fetcher: ImageFetcher,
    batch_size: int = 32,
    total: int | None = None,
    progress: bool = True,
    tagger: AutoTagger | None = None,
) -> tuple[_Ingestor, int]:
    """The import loop over the catalog's rows; returns the ingestor state and rows seen."""
    if batch_size < 1:
        raise InvalidInputError("batch_size must be at least 1")
    if not store.computes_vectors and encoder is None:
        raise InvalidInputError("this store needs vectors from the plugin, but no encoder was given")
    unknown = set(store.spec.vector.image_fields) - {_IMAGE_PROPERTY}
    if unknown:
        raise InvalidInputError(f"image fields {sorted(unknown)} are not product properties")
    store.create_collection()
    model = (
        SERVER_SIDE_MODEL
        if store.computes_vectors or encoder is None
        else model_identity(encoder.model_info())
    )
    seen = 0
    with tqdm(total=total, disable=not progress, unit="row", desc="ingest") as bar:
        ingestor = _Ingestor(store, encoder, fetcher, bar, model, tagger)
        batch: list[_Pending] = []
        for item in items:
            seen += 1
            ingestor.add(item, batch)
            if len(batch) >= batch_size:
                ingestor.flush(batch)
                batch = []
        ingestor.flush(batch)
    return ingestor, seen


def _verify(store: ProductStore, stored: list[str]) -> tuple[int, str | None, dict[str, str]]:
    """The store's count, a problem summary, and a reason for each imported object that is not
    findable: absent, or (a store whose collection drifted) present without a vector."""
    count = store.count()
    missing = set(stored) - store.existing(stored) if stored else set()
    present = [uid for uid in stored if uid not in missing]
    vectorless = store.without_vectors(present) if present else set()
    problem = None
    if missing:
        problem = f"{len(missing)} imported objects are not in the store afterwards"
    elif vectorless:
        problem = (
            f"{len(vectorless)} imported objects have no vector in the store, so search cannot find them"
        )
    elif count < len(stored):
        problem = f"the store holds {count} objects, fewer than the {len(stored)} imported"
    reasons = dict.fromkeys(missing, "not in the store after the import")
    reasons.update(dict.fromkeys(vectorless, "stored without a vector (check the collection's vectorizer)"))
    return count, problem, reasons


def ingest_catalog(
    catalog: Path,
    *,
    store: ProductStore,
    encoder: QueryEncoder | None,
    settings: PluginSettings,
    image_dir: Path | None = None,
    report_path: Path | None = None,
    batch_size: int = 32,
    progress: bool = True,
    tagger: AutoTagger | None = None,
) -> IngestReport:
    """Import ``catalog`` (JSONL or CSV, see :mod:`plugin.ingest.catalog`) into ``store``.

    Relative image paths are read from ``image_dir`` (default: the catalog's folder); URLs are
    fetched under ``settings``' limits. The report (failures, one JSON object per line, then a
    summary line) goes to ``report_path``, or next to the catalog as
    ``<name>.ingest-report.jsonl`` when rows failed and no path was given. With ``tagger``
    (:mod:`plugin.ingest.tagging`) missing attributes are filled from the images before storing.
    """
    fetcher = ImageFetcher(settings, image_dir=image_dir if image_dir is not None else catalog.parent)
    try:
        ingestor, seen = _run(
            read_catalog(catalog),
            store=store,
            encoder=encoder,
            fetcher=fetcher,
            batch_size=batch_size,
            total=count_rows(catalog),
            progress=progress,
            tagger=tagger,
        )
    finally:
        fetcher.close()
    store.compact()
    count, problem, unfindable = _verify(store, ingestor.stored)
    for uid, reason in sorted(unfindable.items()):
        ingestor.fail(ingestor.first_row[uid], ingestor.product_ids[uid], reason)
    report = IngestReport(
        total_rows=seen,
        upserted=ingestor.upserted,
        updated=ingestor.updated,
        skipped_existing=ingestor.skipped,
        failures=sorted(ingestor.failures, key=lambda f: f.row),
        store_count=count,
        report_path=None,
        count_problem=problem,
        counts_exact=ingestor.counts_exact,
        tags_written=ingestor.tags_written,
        tags_abstained=ingestor.tags_abstained,
    )
    if report_path is None and not report.ok:
        report_path = catalog.with_name(catalog.stem + ".ingest-report.jsonl")
    if report_path is not None:
        try:
            write_report(report_path, report)
            report.report_path = report_path
        except OSError as exc:
            log.warning("cannot write the ingest report to %s: %s", report_path, exc)
    return report
