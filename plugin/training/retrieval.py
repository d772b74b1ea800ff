"""Held-out retrieval: how often a product's own image and text find each other.

The query text of a held-out product is its title (deterministic, and what a shopper types).
Products with the same title cannot be told apart by text, so every product whose title equals
the query's counts as a correct answer, both ways: image -> text ranks the distinct titles,
text -> image ranks all held-out images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["RECALL_KS", "recall_at_k", "retrieval_metrics"]

RECALL_KS = (1, 10)


def recall_at_k(scores: np.ndarray, correct: np.ndarray, k: int) -> float:
    """Share of queries (rows of ``scores``) with a correct gallery item (``correct[q, g]``)
    among their ``k`` highest scores. Ties are broken by gallery order."""
    if scores.shape[0] == 0:
        return 0.0
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(correct, top, axis=1).any(axis=1)
    return float(hits.mean())


def retrieval_metrics(
    image_vectors: np.ndarray, text_vectors: np.ndarray, titles: Sequence[str]
) -> dict[str, float]:
    """``image_to_text_R@1`` ... ``text_to_image_R@10`` for unit vectors of one product per row
    (``text_vectors`` row i embeds ``titles[i]``)."""
    distinct = sorted(set(titles))
    index = {title: i for i, title in enumerate(distinct)}
    first = {title: titles.index(title) for title in distinct}
    gallery_texts = text_vectors[[first[t] for t in distinct]]
    label = np.asarray([index[t] for t in titles])
    i2t_correct = label[:, None] == np.arange(len(distinct))[None, :]
    t2i_correct = label[:, None] == label[None, :]
    i2t = image_vectors @ gallery_texts.T
    t2i = text_vectors @ image_vectors.T
    metrics: dict[str, float] = {}
    for k in RECALL_KS:
        metrics[f"image_to_text_R@{k}"] = recall_at_k(i2t, i2t_correct, k)
    for k in RECALL_KS:
        metrics[f"text_to_image_R@{k}"] = recall_at_k(t2i, t2i_correct, k)
    return metrics
