"""How the plugin reaches the models: the service's engine in this process (the embedded
default) or the running service over gRPC, behind one :class:`QueryEncoder` protocol.

``open_encoder`` picks one from the settings. The engine and the gRPC client load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin import lazy_exports
from plugin.encoder.protocol import QueryEncoder

if TYPE_CHECKING:
    from plugin.encoder.factory import open_encoder
    from plugin.encoder.grpc import GrpcEncoder, error_from_rpc
    from plugin.encoder.local import LocalEncoder

__all__ = ["GrpcEncoder", "LocalEncoder", "QueryEncoder", "error_from_rpc", "open_encoder"]

__getattr__ = lazy_exports(
    __name__,
    {
        "GrpcEncoder": "plugin.encoder.grpc",
        "LocalEncoder": "plugin.encoder.local",
        "error_from_rpc": "plugin.encoder.grpc",
        "open_encoder": "plugin.encoder.factory",
    },
)
