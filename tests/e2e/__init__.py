"""End-to-end tier: the CLI, the demo, ingestion runs, the search page and the default mode, each
through its public entry point with a tiny model or a fake."""
