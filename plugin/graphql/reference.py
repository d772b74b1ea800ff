"""``nearGrounded: {product: "sku-1", text: "in blue"}``: the stored product as the reference.

The endpoint reads the product from Weaviate with the caller's own credentials (one GraphQL
``Get`` by ``product_id``), so a caller can only reference products it may read; the rewrite then
composes from the stored image and the merchant's title and attributes, and leaves the product
itself out of the results with a ``where`` clause unless ``includeReference: true``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from plugin.store.protocol import StoredProduct
from schemas.errors import NotFoundError, UpstreamError

__all__ = ["ReferenceLookup", "weaviate_reference_lookup"]

ReferenceLookup = Callable[[str, str], StoredProduct]
"""(collection, product id) -> the stored product; :class:`NotFoundError` when there is none."""

_FIELDS = ("product_id", "title", "attributes_json", "image")


def weaviate_reference_lookup(
    base_url: str, headers: Mapping[str, str], *, timeout_s: float = 10.0
) -> ReferenceLookup:
    """A lookup that asks Weaviate's ``/v1/graphql`` (with ``headers``: the caller's credentials)."""

    def lookup(collection: str, product_id: str) -> StoredProduct:
        query = (
            "query($id: String!) { Get { "
            f'{collection}(where: {{path: ["product_id"], operator: Equal, valueText: $id}}, limit: 1) '
            f"{{ {' '.join(_FIELDS)} _additional {{ id }} }} }} }}"
        )
        try:
            response = httpx.post(
                f"{base_url}/v1/graphql",
                json={"query": query, "variables": {"id": product_id}},
                headers={k: v for k, v in headers.items() if k.lower() not in ("content-length", "host")},
                timeout=timeout_s,
            )
            body: Any = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamError(f"cannot read product {product_id!r} from Weaviate: {exc}") from exc
        return _stored(body, collection, product_id)

    return lookup


def _stored(body: Any, collection: str, product_id: str) -> StoredProduct:
    """The product in Weaviate's answer; an answer of another shape is Weaviate's failure (502),
    never a ``KeyError`` of ours (a 500)."""
    if not isinstance(body, dict):
        raise UpstreamError(f"cannot read product {product_id!r}: Weaviate answered {type(body).__name__}")
    errors = body.get("errors")
    if errors:
        first = errors[0] if isinstance(errors, list) and errors else errors
        message = first.get("message") if isinstance(first, dict) else first
        raise UpstreamError(f"cannot read product {product_id!r}: {message}")
    data = body.get("data")
    get = data.get("Get") if isinstance(data, dict) else None
    if not isinstance(get, dict):
        raise UpstreamError(f"cannot read product {product_id!r}: Weaviate's answer has no data.Get")
    found = get.get(collection)
    if not found:
        raise NotFoundError(f"product {product_id!r} is not in collection {collection!r}")
    obj = found[0] if isinstance(found, list) else None
    additional = obj.get("_additional") if isinstance(obj, dict) else None
    uuid = additional.get("id") if isinstance(additional, dict) else None
    if not isinstance(obj, dict) or not isinstance(uuid, str):
        raise UpstreamError(f"cannot read product {product_id!r}: Weaviate's answer has no object id")
    props = {k: obj.get(k) for k in _FIELDS}
    if isinstance(props.get("attributes_json"), dict):
        props["attributes_json"] = json.dumps(props["attributes_json"])
    return StoredProduct(uuid=uuid, properties=props, vector=None)
