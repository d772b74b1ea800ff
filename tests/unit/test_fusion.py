"""Text fusion: templates, attribute-aware dropping, edge cases of the caption and modification."""

from __future__ import annotations

import pytest

from schemas.errors import InvalidInputError
from vectorizer_service.compose.fusion import DEFAULT_TEMPLATE, fuse, validate_template
from vectorizer_service.compose.protocols import Caption
from vectorizer_service.compose.vocab import load_vocabulary

VOCABULARY = load_vocabulary()

RED_DRESS = Caption(
    "a red floral cotton dress",
    {"category": "dress", "colour": "red", "pattern": "floral", "material": "cotton"},
)
NAVY_SHIRT = Caption(
    "a navy blue striped shirt with long sleeves",
    {"category": "shirt", "colour": "navy blue", "pattern": "striped", "sleeve": "long sleeve"},
)
ORANGE_BAG = Caption(
    "an orange leather handbag", {"category": "handbag", "colour": "orange", "material": "leather"}
)
JEANS = Caption("blue denim jeans", {"category": "jeans", "colour": "blue", "material": "denim"})
FREE_TEXT = Caption("a woman wearing a red dress")  # a transformers caption: no attributes


@pytest.mark.parametrize(
    ("caption", "modification", "expected"),
    [
        # the example: the colour named by the modification replaces the caption's
        (RED_DRESS, "in blue", "a photo of a floral cotton dress, in blue"),
        (RED_DRESS, "in Blue", "a photo of a floral cotton dress, in Blue"),
        (RED_DRESS, "IN BLUE", "a photo of a floral cotton dress, IN BLUE"),
        # multi-word value and alias
        (RED_DRESS, "in navy blue", "a photo of a floral cotton dress, in navy blue"),
        (RED_DRESS, "in navy", "a photo of a floral cotton dress, in navy"),
        (RED_DRESS, "in gray", "a photo of a floral cotton dress, in gray"),
        # restating the same value drops the caption's copy
        (RED_DRESS, "but red", "a photo of a floral cotton dress, but red"),
        # other attributes
        (RED_DRESS, "made of silk", "a photo of a red floral dress, made of silk"),
        (RED_DRESS, "with stripes", "a photo of a red cotton dress, with stripes"),
        (RED_DRESS, "in plaid", "a photo of a red cotton dress, in plaid"),
        (RED_DRESS, "in green linen", "a photo of a floral dress, in green linen"),
        # word boundaries: no colour is named here
        (RED_DRESS, "at a reduced price", "a photo of a red floral cotton dress, at a reduced price"),
        (RED_DRESS, "with bluetooth", "a photo of a red floral cotton dress, with bluetooth"),
        (RED_DRESS, "for the redhead", "a photo of a red floral cotton dress, for the redhead"),
        (RED_DRESS, "with a bow", "a photo of a red floral cotton dress, with a bow"),
        (RED_DRESS, "red-brown tones", "a photo of a red floral cotton dress, red-brown tones"),
        # a different category keeps the caption's noun
        (RED_DRESS, "as a skirt", "a photo of a red floral cotton dress, as a skirt"),
        # multi-word values in the caption and hyphenated / plural forms in the modification
        (NAVY_SHIRT, "in white", "a photo of a striped shirt with long sleeves, in white"),
        (NAVY_SHIRT, "short-sleeved", "a photo of a navy blue striped shirt, short-sleeved"),
        (NAVY_SHIRT, "with short sleeves", "a photo of a navy blue striped shirt, with short sleeves"),
        (NAVY_SHIRT, "sleeveless and red", "a photo of a striped shirt, sleeveless and red"),
        (NAVY_SHIRT, "in light blue", "a photo of a striped shirt with long sleeves, in light blue"),
        (NAVY_SHIRT, "with polka dots", "a photo of a navy blue shirt with long sleeves, with polka dots"),
        # the article follows the new first word
        (ORANGE_BAG, "in black", "a photo of a leather handbag, in black"),
        (ORANGE_BAG, "in canvas", "a photo of an orange handbag, in canvas"),
        (ORANGE_BAG, "in green suede", "a photo of a handbag, in green suede"),
        # plural nouns take no article
        (JEANS, "in black", "a photo of denim jeans, in black"),
        # free-text captions are used as they are
        (FREE_TEXT, "in blue", "a photo of a woman wearing a red dress, in blue"),
        # whitespace is normalised
        (RED_DRESS, "  in   blue ", "a photo of a floral cotton dress, in blue"),
    ],
)
def test_fuse_drops_overridden_attributes(caption: Caption, modification: str, expected: str) -> None:
    assert fuse(caption, modification, DEFAULT_TEMPLATE, VOCABULARY).text == expected


def test_fuse_reports_what_it_dropped() -> None:
    fusion = fuse(NAVY_SHIRT, "in red without sleeves", vocabulary=VOCABULARY)
    assert fusion.dropped == {"colour": "navy blue"}
    fusion = fuse(NAVY_SHIRT, "in red and sleeveless", vocabulary=VOCABULARY)
    assert fusion.dropped == {"colour": "navy blue", "sleeve": "long sleeve"}


def test_plain_template_keeps_the_whole_caption() -> None:
    # drop_overridden=False is the plain-template baseline: nothing is removed, even a value
    # the modification contradicts.
    fusion = fuse(RED_DRESS, "in blue", DEFAULT_TEMPLATE, VOCABULARY, drop_overridden=False)
    assert fusion.text == "a photo of a red floral cotton dress, in blue"
    assert fusion.dropped == {}


def test_without_vocabulary_only_the_same_value_is_dropped() -> None:
    assert fuse(RED_DRESS, "in blue").text == "a photo of a red floral cotton dress, in blue"
    assert fuse(RED_DRESS, "not red").text == "a photo of a floral cotton dress, not red"


@pytest.mark.parametrize(
    ("caption", "modification", "expected"),
    [
        (None, "a blue dress", "a blue dress"),
        (Caption(""), "in blue", "in blue"),
        (Caption("   "), "in blue", "in blue"),
        (RED_DRESS, "", "a red floral cotton dress"),
        (RED_DRESS, "   ", "a red floral cotton dress"),
        (FREE_TEXT, "", "a woman wearing a red dress"),
    ],
)
def test_missing_side_gives_the_other_alone(
    caption: Caption | None, modification: str, expected: str
) -> None:
    assert fuse(caption, modification, DEFAULT_TEMPLATE, VOCABULARY).text == expected


def test_nothing_to_fuse_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="nothing to compose"):
        fuse(None, "  ")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{caption} but {modification}", "a red floral cotton dress but with a bow"),
        ("{modification}: {caption}", "with a bow: a red floral cotton dress"),
        (
            "product {{sku}}: {caption}; {modification}",
            "product {sku}: a red floral cotton dress; with a bow",
        ),
        ("{modification}", "with a bow"),
    ],
)
def test_custom_templates(template: str, expected: str) -> None:
    assert fuse(RED_DRESS, "with a bow", template, VOCABULARY).text == expected


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("a photo of {caption}, {change}", "unknown placeholder {change}"),
        ("{caption} {modification} {colour}", "unknown placeholder {colour}"),
        ("{0} {modification}", "unknown placeholder {0}"),
        ("{} {modification}", "unknown placeholder {}"),
        ("a photo of {caption}", "must contain {modification}"),
        ("{caption!r}, {modification}", "no format spec"),
        ("{caption:>10}, {modification}", "no format spec"),
        ("{modification} {modification}", "once"),
        ("a photo of {caption, {modification}", "unexpected '{'"),
        ("a photo of {caption}, {modification", "expected '}'"),
        ("{caption}}, {modification}", "Single '}'"),
        ("x" * 600 + "{modification}", "longer than"),
    ],
)
def test_bad_templates_are_input_errors(template: str, problem: str) -> None:
    with pytest.raises(InvalidInputError, match="template") as info:
        validate_template(template)
    assert problem in info.value.message


def test_default_template_is_valid() -> None:
    assert validate_template(DEFAULT_TEMPLATE) == DEFAULT_TEMPLATE
