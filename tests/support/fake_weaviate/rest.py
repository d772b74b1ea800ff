"""The fake's REST side: meta, readiness, schema, GraphQL."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from .cluster_rules import replication_error
from .graphql import answer_graphql
from .schema import SchemaError, created_class, updated_class
from .state import WEAVIATE_VERSION, FakeWeaviateState, RestCall


def _handler(state: FakeWeaviateState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            path = self.path.split("?", 1)[0]
            state.rest_calls.append(
                RestCall(method, path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            status, answer = self._authenticate(path) or self._route(method, path, body)
            self._reply(status, answer)

        def _authenticate(self, path: str) -> tuple[int, Any] | None:
            """Weaviate with anonymous access off: every operation but the well-known probes
            needs a valid key, and a missing or wrong one is a 401 (go-swagger's body shape)."""
            if state.api_key is None or path.startswith("/v1/.well-known/") or path == "/pypi":
                return None
            if self.headers.get("Authorization") == f"Bearer {state.api_key}":
                return None
            return 401, {"code": 401, "message": "unauthorized: invalid api key"}

        def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
            if path == "/pypi":  # stands in for PyPI in the client's version check
                return 200, {"info": {"version": "4.16.2"}}
            if path == "/v1/meta":
                return 200, {"version": WEAVIATE_VERSION, "modules": {"multi2vec-clip": {}}}
            if path == "/v1/nodes":
                nodes = [
                    {
                        "name": f"node{i + 1}",
                        "status": "HEALTHY",
                        "version": WEAVIATE_VERSION,
                        "gitHash": "fake",
                    }
                    for i in range(state.node_count)
                ]
                return 200, {"nodes": nodes}
            if path in ("/v1/.well-known/ready", "/v1/.well-known/live"):
                return 200, {}
            if path == "/v1/schema" and method == "POST":
                try:
                    cls = created_class(body)
                except SchemaError as exc:
                    return 422, {"error": [{"message": str(exc)}]}
                problem = replication_error(cls, state.node_count)
                if problem:
                    return 422, {"error": [{"message": problem}]}
                with state.lock:
                    if cls["class"] in state.schema:
                        return 422, {"error": [{"message": f"class name {cls['class']!r} already exists"}]}
                    state.schema[cls["class"]] = cls
                return 200, cls
            if path.startswith("/v1/schema/"):
                name = path.rsplit("/", 1)[1]
                with state.lock:
                    if method == "DELETE":
                        state.schema.pop(name, None)
                        state.objects.pop(name, None)
                        for key in [k for k in state.dimensions if k[0] == name]:
                            del state.dimensions[key]
                        return 200, {}
                    if name in state.schema and method == "PUT" and path == f"/v1/schema/{name}":
                        if not isinstance(body, dict):  # go-swagger cannot bind it
                            return 422, {"code": 602, "message": 'parsing body body from "" failed'}
                        try:
                            state.schema[name] = updated_class(state.schema[name], body)
                        except SchemaError as exc:
                            return 422, {"error": [{"message": str(exc)}]}
                        return 200, body
                    if name in state.schema:
                        return 200, state.schema[name]
                return 404, {"error": [{"message": f"class {name} not found"}]}
            if path == "/v1/graphql/batch" and method == "POST":
                # handlers_graphql.go: an empty batch is 422; otherwise one answer per request.
                if not isinstance(body, list) or not body:
                    return 422, {"error": []}
                return 200, [self._route("POST", "/v1/graphql", item)[1] for item in body]
            if path == "/v1/graphql" and method == "POST":
                if not isinstance(body, dict) and body is not None:  # go-swagger cannot bind it
                    return 422, {"code": 602, "message": 'parsing body body from "" failed'}
                if (
                    not isinstance((body or {}).get("query"), str) or not body["query"]
                ):  # handlers_graphql.go: before any resolving
                    return 422, {"error": [{"message": "query cannot be empty"}]}
                answer = (
                    state.graphql_response(body) if state.graphql_response else answer_graphql(state, body)
                )
                return 200, answer
            return 404, {"error": [{"message": f"fake Weaviate: no route {method} {path}"}]}

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def do_PUT(self) -> None:
            self._handle("PUT")

    return Handler
