"""Whether a model load may download from the Hugging Face hub, decided once, before any download.

When a file is missing from the local cache, ``huggingface_hub`` retries the hub with backoff
(about 25 s per file, not configurable) before giving up, and a model load asks for several
files. On a machine without internet that turned a missing model into a minute of silence.
So a load that needs the hub first sends one HEAD request to the hub endpoint (``HF_ENDPOINT``
is honoured, as are proxy variables) with a short timeout,
and treats an unreachable hub as offline: only local files are used, and a missing one fails
at once with the usual message naming the model and how to supply it.
"""

from __future__ import annotations

import logging
from functools import cached_property

__all__ = ["OFFLINE_HINT", "PROBE_TIMEOUT_S", "HubAccess"]

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0
"""Connect/read timeout of the one reachability probe; a reachable hub answers far sooner."""

OFFLINE_HINT = (
    "or put a copy in the Hugging Face cache (run once online) and start with "
    "GROUNDED_OFFLINE=1 or HF_HUB_OFFLINE=1"
)
"""How to run from a cached copy; the tail of every model-unavailable message."""


class HubAccess:
    """The hub decision for one load; the endpoint is probed at most once, and only if asked.

    ``offline`` is the configured switch (``settings.offline`` or ``HF_HUB_OFFLINE``). Loads of
    purely local files never ask, so they never touch the network.
    """

    def __init__(self, *, offline: bool, probe_timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self._offline = offline
        self._probe_timeout_s = probe_timeout_s

    @cached_property
    def offline_reason(self) -> str | None:
        """``None`` when downloads may be tried; otherwise why not, phrased for an error message
        ("... is not in the local cache and <reason>")."""
        if self._offline:
            return "the service is offline (GROUNDED_OFFLINE / HF_HUB_OFFLINE)"
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
        problem = _probe(endpoint, self._probe_timeout_s)
        if problem is None:
            return None
        log.warning("Hugging Face hub %s unreachable (%s); using local files only", endpoint, problem)
        return f"the Hugging Face hub {endpoint} cannot be reached ({problem})"


def _probe(endpoint: str, timeout_s: float) -> str | None:
    """``None`` when ``endpoint`` answers HTTP at all (any status), else the connection error."""
    import httpx  # our own dependency; honours HTTP(S)_PROXY like huggingface_hub does

    try:
        httpx.head(endpoint, timeout=timeout_s, trust_env=True)
    except (httpx.TransportError, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None
