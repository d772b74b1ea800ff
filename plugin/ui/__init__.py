"""The search page (``grounded ui``): server-rendered HTML and a small script over the same
search path as the CLI (:func:`plugin.search.query.near_grounded` on a :class:`ProductStore`)."""

from plugin.ui.app import UiConfig, create_ui_app

__all__ = ["UiConfig", "create_ui_app"]
