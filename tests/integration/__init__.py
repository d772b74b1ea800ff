"""Integration tier: a real Weaviate and service, only when ``WEAVIATE_URL`` is set."""
