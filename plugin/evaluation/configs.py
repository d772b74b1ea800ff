"""The query configurations one evaluation compares, each a set of :class:`ComposeOptions`
sent through the product's own compose path (nothing here builds a vector itself)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from schemas.errors import InvalidInputError
from schemas.wire import ComposeOptions

__all__ = [
    "BASE_CONFIGS",
    "CANDIDATES",
    "DEFAULT",
    "DEFAULT_CONFIG",
    "DEFAULT_IMAGE_WEIGHTS",
    "DEFAULT_TRUTH",
    "PIC2WORD_WORDINGS",
    "SWEEP",
    "TRUE_ATTRIBUTES",
    "TRUE_ATTRIBUTES_CONFIG",
    "EvalConfig",
    "build_configs",
]

DEFAULT_IMAGE_WEIGHTS = (0.0, 0.1, 0.2, 0.3)
SWEEP = "sweep"
"""The ``--configs`` name of the image-weight sweep of the full pipeline."""
CANDIDATES = "candidates"
"""The ``--configs`` name of the default's candidates: each fusion method at a few image weights,
everything else left to the service (background, caption), as the default would send it."""
CANDIDATE_GRID: tuple[tuple[str, float], ...] = (
    ("image_anchor", 0.3),
    ("image_anchor", 0.5),
    ("image_anchor", 0.7),
    ("direction", 0.5),
    ("direction", 0.8),
    ("direction", 1.0),
    ("slerp", 0.3),
    ("slerp", 0.5),
    ("slerp", 0.7),
)
"""(method, image weight): fixed before any val run, not fitted to it; the direction gain stays 1."""
PIC2WORD_WORDINGS = "pic2word_wordings"
"""The ``--configs`` name of the caption form of Pic2Word in each wording compared on val."""
BG = "+bg"
DEFAULT = "default"
"""The product's default: ``ComposeOptions()`` with nothing set, whatever the service's defaults are."""
TRUE_ATTRIBUTES = "true_attributes"
"""Diagnostic: the default with the reference's true attributes as merchant data (an upper bound)."""


@dataclass(frozen=True)
class EvalConfig:
    """One row of the table: what the query sends (``image``, ``text``) and with which options."""

    name: str
    description: str
    send_image: bool
    send_text: bool
    options: ComposeOptions
    default: bool = False
    """The product's default (``"default": true`` in eval.json); every evaluation includes it."""
    reference_truth: bool = False
    """Diagnostic: each query adds its reference's true caption and attributes as merchant data
    (:mod:`plugin.evaluation.truth`); left out where the layout does not carry them."""

    @property
    def diagnostic(self) -> bool:
        """A row no user can have without merchant data: it bounds, it is not a method."""
        return self.reference_truth

    def signature(self) -> str:
        """Configurations with equal signatures give equal vectors: compose them once."""
        return f"{self.send_image}|{self.send_text}|{self.reference_truth}|{self.options.model_dump_json()}"


def _base(name: str, description: str, image: bool, text: bool, **options: Any) -> EvalConfig:
    # A row means what its name says whatever the server's default method is (``auto`` picks
    # pic2word when a mapper is loaded): rows that mix vectors linearly pin the image anchor.
    options.setdefault("fusion_method", "image_anchor")
    return EvalConfig(name, description, image, text, ComposeOptions(**options))


def _image_configs(background: bool) -> list[EvalConfig]:
    suffix = BG if background else ""
    note = ", background removed" if background else ""
    bg = {"remove_background": background}
    return [
        # weight 1: the text vector gets weight 0, the query is the reference image's vector
        _base(f"image_only{suffix}", f"reference image vector alone{note}", True, True,
              caption=False, fuse=False, image_weight=1.0, **bg),
        _base(f"image_text_sum{suffix}", f"normalise(image + modification text){note}", True, True,
              caption=False, fuse=False, image_weight=0.5, **bg),
        _base(f"caption_only{suffix}", f"the reference image's caption alone{note}", True, False,
              caption=True, fuse=True, image_weight=0.0, **bg),
        _base(f"caption_template{suffix}", f"caption + modification, plain template{note}", True, True,
              caption=True, fuse=True, drop_overridden=False, image_weight=0.0, **bg),
        _base(f"fusion{suffix}", f"attribute-aware fusion (the default pipeline){note}", True, True,
              caption=True, fuse=True, drop_overridden=True, image_weight=0.0, **bg),
    ]  # fmt: skip


def _method_configs() -> list[EvalConfig]:
    """The full pipeline (background removed, caption, attribute-aware fusion) under each fusion
    method other than the image anchor, at the parameters their papers recommend."""
    pipeline = {"remove_background": True, "caption": True, "fuse": True, "drop_overridden": True}
    return [
        _base(f"direction{BG}", "the change as a direction applied to the image: normalise(v + "
              "t(fused) - t(caption)) (PDV), background removed", True, True,
              fusion_method="direction", direction_gain=1.0, image_weight=1.0, **pipeline),
        _base(f"slerp{BG}", "slerp from the fused text towards the image, image weight 0.2 (Jang et al.), "
              "background removed", True, True, fusion_method="slerp", image_weight=0.2, **pipeline),
    ]  # fmt: skip


def _pic2word_configs() -> list[EvalConfig]:
    """Pic2Word (a trained mapper in the model folder), alone and with the caption; background and
    caption left to the service, as the default row sends them."""
    return [
        _base("pic2word", "Pic2Word (Saito et al.): t('a photo of * , {modification}'), * = mapper(image)",
              True, True, fusion_method="pic2word"),
        _base("pic2word+caption", "Pic2Word + caption: the pseudo-word and the (attribute-aware) caption in "
              "one prompt", True, True, fusion_method="pic2word_caption"),
    ]  # fmt: skip


BASE_CONFIGS: tuple[EvalConfig, ...] = (
    _base(
        "text_only", "the modification text alone", False, True, caption=False, fuse=False, image_weight=0.0
    ),
    *_image_configs(background=False),
    *_image_configs(background=True),
    # The simple sum with the service deciding about the background (auto: studio photos kept).
    _base(
        "image_text_sum+auto", "normalise(image + modification text), the service's background decision",
        True, True, caption=False, fuse=False, image_weight=0.5,
    ),
    *_method_configs(),
    *_pic2word_configs(),
    # The service's background decision, the abstaining attribute caption, attribute-aware
    # fusion, the image anchor at the server's weight (the default before the ensemble).
    _base("attributes", "the attribute pipeline: caption + fusion, the image anchor at the server's weight",
          True, True),
    _base("ensemble", "normalise(p + 0.5 t(fused caption text) + 0.25 t(modification)); p = Pic2Word's "
          "vector, left out without a mapper", True, True, fusion_method="ensemble"),
)  # fmt: skip


DEFAULT_CONFIG = EvalConfig(
    DEFAULT, "the product's default: no option set, the service's defaults", True, True, ComposeOptions(),
    default=True,
)  # fmt: skip
DEFAULT_TRUTH = "default+true_attributes"
"""Diagnostic: the product's default, whatever its method, given the reference's true attributes."""
DEFAULT_TRUTH_CONFIG = EvalConfig(
    DEFAULT_TRUTH,
    "diagnostic, not a method: the product's default (the service's method and settings) with the "
    "reference's true title and attributes as merchant data in place of the captioner's",
    True, True, ComposeOptions(), reference_truth=True,
)  # fmt: skip
TRUE_ATTRIBUTES_CONFIG = EvalConfig(
    TRUE_ATTRIBUTES,
    "diagnostic, not a method: the attribute pipeline (caption, fusion, image anchor at the server's "
    "weight) with the reference's true title and attributes as merchant data",
    True, True, ComposeOptions(fusion_method="image_anchor"), reference_truth=True,
)  # fmt: skip


def _sweep(weights: Sequence[float]) -> list[EvalConfig]:
    return [
        _base(f"fusion{BG}@{w:g}", f"full pipeline (background, caption, fusion) at image weight {w:g}",
              True, True, remove_background=True, caption=True, fuse=True, drop_overridden=True,
              image_weight=w)
        for w in weights
    ]  # fmt: skip


def _candidates() -> list[EvalConfig]:
    return [
        _base(f"{method}@{w:g}", f"candidate default: {method} at image weight {w:g}, the service's "
              "background and caption defaults", True, True, fusion_method=method, image_weight=w)
        for method, w in CANDIDATE_GRID
    ]  # fmt: skip


PIC2WORD_ROWS = ("pic2word", "pic2word+caption", "default+true_attributes")
"""Rows run only when named: the Pic2Word ones need a mapper in the model folder; the default's
own upper bound is asked for with them (``make world-choose``)."""


def _pic2word_wordings() -> list[EvalConfig]:
    # Imported here: the service's compose package (numpy, the pipeline) is not what the
    # parser of `grounded eval`, which reads this module's names, should pay for.
    from vectorizer_service import PIC2WORD_CAPTION_WORDINGS

    return [
        _base(f"pic2word+caption@{name}", f"Pic2Word + caption, prompt {template!r}", True, True,
              fusion_method="pic2word_caption", template=template)
        for name, template in PIC2WORD_CAPTION_WORDINGS.items()
    ]  # fmt: skip


def build_configs(names: Sequence[str] | None, image_weights: Sequence[float]) -> list[EvalConfig]:
    """The chosen configurations in table order: ``default`` first (always, whatever ``names``
    says), then the chosen rows (none chosen: all, the sweep, and ``true_attributes``).

    ``names`` are base names (``text_only``, ``fusion+bg``...), ``sweep``, ``candidates``,
    ``pic2word_wordings`` and ``true_attributes``; the Pic2Word rows (``pic2word``,
    ``pic2word+caption``) run only when named, as they need a mapper in the model folder. An
    unknown name is an InvalidInputError listing the known ones."""
    by_name = {
        c.name: c for c in (DEFAULT_CONFIG, *BASE_CONFIGS, DEFAULT_TRUTH_CONFIG, TRUE_ATTRIBUTES_CONFIG)
    }
    groups = (SWEEP, CANDIDATES, PIC2WORD_WORDINGS)
    # The Pic2Word rows need a mapper trained into the model folder: run when named, not by default.
    chosen = list(names) if names else [*(n for n in by_name if n not in PIC2WORD_ROWS), SWEEP]
    unknown = [n for n in chosen if n not in by_name and n not in groups]
    if unknown:
        raise InvalidInputError(f"--configs: unknown {unknown}; choose from {[*by_name, *groups]}")
    for w in image_weights:
        if not 0.0 <= w <= 1.0:
            raise InvalidInputError(f"--image-weights: {w:g} is outside [0, 1]")
    configs = [DEFAULT_CONFIG, *(by_name[n] for n in by_name if n in chosen and n != DEFAULT)]
    truth = [c for c in configs if c.reference_truth]  # the diagnostic rows close the table
    configs = [c for c in configs if not c.reference_truth]
    if SWEEP in chosen:
        configs.extend(_sweep(image_weights))
    if CANDIDATES in chosen:
        configs.extend(_candidates())
    if PIC2WORD_WORDINGS in chosen:
        configs.extend(_pic2word_wordings())
    return [*configs, *truth]
