"""Probes on frozen image vectors: multinomial logistic regression or one hidden layer, then
calibration.

Pure functions over arrays (no model, no images), so the attribute head's training is easy to
test and the same fit serves every attribute: :func:`fit_probe` (full-batch L-BFGS on the mean
cross-entropy plus an L2 penalty on the weights; linear from zeros, or with ``hidden`` ReLU
units from a seeded start: deterministic either way), and
:func:`fit_temperature` (one temperature minimising held-out negative log-likelihood, Guo et al.
2017, "On Calibration of Modern Neural Networks"), so the captioner's probability gates mean
what they say.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

__all__ = [
    "ProbeChoice",
    "ProbeFit",
    "ProbeScore",
    "choose_probe",
    "fit_probe",
    "fit_temperature",
    "score_probe",
]

Array = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]

_MAX_ITERATIONS = 200
_MAX_ITERATIONS_HIDDEN = 500
"""A hidden layer's fit is not convex and moves further from its start: more L-BFGS steps."""
_TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))
"""Temperatures tried by :func:`fit_temperature`: a grid, so the fit is exact and deterministic."""


@dataclass(frozen=True)
class ProbeFit:
    """Logits are ``h @ weight.T + bias``; ``classes`` rows (labels ``0..classes-1``), where
    ``h`` is the vectors, or ``relu(vectors @ hidden_weight.T + hidden_bias)``."""

    weight: Array
    bias: Array
    hidden_weight: Array | None = None
    hidden_bias: Array | None = None

    def logits(self, vectors: Array) -> Array:
        features = vectors
        if self.hidden_weight is not None and self.hidden_bias is not None:
            features = np.maximum(vectors @ self.hidden_weight.T + self.hidden_bias, 0.0)
        out: Array = (features @ self.weight.T + self.bias).astype(np.float32)
        return out


@dataclass(frozen=True)
class ProbeScore:
    """A probe on labelled rows: accuracy, mean negative log-likelihood at ``temperature``."""

    rows: int
    accuracy: float
    nll: float

    def as_json(self) -> dict[str, float | int]:
        return {"rows": self.rows, "accuracy": round(self.accuracy, 4), "nll": round(self.nll, 4)}


def fit_probe(
    vectors: Array, labels: Labels, classes: int, weight_decay: float, *, hidden: int = 0, seed: int = 0
) -> ProbeFit:
    """Multinomial logistic regression of ``labels`` (``0..classes-1``) on ``vectors``, or with
    ``hidden`` > 0 the same on a ReLU layer of that width (both layers' weights penalised).

    Classes absent from ``labels`` are driven down by the bias, so they are never predicted
    with confidence (a vocabulary value the catalog never shows). The linear fit starts from
    zeros (convex: the start does not decide the answer); the hidden layer from a ``seed``-ed
    draw, uniform within +-1/sqrt(fan-in) (torch's ``Linear`` default)."""
    # The linear fit stays in float64, as heads before hidden layers were fitted (same weights
    # for the same data); a hidden layer's many more steps run in float32, which halves their
    # cost and is as deterministic on the CPU.
    dtype = torch.float32 if hidden else torch.float64
    x = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)).to(dtype)
    y = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
    generator = torch.Generator().manual_seed(seed)
    layers: list[torch.Tensor] = []
    width = x.shape[1]
    if hidden:
        bound = 1.0 / math.sqrt(width)
        layers = [
            ((torch.rand(hidden, width, generator=generator, dtype=dtype) * 2 - 1) * bound),
            ((torch.rand(hidden, generator=generator, dtype=dtype) * 2 - 1) * bound),
        ]
        width = hidden
    # An output layer from zeros would leave a hidden layer without gradient: small, seeded.
    scale = 1.0 / math.sqrt(width) if hidden else 0.0
    weight = (torch.rand(classes, width, generator=generator, dtype=dtype) * 2 - 1) * scale
    params = [*layers, weight, torch.zeros(classes, dtype=dtype)]
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=_MAX_ITERATIONS_HIDDEN if hidden else _MAX_ITERATIONS,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-9,
    )

    def forward() -> torch.Tensor:
        h = torch.relu(x @ params[0].T + params[1]) if hidden else x
        out: torch.Tensor = h @ params[-2].T + params[-1]
        return out

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        penalty = params[-2].pow(2).sum() + (params[0].pow(2).sum() if hidden else 0.0)
        loss = torch.nn.functional.cross_entropy(forward(), y) + weight_decay * penalty
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward untyped
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]  # LBFGS.step's closure form is untyped
    out = [p.detach().float().numpy().astype(np.float32) for p in params]
    if hidden:
        return ProbeFit(out[2], out[3], out[0], out[1])
    return ProbeFit(out[0], out[1])


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


@dataclass(frozen=True)
class ProbeChoice:
    """One candidate of :func:`choose_probe`: its shape, penalty, fit and held-out score."""

    hidden: int
    weight_decay: float
    fit: ProbeFit
    score: ProbeScore

    @property
    def name(self) -> str:
        shape = "linear" if not self.hidden else f"hidden{self.hidden}"
        return f"{shape}/{self.weight_decay:g}"


def choose_probe(
    train: tuple[Array, Labels],
    held_out: tuple[Array, Labels],
    classes: int,
    hidden_sizes: tuple[int, ...],
    weight_decays: tuple[float, ...],
    seed: int = 0,
) -> tuple[ProbeChoice, list[ProbeChoice]]:
    """Fit every (hidden width, weight decay) pair on ``train``; the best on ``held_out`` and
    all that were tried. Best: the highest accuracy, then the lowest NLL; ties go to the
    linear probe (or the narrower layer), then to the stronger penalty (the smoother probe)."""
    tried = []
    for hidden in hidden_sizes:
        for decay in weight_decays:
            fit = fit_probe(*train, classes, decay, hidden=hidden, seed=seed)
            tried.append(ProbeChoice(hidden, decay, fit, score_probe(fit, *held_out)))
    best = max(tried, key=lambda c: (c.score.accuracy, -c.score.nll, -c.hidden, c.weight_decay))
    return best, tried
