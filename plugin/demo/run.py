"""``grounded demo``: the whole product on one machine, end to end.

Build a catalog of a few hundred product-world products, ingest it into the configured store
(the embedded LanceDB table unless Weaviate is configured), run composed queries from shopper
photos, print ranked tables and write a self-contained HTML page.

The model is the configured one (by default ViT-B-32 / openai, when it can be loaded). When it
cannot be loaded (offline, no local weights), the demo uses the model trained here on the product
world, which ships in the package, and says so. Only ``random_weights=True`` runs a randomly
initialised model, and then the demo says, loudly, that its rankings mean nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from plugin.demo.catalog import SampleCatalog, build_sample_catalog
from plugin.demo.page import QueryOutcome, render_page
from plugin.encoder import open_encoder
from plugin.encoder.protocol import QueryEncoder
from plugin.ingest.pipeline import IngestReport, ingest_catalog
from plugin.search.query import near_grounded
from plugin.session import open_session
from plugin.settings import PluginSettings
from plugin.store import store_description
from plugin.store.protocol import ProductFilter
from plugin.ui.examples import EXAMPLES_DIR, Example, write_examples
from plugin.world.trained import trained_model_available, trained_model_settings
from schemas.errors import ModelUnavailableError
from schemas.wire import ComposeOptions, ModelMeta
from vectorizer_service import ServiceSettings, with_article

__all__ = ["DEMO_COLLECTION", "RANDOM_ARCH", "DemoResult", "run_demo", "zero_shot_check"]

DEMO_COLLECTION = "GroundedDemo"
"""The demo's own collection, so that it never touches the user's products."""
RANDOM_ARCH = "ViT-B-32"
_CHECK_PRODUCTS = 24
_MEANINGFUL_ACCURACY = 0.3
"""Zero-shot category accuracy below this (chance is one in the number of categories) means the
model's rankings carry no information."""


@dataclass
class DemoResult:
    """What the demo did, for callers and tests."""

    catalog: SampleCatalog
    ingest: IngestReport
    outcomes: list[QueryOutcome]
    page_path: Path
    model: ModelMeta
    rankings_meaningless: bool
    notes: list[str] = field(default_factory=list)
    model_source: str = "configured"
    """``configured``, ``world`` (the model trained here) or ``random``."""


@dataclass(frozen=True)
class Scoreboard:
    """The demo's own count, printed once after its tables."""

    first: int
    """Queries whose expected product ranked first."""
    first_relevant: int
    """Queries whose first hit meets the query (the expected product or another that does)."""
    found: int
    """Queries whose expected product is among the hits."""
    total: int


def first_count(outcomes: Sequence[QueryOutcome]) -> Scoreboard:
    """Count the outcomes (see :class:`Scoreboard`)."""

    def top(o: QueryOutcome) -> object:
        return o.hits[0].properties.get("product_id") if o.hits else None

    return Scoreboard(
        first=sum(1 for o in outcomes if o.hits and top(o) == o.query.expected),
        first_relevant=sum(
            1 for o in outcomes if o.hits and (top(o) == o.query.expected or top(o) in o.query.relevant)
        ),
        found=sum(
            1 for o in outcomes if any(h.properties.get("product_id") == o.query.expected for h in o.hits)
        ),
        total=len(outcomes),
    )


def zero_shot_check(encoder: QueryEncoder, catalog: SampleCatalog) -> tuple[int, int]:
    """How many of a sample of catalog photos the model puts in their own category, zero-shot
    ("a photo of a dress" against every category), of how many.

    A trained model gets most; a randomly initialised one gets about one in the number of
    categories, so a low score is how the demo notices that its rankings would be meaningless."""
    from vectorizer_service import load_vocabulary

    vocabulary = load_vocabulary(catalog.vocabulary_path)
    names = [c.name for c in vocabulary.categories]
    prompts = [vocabulary.prompt.format(with_article(c.name, plural=c.plural)) for c in vocabulary.categories]
    sample = catalog.products[:: max(1, len(catalog.products) // _CHECK_PRODUCTS)][:_CHECK_PRODUCTS]
    images = [catalog.image_paths[p.id].read_bytes() for p in sample]
    picks = np.argmax(encoder.embed_images(images) @ encoder.embed_texts(prompts).T, axis=1)
    return int(sum(names[int(i)] == p.category for i, p in zip(picks, sample, strict=True))), len(sample)


def _random_model(cache_dir: Path) -> tuple[str, str]:
    """A random-weight ViT-B-32 saved in the real open_clip format, built once per cache dir."""
    from vectorizer_service import (
        OPEN_CLIP_WEIGHTS_NAME,
        RANDOM_WEIGHTS_FILE,
        mark_random,
        save_random_open_clip,
    )

    target = cache_dir / f"random-{RANDOM_ARCH}"
    if (target / OPEN_CLIP_WEIGHTS_NAME).is_file():
        if not (target / RANDOM_WEIGHTS_FILE).is_file():
            # Saved before the writers marked their folders: mark it, so that every command
            # pointed at it (the error hints name it) warns too.
            mark_random(target, f"open_clip {RANDOM_ARCH}, saved by grounded demo --random-weights")
        return RANDOM_ARCH, str(target / OPEN_CLIP_WEIGHTS_NAME)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename, so an interrupted run never leaves half a checkpoint.
    scratch = Path(tempfile.mkdtemp(prefix=".random-", dir=cache_dir))
    try:
        save_random_open_clip(RANDOM_ARCH, scratch)
        scratch.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return RANDOM_ARCH, str(target / OPEN_CLIP_WEIGHTS_NAME)


def _open(
    plugin: PluginSettings, service: ServiceSettings, random_weights: bool, console: Console
) -> tuple[QueryEncoder, str]:
    """The encoder and which model it runs: ``configured``, ``world`` or ``random``."""
    if random_weights:
        model, pretrained = _random_model(plugin.data_dir / "models")
        update = {"backend": "open_clip", "model": model, "pretrained": pretrained, "offline": True}
        return open_encoder(plugin, service.model_copy(update=update)), "random"
    try:
        return open_encoder(plugin, service), "configured"
    except ModelUnavailableError as exc:
        # Only a missing *embedding* model has a stand-in: the world model needs the same
        # background remover and captioner, so their missing weights stop the demo here.
        if exc.stage is not None or plugin.service_address or not trained_model_available():
            raise
        console.print(
            Panel(
                f"Cannot load the configured model ({service.model} / {service.pretrained}):\n"
                f"{exc.message}\n\nUsing the small model trained here on the product world instead "
                "(plugin/world/model, made by `grounded train`; see its card.json). Configure real "
                "weights (--model/--pretrained) to run the same demo with them.",
                title="product-world model",
                style="bold cyan",
            )
        )
        return open_encoder(plugin, trained_model_settings(service)), "world"


def _table(outcome: QueryOutcome) -> Table:
    exp = outcome.explanation
    filters = outcome.query.filters.model_dump(exclude_defaults=True)
    caption = (
        f"caption: {exp.caption or '-'}\nfused text: {exp.fused_text or '-'}\n"
        f"filters: {', '.join(f'{k}={v}' for k, v in filters.items()) or 'none'}"
    )
    table = Table(title=f"{outcome.query.name}  (expected: {outcome.query.expected})", caption=caption)
    for column in ("#", "product", "title", "category", "price", "similarity"):
        table.add_column(column, justify="right" if column in ("#", "price", "similarity") else "left")
    for rank, hit in enumerate(outcome.hits, 1):
        props = hit.properties
        price = props.get("price")
        pid = props.get("product_id")
        mark = (
            "[bold green]"
            if pid == outcome.query.expected
            else "[green]"
            if pid in outcome.query.relevant
            else ""
        )
        table.add_row(
            str(rank),
            f"{mark}{props.get('product_id', '')}",
            str(props.get("title", "")),
            str(props.get("category", "")),
            f"{price:.2f}" if isinstance(price, int | float) else "-",
            f"{1 - hit.distance:.3f}",
        )
    return table


def run_demo(
    plugin: PluginSettings,
    service: ServiceSettings,
    *,
    out_dir: Path | None = None,
    random_weights: bool = False,
    console: Console | None = None,
    progress: bool = True,
    limit: int = 5,
) -> DemoResult:
    """Run the demo and return what it did; the page is ``<out_dir>/index.html``
    (default ``<data_dir>/demo``)."""
    console = console or Console()
    out_dir = out_dir or plugin.data_dir / "demo"
    demo_settings = plugin.model_copy(update={"collection": DEMO_COLLECTION})
    where = store_description(demo_settings)  # a store setting that cannot work fails here, first
    console.rule("[bold]Grounded demo")
    catalog = build_sample_catalog(out_dir)
    console.print(f"catalog: {len(catalog.products)} product-world products -> {catalog.catalog_path}")
    if service.vocabulary is None:
        # The catalog's own vocabulary: the attribute captioner names what this shop sells.
        service = service.model_copy(update={"vocabulary": catalog.vocabulary_path})
    encoder, which = _open(plugin, service, random_weights, console)
    notes: list[str] = []
    # The store records the model, like every command's: an ingest or search with another model
    # on this collection is refused instead of ranking incomparable vectors.
    with open_session(demo_settings, service, encoder=encoder) as session:
        info = session.model
        hits, total = zero_shot_check(session.encoder, catalog)
        meaningless = which == "random" or hits / total < _MEANINGFUL_ACCURACY
        console.print(
            f"model: {info.name} ({info.backend}, {info.pretrained or 'no tag'}, {which}), "
            f"{info.dimension}-d, {info.device}; zero-shot category check {hits}/{total}"
        )
        if meaningless:
            notes.append(
                f"This model has random (untrained) weights or does not know these products (zero-shot "
                f"category check {hits}/{total}): the pipeline runs for real, but the rankings below are "
                "meaningless."
            )
            console.print(Panel(notes[-1], title="RANKINGS ARE MEANINGLESS", style="bold yellow"))
        # A fresh collection each run: the model (and so every vector) may have changed.
        session.store.drop()
        console.print(f"store: {where}")
        report = ingest_catalog(
            catalog.catalog_path,
            store=session.store,
            encoder=session.encoder,
            settings=demo_settings,
            image_dir=catalog.image_dir,
            report_path=out_dir / "ingest-report.jsonl",
            progress=progress,
        )
        console.print(
            f"ingested {report.upserted} of {report.total_rows} rows; the store holds "
            f"{report.store_count} products; {len(report.failures)} failed"
        )
        outcomes = []
        for query in catalog.queries:
            result = near_grounded(
                session.store,
                session.encoder,
                image=query.reference_png,
                text=query.text,
                filters=query.filters,
                limit=limit,
                options=ComposeOptions(return_cutout=True),
            )
            outcome = QueryOutcome(query, query.reference_png, result.hits, result.explanation)
            outcomes.append(outcome)
            console.print(_table(outcome))

    # The shopper photos and their changes, for the search page to offer (`grounded ui`).
    write_examples(
        out_dir / EXAMPLES_DIR,
        [
            Example(q.reference_png, q.text, q.name)
            for q in catalog.queries
            if q.reference_png and q.filters == ProductFilter()
        ],
    )
    page = out_dir / "index.html"
    meta = (
        f"Model {info.name} ({info.backend}, {info.pretrained or 'no tag'}, {info.dimension}-d) - "
        f"{len(catalog.products)} products - {where}"
    )
    page.write_text(
        render_page(
            title="Grounded demo: composed image retrieval",
            meta=meta,
            warning=notes[0] if notes else None,
            outcomes=outcomes,
            image_paths=catalog.image_paths,
            photos=catalog.credits,
        ),
        encoding="utf-8",
    )
    score = first_count(outcomes)
    # Two short lines: a console 80 columns wide would wrap one long one.
    console.print(
        f"the expected product ranked first in {score.first} of {score.total} queries, "
        f"and in the top {limit} in {score.found}"
    )
    console.print(
        f"a product that meets the query ranked first in {score.first_relevant} of {score.total} queries"
    )
    console.print(f"results page: {page}")
    console.print(
        f"search it yourself: grounded ui --collection {DEMO_COLLECTION} (or make ui); "
        "the page offers these shopper photos as examples"
    )
    if meaningless:
        console.print("[bold yellow]Reminder: random weights - the rankings above are meaningless.")
    return DemoResult(catalog, report, outcomes, page, info, meaningless, notes, which)
