"""What a command works with: the encoder, the model it runs and the product store, opened and
closed together (:func:`open_session`)."""

from __future__ import annotations

from plugin.session.lifecycle import Session, StoreSession, open_session

__all__ = ["Session", "StoreSession", "open_session"]
