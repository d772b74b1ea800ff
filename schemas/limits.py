"""Size limits of the request fields that are not images or the requested change, checked at the
edge (the wire models) before anything else reads them.

A composed query's merchant data and template are small in every real use; unbounded, one
request of 200,000 catalog attributes (6 MB) kept the service's event loop busy for 45 s. The
texts of ``/vectorize`` and a composed query's change are bounded by the service's settings
(``GROUNDED_MAX_TEXT_CHARS``, ``GROUNDED_MAX_ITEMS_PER_REQUEST``); the lists themselves also have
a fixed ceiling here, so that parsing stops growing with the body long before the settings apply.
"""

from __future__ import annotations

__all__ = [
    "MAX_ATTRIBUTE_NAME_CHARS",
    "MAX_ATTRIBUTE_VALUE_CHARS",
    "MAX_CATALOG_ATTRIBUTES",
    "MAX_CATALOG_CAPTION_CHARS",
    "MAX_TEMPLATE_CHARS",
    "MAX_VECTORIZE_ITEMS",
]

MAX_CATALOG_ATTRIBUTES = 100
"""Catalog attributes of one reference product (``options.catalog_attributes``)."""
MAX_ATTRIBUTE_NAME_CHARS = 200
"""Characters of one attribute name."""
MAX_ATTRIBUTE_VALUE_CHARS = 1000
"""Characters of one attribute value."""
MAX_CATALOG_CAPTION_CHARS = 2000
"""Characters of a reference product's caption (its catalog title) sent as ``catalog_caption``."""
MAX_TEMPLATE_CHARS = 1000
"""Characters of a fusion template (``options.template``)."""
MAX_VECTORIZE_ITEMS = 4096
"""Ceiling of ``texts`` and of ``images`` in one ``/vectorize`` request, whatever
``GROUNDED_MAX_ITEMS_PER_REQUEST`` says (the setting cannot go above it)."""
