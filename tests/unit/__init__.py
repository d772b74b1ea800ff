"""Unit tier: pure functions and the engine with fake models; no sockets, no model files."""
