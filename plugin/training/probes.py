"""Linear probes on frozen image vectors: multinomial logistic regression, then calibration.

Pure functions over arrays (no model, no images), so the attribute head's training is easy to
test and the same fit serves every attribute: :func:`fit_probe` (full-batch L-BFGS on the mean
cross-entropy plus an L2 penalty on the weights, from zeros: deterministic), and
:func:`fit_temperature` (one temperature minimising held-out negative log-likelihood, Guo et al.
2017, "On Calibration of Modern Neural Networks"), so the captioner's probability gates mean
what they say.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

__all__ = ["ProbeFit", "ProbeScore", "fit_probe", "fit_temperature", "score_probe"]

Array = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]

_MAX_ITERATIONS = 200
_TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))
"""Temperatures tried by :func:`fit_temperature`: a grid, so the fit is exact and deterministic."""


@dataclass(frozen=True)
class ProbeFit:
    """Logits are ``vectors @ weight.T + bias``; ``classes`` rows (labels ``0..classes-1``)."""

    weight: Array
    bias: Array

    def logits(self, vectors: Array) -> Array:
        out: Array = (vectors @ self.weight.T + self.bias).astype(np.float32)
        return out


@dataclass(frozen=True)
class ProbeScore:
    """A probe on labelled rows: accuracy, mean negative log-likelihood at ``temperature``."""

    rows: int
    accuracy: float
    nll: float

    def as_json(self) -> dict[str, float | int]:
        return {"rows": self.rows, "accuracy": round(self.accuracy, 4), "nll": round(self.nll, 4)}


def fit_probe(vectors: Array, labels: Labels, classes: int, weight_decay: float) -> ProbeFit:
    """Multinomial logistic regression of ``labels`` (``0..classes-1``) on ``vectors``.

    Classes absent from ``labels`` keep zero weights and a bias the fit drives down, so they
    are never predicted with confidence (a vocabulary value the catalog never shows)."""
    x = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)).double()
    y = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
    weight = torch.zeros(classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=_MAX_ITERATIONS, line_search_fn="strong_wolfe", tolerance_grad=1e-9
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight.T + bias, y) + weight_decay * weight.pow(2).sum()
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward untyped
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]  # LBFGS.step's closure form is untyped
    return ProbeFit(
        weight.detach().float().numpy().astype(np.float32), bias.detach().float().numpy().astype(np.float32)
    )


def _nll(logits: Array, labels: Labels, temperature: float) -> float:
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: Array, labels: Labels) -> float:
    """The temperature (logits divided by it) with the lowest mean NLL on held-out rows; 1.0
    when there are none."""
    if len(labels) == 0:
        return 1.0
    losses = [_nll(logits, labels, float(t)) for t in _TEMPERATURES]
    return float(_TEMPERATURES[int(np.argmin(losses))])


def score_probe(fit: ProbeFit, vectors: Array, labels: Labels, temperature: float = 1.0) -> ProbeScore:
    """Accuracy and NLL of ``fit`` on labelled rows (zeros when there are none)."""
    if len(labels) == 0:
        return ProbeScore(0, 0.0, 0.0)
    logits = fit.logits(vectors)
    accuracy = float((logits.argmax(axis=1) == labels).mean())
    return ProbeScore(len(labels), accuracy, _nll(logits, labels, temperature))
