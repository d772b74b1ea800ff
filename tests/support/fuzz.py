"""Helpers of the fuzz tier (tests/fuzz): the hypothesis profiles, and a tally of what every
surface answered, printed at the end of the run and written to ``$GROUNDED_FUZZ_REPORT``.

Two profiles, chosen by ``GROUNDED_FUZZ_PROFILE``:

- ``ci`` (the default, ``make test``): derandomized, so a run is the same run every time, and
  few examples, so the whole tier stays within a couple of minutes on two shared cores.
- ``fuzz`` (``make fuzz``): random, 10,000 examples per property, and 10,000 generated requests
  per surface, shared by the operations that take input (a route without parameters runs out
  of distinct inputs at once and stops there).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from starlette.types import ASGIApp, Receive, Scope, Send

PROFILE_ENV = "GROUNDED_FUZZ_PROFILE"
REPORT_ENV = "GROUNDED_FUZZ_REPORT"
FUZZ_EXAMPLES = 10_000
CI_SURFACE_EXAMPLES = 60
"""Generated requests per operation in ``make test``: a request costs milliseconds to tens."""
CI_PROPERTY_EXAMPLES = 150
"""Generated inputs per property in ``make test``: pure functions, cheaper than a request."""

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=CI_PROPERTY_EXAMPLES,
    suppress_health_check=_QUIET,
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    database=None,
    deadline=None,
    max_examples=FUZZ_EXAMPLES,
    suppress_health_check=_QUIET,
    print_blob=True,
)


def profile() -> str:
    name = os.environ.get(PROFILE_ENV, "ci")
    if name not in ("ci", "fuzz"):
        raise ValueError(f"{PROFILE_ENV}={name!r}: use ci or fuzz")
    return name


def surface_settings(operations: int = 1) -> settings:
    """Settings for a test that sends requests to a surface, per operation (schemathesis makes one
    test of each): ``make fuzz`` gives the surface's ``operations`` that matter 10,000 together."""
    examples = -(-FUZZ_EXAMPLES // operations) if profile() == "fuzz" else CI_SURFACE_EXAMPLES
    return settings(settings.get_profile(profile()), max_examples=examples)


def property_settings(ci_examples: int = CI_PROPERTY_EXAMPLES) -> settings:
    """Settings for a property of a pure function (``ci_examples`` where one input is costly)."""
    examples = FUZZ_EXAMPLES if profile() == "fuzz" else ci_examples
    return settings(settings.get_profile(profile()), max_examples=examples)


class Tally:
    """Answers seen per surface, by status (or outcome, for the properties)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)

    def record(self, surface: str, outcome: object) -> None:
        with self._lock:
            self.counts[surface][str(outcome)] += 1

    def rows(self) -> list[tuple[str, int, str]]:
        return [
            (surface, sum(seen.values()), ", ".join(f"{k}: {v}" for k, v in sorted(seen.items())))
            for surface, seen in sorted(self.counts.items())
        ]

    def write(self, path: Path) -> None:
        data: dict[str, Any] = {
            "profile": profile(),
            "surfaces": {k: dict(v) for k, v in self.counts.items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


TALLY = Tally()
"""The one tally of the session (tests/fuzz/conftest.py prints and writes it)."""


def error_message(body: Any) -> str | None:
    """The message of a Weaviate- or service-shaped error body, or ``None``."""
    if not isinstance(body, dict):
        return None
    error = body.get("error") or body.get("errors")
    if isinstance(error, str):
        return error
    if isinstance(error, list) and error and isinstance(error[0], dict):
        message = error[0].get("message")
        return message if isinstance(message, str) else None
    return None


class FreshApp:
    """An ASGI app that is built anew for each lifespan. schemathesis ends the app's lifespan
    after every test (one per operation) and starts it again for the next, while an engine,
    once stopped, stays stopped: each lifespan gets its own engine."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self.build = build
        self.app = build()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self.app = self.build()
        await self.app(scope, receive, send)


WEAVIATE_SDL = """
enum FusionMethod { image_anchor direction slerp pic2word pic2word_caption ensemble }
input NearGroundedInpObj {
  image: String
  text: String
  removeBackground: Boolean
  caption: Boolean
  fuse: Boolean
  template: String
  imageWeight: Float
  fusionMethod: FusionMethod
  directionGain: Float
  product: String
  includeReference: Boolean
  targetVectors: [String]
  distance: Float
  certainty: Float
}
input WhereInpObj {
  path: [String] operator: String valueText: String valueNumber: Float operands: [WhereInpObj]
}
type AdditionalObj { id: String distance: Float certainty: Float }
type Product { title: String category: String price: Float product_id: String _additional: AdditionalObj }
type GetObjectsObj {
  Product(nearGrounded: NearGroundedInpObj, where: WhereInpObj, limit: Int, offset: Int): [Product]
}
type AggregateMeta { count: Int }
type AggregateProduct { meta: AggregateMeta }
type AggregateObjectsObj { Product(nearGrounded: NearGroundedInpObj, objectLimit: Int): [AggregateProduct] }
type ExploreObj { beacon: String className: String distance: Float }
type Query {
  Get: GetObjectsObj
  Aggregate: AggregateObjectsObj
  Explore(nearGrounded: NearGroundedInpObj, limit: Int): [ExploreObj]
}
"""
"""The part of Weaviate's GraphQL schema ``nearGrounded`` lives in (one ``Product`` collection),
with ``nearGrounded`` declared as Weaviate would if it were a module's argument: what the
GraphQL endpoint and its rewriter are fuzzed with."""
