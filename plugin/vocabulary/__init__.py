"""A catalog's own vocabulary: derived from its products (``derive``), and checked against a
model on the catalog's own photos (``check``): ``grounded vocabulary``.

The file format is :mod:`schemas.vocabulary` (``grounded-vocabulary/1``); this package only
decides what goes in it.
"""

from __future__ import annotations

from plugin.vocabulary.check import (
    CHECK_FRACTION,
    AttributeCheck,
    CheckReport,
    check_vocabulary,
    held_out,
    local_photos,
)
from plugin.vocabulary.derive import (
    VOCABULARY_FILE,
    DerivedVocabulary,
    Dropped,
    derive_vocabulary,
    write_model_vocabulary,
)
from plugin.vocabulary.tags import catalog_tagger

__all__ = [
    "CHECK_FRACTION",
    "VOCABULARY_FILE",
    "AttributeCheck",
    "CheckReport",
    "DerivedVocabulary",
    "Dropped",
    "catalog_tagger",
    "check_vocabulary",
    "derive_vocabulary",
    "held_out",
    "local_photos",
    "write_model_vocabulary",
]
