"""``grounded serve`` (the vectorizer service) and ``grounded graphql`` (the GraphQL endpoint)."""

from __future__ import annotations

import argparse

from plugin.cli._common import EXIT_OK, MODELS, Commands, plugin_settings, service_settings


def _serve(args: argparse.Namespace) -> int:
    from vectorizer_service import run_service

    run_service(service_settings(args))
    return EXIT_OK


def _graphql(args: argparse.Namespace) -> int:
    from plugin.encoder import open_encoder
    from plugin.graphql import serve_graphql

    plugin = plugin_settings(args)
    encoder = open_encoder(plugin, service_settings(args))
    try:
        serve_graphql(plugin, encoder)
    finally:
        encoder.close()
    return EXIT_OK


def register(commands: Commands) -> None:
    commands.add(
        "serve",
        "run the vectorizer service (HTTP + gRPC)",
        settings=("model", "batching", "limits", "compose", "vocabulary", "server"),
    ).set_defaults(run=_serve)
    # The endpoint forwards each request to Weaviate with the caller's own credentials: the
    # Weaviate connection settings of the store commands are not read.
    commands.add(
        "graphql",
        "run the GraphQL endpoint that rewrites nearGrounded to nearVector",
        settings=("store", "graphql", *MODELS, "compose", "vocabulary"),
    ).set_defaults(run=_graphql)
