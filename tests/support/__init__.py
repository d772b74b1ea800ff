"""What the tiers share, imported as ``tests.support.<module>``:

- ``fake_weaviate``: an in-process fake Weaviate (REST + gRPC), the fake encoder and a fake
  multi2vec-clip inference service;
- ``weaviate_target``: the fake or, with ``WEAVIATE_URL``, a real Weaviate behind one ``target``;
- ``service``: engines over fake models, an HTTP client and a gRPC stub on in-process servers;
- ``reliability``: small images, a named fake encoder and catalogs for the fault cases;
- ``runtime_checks``: assertions shared by the embedder runtimes' model tests;
- ``training_catalog`` and ``eval_layouts``: tiny catalogs and benchmark layouts written to disk;
- ``deploy``: rendering and validating deploy/ (Kustomize, Helm, Kubernetes schemas).
"""
