"""The search page (``grounded ui``): server-rendered HTML and a small script over the same
search path as the CLI (:func:`plugin.search.query.near_grounded` on a :class:`ProductStore`)."""

from plugin.ui.app import UiConfig, create_ui_app
from plugin.ui.examples import Example, load_examples, write_examples

__all__ = ["Example", "UiConfig", "create_ui_app", "load_examples", "write_examples"]
