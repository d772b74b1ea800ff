"""Service tier: our HTTP and gRPC transports through in-process servers over fake models."""
