"""GraphQL endpoint at Weaviate's ``/v1/graphql`` that understands ``nearGrounded``."""

from __future__ import annotations

from plugin.encoder.protocol import QueryEncoder
from plugin.graphql.app import create_graphql_app
from plugin.graphql.rewrite import GraphQLRewriteError, rewrite_query
from plugin.settings import PluginSettings

__all__ = ["GraphQLRewriteError", "create_graphql_app", "rewrite_query", "serve_graphql"]


def serve_graphql(settings: PluginSettings, encoder: QueryEncoder) -> None:
    """Serve the endpoint with uvicorn on ``graphql_host:graphql_port`` until interrupted
    (loopback by default outside containers, see :meth:`PluginSettings.graphql_bind_host`)."""
    import uvicorn

    app = create_graphql_app(settings, encoder)
    uvicorn.run(app, host=settings.graphql_bind_host(), port=settings.graphql_port)
