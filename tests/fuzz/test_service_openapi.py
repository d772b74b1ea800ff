"""The service's HTTP API, fuzzed from its own OpenAPI document (schemathesis, in process).

Every operation of ``/openapi.json`` gets generated requests, valid and invalid by the schema
(``ComposeRequest``, ``VectorizeRequest``, headers, methods). The properties: never a 5xx, every
status is one the document declares, and every body has the declared content type and schema.
The engine is the fake embedder's with the compose pipeline's cheap stages (no captioner, no
background remover), so what is exercised is the transport, the limits and the pipeline.
"""

from __future__ import annotations

import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.fuzz import TALLY, FreshApp, error_message, surface_settings
from tests.support.service import make_engine
from vectorizer_service.transports.http import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _app() -> FastAPI:
    # Small limits, so generated requests reach them: a few items, short texts, small images.
    engine = make_engine(max_items_per_request=8, max_text_chars=200, max_image_bytes=4096, max_queue=64)
    return create_app(engine)


schema = schemathesis.openapi.from_asgi("/openapi.json", FreshApp(_app))


@schema.parametrize()
# /vectorize and /compose take input; the probes, /meta and /metrics take none.
@surface_settings(operations=2)
def test_the_service_answers_every_generated_request_as_documented(case: schemathesis.Case) -> None:
    response = case.call()
    try:
        message = error_message(response.json()) if response.status_code >= 400 else None
    except ValueError:
        message = None
    TALLY.record("service HTTP (OpenAPI)", response.status_code)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        assert message, f"{response.status_code} without an error message: {response.text[:200]}"
