"""Catalog-like vectors for the scale benchmark: clustered, anisotropic, unit length.

Uniform random vectors are the worst case for every ANN index and look like no real catalog:
CLIP image embeddings share a strong common direction, concentrate on a few hundred effective
dimensions, and group by product type (near-duplicate colourways and sizes of one design). This
module makes vectors with that structure, and grows a real set (``--vectors FILE.npy``) to any
size by perturbing its rows along their own principal directions.

* :func:`clustered_vectors`: a shared mean direction, ``clusters`` centres in a subspace with a
  power-law spectrum (variance of component ``i`` ~ ``i ** -decay``), and members scattered
  around their centre with the same spectrum at a smaller scale.
* :func:`grow_vectors`: each new row is a random existing row plus Gaussian noise drawn from the
  existing rows' covariance (their top principal components) scaled by ``spread``, renormalised:
  every new vector is a plausible near-duplicate of a real one, so neighbourhoods stay as dense
  and as clustered as in the real set.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["clustered_vectors", "grow_vectors", "query_vectors"]

F32 = npt.NDArray[np.float32]

_MEAN_WEIGHT = 1.2
"""Weight of the shared direction: pairwise cosines of unrelated products around 0.4-0.5, as
between unrelated CLIP image embeddings."""
_MEMBER_SCALE = 0.55
"""Member scatter relative to the spread of centres: same-type products are close, not equal."""


def _normalise(x: npt.NDArray[np.floating]) -> F32:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def _spectrum(dim: int, rank: int, decay: float) -> F32:
    scale = np.zeros(dim, dtype=np.float32)
    scale[:rank] = (np.arange(1, rank + 1, dtype=np.float32) ** (-decay / 2)).astype(np.float32)
    return scale / np.linalg.norm(scale)


def clustered_vectors(
    n: int,
    dim: int,
    *,
    clusters: int | None = None,
    rank: int = 256,
    decay: float = 0.8,
    seed: int = 0,
    chunk: int = 100_000,
) -> F32:
    """``n`` unit vectors of ``dim`` with catalog-like structure (see the module docstring)."""
    rng = np.random.default_rng(seed)
    rank = min(rank, dim)
    clusters = clusters or max(16, n // 200)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)).astype(np.float32))
    mean = basis[:, 0] * _MEAN_WEIGHT
    scale = _spectrum(dim, rank, decay)
    rotation = basis.T  # the spectrum applies along a random orthonormal basis
    centres = (rng.standard_normal((clusters, dim)).astype(np.float32) * scale) @ rotation
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        which = rng.integers(0, clusters, stop - start)
        noise = (rng.standard_normal((stop - start, dim)).astype(np.float32) * scale) @ rotation
        out[start:stop] = _normalise(mean + centres[which] + _MEMBER_SCALE * noise)
    return out


def grow_vectors(base: F32, n: int, *, spread: float = 0.35, components: int = 128, seed: int = 0) -> F32:
    """``n`` vectors: ``base`` itself first, then perturbed copies of random base rows (noise
    from the base's own top ``components`` principal directions, scaled by ``spread``)."""
    rng = np.random.default_rng(seed)
    base = _normalise(base)
    if n <= len(base):
        return base[:n].copy()
    sample = base[rng.choice(len(base), min(len(base), 20_000), replace=False)]
    centred = sample - sample.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(components, len(singular))
    std = (singular[:k] / np.sqrt(max(1, len(sample) - 1))).astype(np.float32)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    out[: len(base)] = base
    for start in range(len(base), n, 100_000):
        stop = min(n, start + 100_000)
        src = base[rng.integers(0, len(base), stop - start)]
        noise = (rng.standard_normal((stop - start, k)).astype(np.float32) * std) @ vt[:k]
        out[start:stop] = _normalise(src + spread * noise)
    return out


def query_vectors(corpus: F32, count: int, *, spread: float = 0.25, seed: int = 1) -> F32:
    """Queries near the catalog (a shopper's photo of some product is near it, never equal to
    it): random corpus rows perturbed the way :func:`grow_vectors` perturbs them."""
    rng = np.random.default_rng(seed)
    src = corpus[rng.integers(0, len(corpus), count)]
    noise = rng.standard_normal(src.shape).astype(np.float32) / np.sqrt(src.shape[1])
    return _normalise(src + spread * noise * 3)
