"""``grounded demo``: the whole product on one machine, end to end.

Build the sample catalog, ingest it into the configured store (the embedded LanceDB table unless
Weaviate is configured), run a few composed queries, print ranked tables and write a
self-contained HTML page. Offline, ``random_weights_fallback`` swaps an unloadable model for a
randomly initialised ViT-B-32 and says, loudly, that the rankings then mean nothing.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from plugin.demo.catalog import DEMO_QUERIES, SampleCatalog, build_sample_catalog, load_photo
from plugin.demo.page import QueryOutcome, render_page
from plugin.encoder import QueryEncoder
from plugin.ingest import IngestReport, ingest_catalog
from plugin.local_encoder import open_encoder
from plugin.search import near_grounded
from plugin.settings import PluginSettings
from plugin.store import open_store, store_description
from schemas.errors import ModelUnavailableError
from schemas.wire import ComposeOptions, ModelMeta
from vectorizer_service.settings import ServiceSettings

__all__ = ["DEMO_COLLECTION", "FALLBACK_ARCH", "DemoResult", "run_demo", "zero_shot_check"]

DEMO_COLLECTION = "GroundedDemo"
"""The demo's own collection, so that it never touches the user's products."""
FALLBACK_ARCH = "ViT-B-32"
_SANITY = {
    "chelsea": "a photo of a cat",
    "coffee": "a photo of a cup of coffee",
    "rocket": "a photo of a rocket launch",
    "astronaut": "a photo of an astronaut",
}


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


def zero_shot_check(encoder: QueryEncoder) -> tuple[int, int]:
    """How many of four photos the model matches to their own description (of four).

    Any trained CLIP gets all four; a randomly initialised model gets one by chance, so a low
    score is how the demo notices that its rankings would be meaningless."""
    images = []
    for name in _SANITY:
        buf = io.BytesIO()
        load_photo(name).save(buf, format="PNG")
        images.append(buf.getvalue())
    image_vectors = encoder.embed_images(images)
    text_vectors = encoder.embed_texts(list(_SANITY.values()))
    picks = np.argmax(image_vectors @ text_vectors.T, axis=1)
    return int(np.sum(picks == np.arange(len(_SANITY)))), len(_SANITY)


def _random_model(cache_dir: Path) -> tuple[str, str]:
    """A random-weight ViT-B-32 saved in the real open_clip format, built once per cache dir."""
    from vectorizer_service.runtime.random_weights import OPEN_CLIP_WEIGHTS_NAME, save_random_open_clip

    target = cache_dir / f"random-{FALLBACK_ARCH}"
    if (target / OPEN_CLIP_WEIGHTS_NAME).is_file():
        return FALLBACK_ARCH, str(target / OPEN_CLIP_WEIGHTS_NAME)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename, so an interrupted run never leaves half a checkpoint.
    scratch = Path(tempfile.mkdtemp(prefix=".random-", dir=cache_dir))
    try:
        save_random_open_clip(FALLBACK_ARCH, scratch)
        scratch.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return FALLBACK_ARCH, str(target / OPEN_CLIP_WEIGHTS_NAME)


def _open(
    plugin: PluginSettings, service: ServiceSettings, fallback: bool, console: Console
) -> tuple[QueryEncoder, bool]:
    try:
        return open_encoder(plugin, service), False
    except ModelUnavailableError as exc:
        if not fallback or plugin.service_address:
            raise
        console.print(
            Panel(
                f"Cannot load the configured model ({service.model} / {service.pretrained}):\n"
                f"{exc.message}\n\n"
                f"FALLING BACK to a RANDOMLY INITIALISED {FALLBACK_ARCH}. The pipeline runs for real, "
                "but its RANKINGS ARE MEANINGLESS. Configure real weights (--model/--pretrained) for "
                "real results.",
                title="random weights",
                style="bold yellow",
            )
        )
        model, pretrained = _random_model(plugin.data_dir / "models")
        update = {"backend": "open_clip", "model": model, "pretrained": pretrained, "offline": True}
        return open_encoder(plugin, service.model_copy(update=update)), True


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
        mark = "[green]" if props.get("product_id") == outcome.query.expected else ""
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
    random_weights_fallback: bool = False,
    console: Console | None = None,
    progress: bool = True,
    limit: int = 5,
) -> DemoResult:
    """Run the demo and return what it did; the page is ``<out_dir>/index.html``
    (default ``<data_dir>/demo``)."""
    console = console or Console()
    out_dir = out_dir or plugin.data_dir / "demo"
    demo_settings = plugin.model_copy(update={"collection": DEMO_COLLECTION})
    console.rule("[bold]Grounded demo")
    encoder, fell_back = _open(plugin, service, random_weights_fallback, console)
    notes: list[str] = []
    try:
        info = encoder.model_info()
        hits, total = zero_shot_check(encoder)
        meaningless = fell_back or hits < total - 1
        console.print(
            f"model: {info.name} ({info.backend}, {info.pretrained or 'no tag'}), {info.dimension}-d, "
            f"{info.device}; zero-shot check {hits}/{total}"
        )
        if meaningless:
            notes.append(
                f"This model has random (untrained) weights (zero-shot check {hits}/{total}): the pipeline "
                "runs for real, but the rankings below are meaningless."
            )
            console.print(Panel(notes[-1], title="RANKINGS ARE MEANINGLESS", style="bold yellow"))

        catalog = build_sample_catalog(out_dir)
        console.print(
            f"catalog: {len(catalog.products)} products from scikit-image's bundled photos "
            f"-> {catalog.catalog_path}"
        )
        store = open_store(demo_settings, dimension=info.dimension)
        try:
            # A fresh collection each run: the model (and so every vector) may have changed.
            store.drop()
            console.print(f"store: {store_description(demo_settings)}")
            report = ingest_catalog(
                catalog.catalog_path,
                store=store,
                encoder=encoder,
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
            for query in DEMO_QUERIES:
                reference = query.reference_png()
                result = near_grounded(
                    store,
                    encoder,
                    image=reference,
                    text=query.text,
                    filters=query.filters,
                    limit=limit,
                    options=ComposeOptions(return_cutout=True),
                )
                outcome = QueryOutcome(query, reference, result.hits, result.explanation)
                outcomes.append(outcome)
                console.print(_table(outcome))
        finally:
            store.close()
    finally:
        encoder.close()

    page = out_dir / "index.html"
    meta = (
        f"Model {info.name} ({info.backend}, {info.pretrained or 'no tag'}, {info.dimension}-d) - "
        f"{len(catalog.products)} products - {store_description(demo_settings)}"
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
    console.print(f"results page: {page}")
    if meaningless:
        console.print("[bold yellow]Reminder: random weights - the rankings above are meaningless.")
    return DemoResult(catalog, report, outcomes, page, info, meaningless, notes)
