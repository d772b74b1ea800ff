"""``grounded ui``: the search page on the configured store and models."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from plugin.cli._common import EXIT_OK, MODELS, STORE, Commands, plugin_settings, service_settings
from schemas.errors import ModelUnavailableError

if TYPE_CHECKING:
    from plugin.encoder.protocol import QueryEncoder
    from plugin.settings import PluginSettings
    from vectorizer_service import ServiceSettings


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from plugin.demo import DEMO_COLLECTION
    from plugin.session import open_session
    from plugin.store import store_description
    from plugin.ui import UiConfig, create_ui_app
    from plugin.ui.examples import EXAMPLES_DIR, load_examples
    from vectorizer_service import ImageLimits

    plugin = plugin_settings(args)
    service = service_settings(args)
    where = store_description(plugin)  # a store setting that cannot work fails before a model loads
    with open_session(plugin, service, encoder=_open_encoder(plugin, service)) as session:
        config = UiConfig(
            limits=ImageLimits(service.max_image_bytes, service.max_image_pixels),
            store_description=where,
            image_weight=service.image_weight,
            remove_background=str(service.remove_background).lower(),
            # On the demo's collection, the demo's shopper photos are the examples to click.
            examples=tuple(load_examples(plugin.data_dir / "demo" / EXAMPLES_DIR))
            if plugin.collection == DEMO_COLLECTION
            else (),
        )
        app = create_ui_app(session.store, session.encoder, config)
        # A page serves many filtered queries: the embedded store's filter sketch starts building
        # in the background now rather than at the second one (docs/scale.md); Weaviate has none.
        start_sketch = getattr(session.store, "warm_filters", None)
        if start_sketch is not None:
            start_sketch(timeout=0)
        host = plugin.ui_bind_host()
        print(f"search page on http://{host}:{plugin.ui_port}/ ({where})", file=sys.stderr)
        uvicorn.run(app, host=host, port=plugin.ui_port, log_level="warning")
    return EXIT_OK


def _open_encoder(plugin: PluginSettings, service: ServiceSettings) -> QueryEncoder:
    """The configured models; offline, like ``grounded demo``, the model trained here on the
    product world stands in when the configured one cannot load (the demo catalog's model)."""
    from plugin.encoder import open_encoder
    from plugin.world.trained import trained_model_available, trained_model_settings

    try:
        return open_encoder(plugin, service)
    except ModelUnavailableError as exc:
        if plugin.service_address or not trained_model_available():
            raise
        print(
            f"cannot load the configured model ({exc.message}); using the product-world model "
            "trained here (plugin/world/model), as `grounded demo` does",
            file=sys.stderr,
        )
        return open_encoder(plugin, trained_model_settings(service))


def register(commands: Commands) -> None:
    commands.add(
        "ui",
        "serve the search page: a photo and a change, filters, explanations",
        settings=(*STORE, "ui", *MODELS, "compose", "vocabulary"),
    ).set_defaults(run=_run)
