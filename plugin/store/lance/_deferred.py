"""LanceDB imported without running its namespace REST client's package body until used.

``import lancedb`` imports ``lance_namespace``, which re-exports the request and response
models of ``lance_namespace_urllib3_client``, a generated REST client. Importing those models
runs the client package's ``__init__``, which imports its ``api`` subpackage: hundreds of
functions wrapped in pydantic's ``validate_call``, ~0.8 s of schema building on this machine
(1.5-1.7 s -> 0.8-0.9 s for ``import lancedb``), paid by every ``grounded`` command that opens
the embedded store, which never talks to a namespace server.

:func:`defer_package_body` registers the package without running its body: its submodules
(``models``) import as usual through its ``__path__``, and the first use of a name the body
defines runs the body then and answers it, so nothing changes for code that does use the
client. If the package is already imported, or cannot be found, nothing is done.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["NAMESPACE_CLIENT", "defer_package_body"]

NAMESPACE_CLIENT = "lance_namespace_urllib3_client"


def defer_package_body(name: str) -> ModuleType | None:
    """Register package ``name`` with its body deferred to the first use of one of its names;
    the module registered, or ``None`` when there was nothing to defer."""
    if name in sys.modules:
        return None
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return None
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader
    # Reentrant: the body may itself ask the module for a name it has not defined yet.
    lock = threading.RLock()
    ran = False

    def run_body(attribute: str) -> Any:
        # Called only for names the module lacks (PEP 562): the body defines them. Another
        # thread asking meanwhile waits for the body instead of seeing a half-made module.
        nonlocal ran
        with lock:
            if not ran:
                ran = True
                loader.exec_module(module)
                module.__dict__.pop("__getattr__", None)
        try:
            return module.__dict__[attribute]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None

    module.__dict__["__getattr__"] = run_body
    sys.modules[name] = module
    return module
