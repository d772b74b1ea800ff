"""Store tier: the ProductStore contract suite (LanceDB, the fake Weaviate, a real one when configured),
the LanceDB store and its indexes, and the searches that run on every store."""
