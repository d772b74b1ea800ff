"""Framing a cut-out on its subject: square, centred on the box, padded with the background."""

from __future__ import annotations

from PIL import Image, ImageDraw

from vectorizer_service.compose.framing import FRAME_MARGIN, frame_subject


def test_the_subject_fills_a_centred_square() -> None:
    image = Image.new("RGB", (200, 100), "white")
    ImageDraw.Draw(image).rectangle([150, 40, 169, 79], fill="red")  # 20 x 40 box at the right
    framed = frame_subject(image, (150, 40, 170, 80), (255, 255, 255))
    side = round(40 * (1 + 2 * FRAME_MARGIN))
    assert framed.size == (side, side)
    red = [(x, y) for x in range(side) for y in range(side) if framed.getpixel((x, y)) == (255, 0, 0)]
    xs, ys = [x for x, _ in red], [y for _, y in red]
    assert len(red) == 20 * 40
    assert abs((min(xs) + max(xs)) / 2 - side / 2) <= 1 and abs((min(ys) + max(ys)) / 2 - side / 2) <= 1


def test_past_the_edge_is_background_not_black() -> None:
    image = Image.new("RGB", (50, 50), (10, 200, 10))
    framed = frame_subject(image, (0, 0, 50, 10), (255, 255, 255))  # a wide box at the top edge
    assert framed.getpixel((framed.width // 2, 0)) == (255, 255, 255)
    assert framed.getpixel((framed.width // 2, framed.height // 2)) == (10, 200, 10)
