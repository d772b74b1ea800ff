"""Protocol tier: the plugin against in-process fakes of its servers (the fake Weaviate's REST and
gRPC, a fake Vectorizer gRPC servicer), through the real clients."""
