"""Shopper scenes for training: the cut-out, the scene, the query view, the bank's choices."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from plugin.training.dataset import Example
from plugin.training.scene_bank import SceneBank, SceneOptions, held_out_views
from plugin.training.scenes import SceneMaker, product_mask, query_view
from schemas.product import Product


def _catalog_photo(colour: tuple[int, int, int] = (200, 40, 40), side: int = 96) -> Image.Image:
    """A product on a studio sweep: a grey gradient with a coloured shape in the middle."""
    ramp = np.linspace(235, 205, side, dtype=np.float32)[:, None, None] * np.ones((side, side, 3))
    image = Image.fromarray(ramp.astype(np.uint8), mode="RGB")
    ImageDraw.Draw(image).rectangle((30, 20, 66, 76), fill=colour)
    return image


def _example(row: int, colour: tuple[int, int, int]) -> Example:
    product = Product(id=f"p{row}", title=f"product {row}", image=f"{row}.png", category="box")
    return Example(row=row, product=product, image=_catalog_photo(colour))


def test_the_mask_is_the_product_not_the_sweep() -> None:
    mask = product_mask(_catalog_photo())
    expected = np.zeros_like(mask)
    expected[20:77, 30:67] = True
    assert (mask == expected).mean() > 0.99


def test_a_plain_photo_has_no_product() -> None:
    assert not product_mask(Image.new("RGB", (64, 64), (240, 240, 240))).any()


def _hue(rgb: np.ndarray) -> float:
    return colorsys.rgb_to_hsv(*(rgb / 255.0))[0]


def test_a_scene_keeps_the_products_hue_and_the_view_is_framed_on_it() -> None:
    photo = _catalog_photo((200, 40, 40))
    maker, rng = SceneMaker(), np.random.default_rng(0)
    for _ in range(5):
        scene = maker.make(photo, product_mask(photo), [], rng)
        assert scene.image.size == (96, 96) and scene.mask.shape == (96, 96)
        inside = np.asarray(scene.image, dtype=np.float32)[scene.mask]
        core = np.median(inside, axis=0)
        # Light changes brightness and contrast, never hue: red stays red.
        assert abs(_hue(core) - _hue(np.array([200.0, 40.0, 40.0]))) < 0.03
        view = query_view(scene, rng)
        assert view.width == view.height
        pixels = np.asarray(view, dtype=np.float32)
        corner = pixels[:3, :3].reshape(-1, 3)
        assert np.allclose(corner, 255, atol=1)  # the service's neutral background
        # Framed: the product spans most of the view, as the query path frames a cut-out.
        coloured = (pixels.max(axis=2) - pixels.min(axis=2)) > 60
        rows = np.flatnonzero(coloured.any(axis=1))
        assert rows.size and (rows[-1] - rows[0] + 1) / view.height > 0.4


def test_scenes_are_a_function_of_the_seed() -> None:
    examples = [_example(i, (40 * i, 200 - 30 * i, 90)) for i in range(4)]
    first = SceneBank(examples, SceneOptions(0.5, 2), seed=3)
    again = SceneBank(examples, SceneOptions(0.5, 2), seed=3)
    other = SceneBank(examples, SceneOptions(0.5, 2), seed=4)
    same = [
        np.array_equal(np.asarray(a), np.asarray(b))
        for va, vb in zip(first.views, again.views, strict=True)
        for a, b in zip(va, vb, strict=True)
    ]
    assert all(same) and len(same) == 8
    assert not np.array_equal(np.asarray(first.views[0][0]), np.asarray(other.views[0][0]))


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_the_fraction_decides_which_batches_show_scenes(fraction: float) -> None:
    examples = [_example(i, (40 * i, 200 - 30 * i, 90)) for i in range(4)]
    bank = SceneBank(examples, SceneOptions(fraction, 2), seed=0)
    for step in range(5):
        images = bank.images([0, 1, 2], examples, step)
        is_photo = [img is examples[r].image for r, img in zip([0, 1, 2], images, strict=True)]
        assert all(is_photo) if fraction == 0.0 else not any(is_photo)
        assert bank.is_scene_batch(step) == (fraction == 1.0)


def test_about_the_fraction_of_batches_are_scene_batches() -> None:
    examples = [_example(i, (40 * i, 200 - 30 * i, 90)) for i in range(2)]
    bank = SceneBank(examples, SceneOptions(0.3, 1), seed=0)
    share = np.mean([bank.is_scene_batch(step) for step in range(2000)])
    assert 0.26 < share < 0.34


def test_rows_without_a_product_keep_their_photo() -> None:
    blank = Example(row=9, product=_example(9, (0, 0, 0)).product, image=Image.new("RGB", (64, 64), "white"))
    examples = [_example(0, (200, 40, 40)), blank]
    bank = SceneBank(examples, SceneOptions(1.0, 2), seed=0)
    assert bank.rows_without_scenes == 1
    assert bank.images([1], examples, 0)[0] is blank.image
    views = held_out_views(examples, seed=0)
    assert views[1] is blank and views[0].image is not examples[0].image
