"""``import lancedb`` through the embedded store defers its namespace REST client's package body
(plugin.store.lance._deferred): ~0.8 s of every store command, and nothing changes for a user of
the client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    ).stdout


def test_the_store_works_without_the_clients_api_and_the_client_still_loads_on_use(tmp_path: Path) -> None:
    out = _run(
        "import sys\n"
        "import numpy as np\n"
        "from plugin.store.lance.store import LanceStore\n"
        "from plugin.store import ProductRow\n"
        f"store = LanceStore({str(tmp_path)!r}, dimension=4)\n"
        "store.create_collection()\n"
        "assert store.upsert([ProductRow('a', {'product_id': 'a', 'title': 't'}, [1.0, 0, 0, 0])]) == []\n"
        "print('hits', len(store.search(np.ones(4, np.float32), limit=1)))\n"
        "print('api before use', 'lance_namespace_urllib3_client.api' in sys.modules)\n"
        "import lance_namespace_urllib3_client as client\n"
        "print('missing', hasattr(client, 'no_such_name_x'))\n"
        "print('client', client.ApiClient.__name__)\n"
        "print('api after use', 'lance_namespace_urllib3_client.api' in sys.modules)\n"
    )
    assert "hits 1" in out
    assert "api before use False" in out
    assert "missing False" in out  # a name the body does not define is still an AttributeError
    assert "client ApiClient" in out and "api after use True" in out


def test_nothing_is_deferred_for_a_package_already_imported_or_missing() -> None:
    out = _run(
        "import lance_namespace_urllib3_client\n"
        "from plugin.store.lance._deferred import defer_package_body\n"
        "print(defer_package_body('lance_namespace_urllib3_client'),\n"
        "      defer_package_body('no_such_package_x'))\n"
    )
    assert out.strip() == "None None"
