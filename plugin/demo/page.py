"""The demo's static results page: one self-contained HTML file (images as data URIs)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from string import Template

from PIL import Image

from plugin.demo.catalog import DemoQuery
from plugin.store.protocol import SearchHit
from plugin.world.backgrounds import Photo
from schemas.wire import ComposeExplanation

__all__ = ["QueryOutcome", "data_uri", "render_page"]

THUMB_SIDE = 256


@dataclass(frozen=True)
class QueryOutcome:
    """What one demo query returned: the ranked hits and the pipeline's explanation."""

    query: DemoQuery
    reference_png: bytes | None
    hits: list[SearchHit]
    explanation: ComposeExplanation


def data_uri(image: bytes | Path, *, side: int = THUMB_SIDE) -> str:
    """An image (encoded bytes or a file) shrunk to ``side`` pixels, as a ``data:`` URI.
    PNG keeps a cut-out's transparency; everything else becomes a small JPEG."""
    raw = image.read_bytes() if isinstance(image, Path) else image
    with Image.open(io.BytesIO(raw)) as img:
        img.thumbnail((side, side))
        buf = io.BytesIO()
        if img.mode in ("RGBA", "LA", "P"):
            img.save(buf, format="PNG")
            mime = "image/png"
        else:
            img.convert("RGB").save(buf, format="JPEG", quality=85)
            mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def _figure(uri: str, caption: str, *, css: str = "") -> str:
    return (
        f'<figure><img class="{css}" src="{uri}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _explanation(exp: ComposeExplanation, query: DemoQuery) -> str:
    attrs = ", ".join(f"{k}: {v}" for k, v in sorted(exp.attributes.items())) or "-"
    timings = ", ".join(f"{t.stage} {t.ms:.0f} ms" + (" (skipped)" if t.skipped else "") for t in exp.timings)
    filters = query.filters.model_dump(exclude_defaults=True)
    coverage = f"{exp.mask_coverage:.0%}" if exp.mask_coverage is not None else "-"
    rows = [
        ("Requested change", exp.modification or query.text),
        ("Caption", exp.caption or "-"),
        ("Attributes", attrs),
        ("Fused text", exp.fused_text or "-"),
        ("Background removed", exp.background_note or ("yes" if exp.background_removed else "no")),
        ("Mask coverage", coverage),
        ("Image weight", f"{exp.image_weight:.2f}"),
        ("Filters", ", ".join(f"{k}={v}" for k, v in filters.items()) or "none"),
        ("Timings", timings or "-"),
    ]
    body = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)
    return f"<dl>{body}</dl>"


def _hit(rank: int, hit: SearchHit, image_paths: dict[str, Path], query: DemoQuery) -> str:
    props = hit.properties
    pid = str(props.get("product_id", ""))
    path = image_paths.get(pid)
    img = f'<img src="{data_uri(path)}" alt="{escape(pid)}">' if path else ""
    price = props.get("price")
    price_text = f"{price:.2f} {props.get('currency', '')}" if isinstance(price, int | float) else "-"
    css = "hit expected" if pid == query.expected else "hit relevant" if pid in query.relevant else "hit"
    return (
        f'<div class="{css}">{img}<div><b>#{rank}</b> {escape(str(props.get("title", pid)))}</div>'
        f"<div>{escape(str(props.get('category', '')))} &middot; {escape(price_text)}</div>"
        f'<div class="score">similarity {1 - hit.distance:.3f} &middot; distance {hit.distance:.3f}</div>'
        f"<div><code>{escape(pid)}</code></div></div>"
    )


def _query_section(outcome: QueryOutcome, image_paths: dict[str, Path]) -> str:
    exp = outcome.explanation
    figures = []
    if outcome.reference_png:
        figures.append(_figure(data_uri(outcome.reference_png), "reference image"))
    if exp.cutout_png:
        figures.append(_figure(data_uri(exp.cutout_png), "cut-out (background removed)", css="checker"))
    hits = "".join(_hit(rank, hit, image_paths, outcome.query) for rank, hit in enumerate(outcome.hits, 1))
    return (
        f'<section class="query"><h2>{escape(outcome.query.name)}</h2>'
        f'<div class="explain">{"".join(figures)}{_explanation(exp, outcome.query)}</div>'
        f"<p>Results (green outline: <code>{escape(outcome.query.expected)}</code>, the product asked for; "
        "dashed: other products that also satisfy the query)</p>"
        f'<div class="grid">{hits or "<p>no results</p>"}</div></section>'
    )


def _credits(photos: dict[str, Photo]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(p.source)}</code></td><td>{escape(p.title)}</td><td>{escape(p.author)}</td>"
        f"<td>{escape(p.licence)}</td><td>{escape(p.origin)}</td></tr>"
        for p in photos.values()
    )
    head = "<tr><th>Source</th><th>Photo</th><th>Author</th><th>Licence</th><th>Origin</th></tr>"
    return f'<table class="credits">{head}{rows}</table>'


def render_page(
    *,
    title: str,
    meta: str,
    warning: str | None,
    outcomes: list[QueryOutcome],
    image_paths: dict[str, Path],
    photos: dict[str, Photo],
) -> str:
    """The whole page as one string; every image is inlined, so the file stands alone."""
    template = Template(
        resources.files("plugin.demo").joinpath("templates/page.html").read_text(encoding="utf-8")
    )
    return template.substitute(
        title=escape(title),
        meta=escape(meta),
        banner=f'<p class="warning">{escape(warning)}</p>' if warning else "",
        queries="".join(_query_section(o, image_paths) for o in outcomes),
        credits=_credits(photos),
    )
