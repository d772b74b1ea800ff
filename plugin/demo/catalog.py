"""The demo's sample catalog: real photos that ship inside scikit-image, plus derived variants.

Every photo comes from ``skimage.data`` (bundled in the wheel, so the demo needs no network) and
carries its source and licence as scikit-image documents them. Variants (recoloured, greyscale,
cropped) turn ten photos into a small shop whose near-duplicates make composed queries such as
"this cup, but blue" meaningful. The demo's reference images are *other* variants of the same
photos (mirrored, cropped), so no query is an exact copy of a catalog image.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from plugin.store.protocol import ProductFilter
from schemas.product import Product

__all__ = [
    "DEMO_QUERIES",
    "PHOTOS",
    "DemoQuery",
    "Photo",
    "SampleCatalog",
    "build_sample_catalog",
    "load_photo",
]

IMAGE_SIDE = 256
"""Longest side of catalog images: enough for CLIP's 224 px input, small for the HTML page."""
BRAND = "Grounded Sample Shop"


@dataclass(frozen=True)
class Photo:
    """One bundled photo and its provenance, as scikit-image's ``skimage.data`` documents it."""

    name: str
    title: str
    author: str
    licence: str
    origin: str

    @property
    def source(self) -> str:
        return f"skimage.data.{self.name}()"


PHOTOS: dict[str, Photo] = {
    p.name: p
    for p in (
        Photo("coffee", "Coffee cup (Pikolo Espresso Bar)", "Rachel Michetti", "CC0", "scikit-image"),
        Photo("chelsea", "Chelsea the cat", "Stefan van der Walt", "CC0", "scikit-image"),
        Photo("astronaut", "Astronaut Eileen Collins", "NASA", "public domain", "https://flic.kr/p/r9qvLn"),
        Photo(
            "rocket",
            "Falcon 9 launching DSCOVR",
            "SpaceX",
            "public domain",
            "https://www.flickr.com/photos/spacexphotos/16511594820/",
        ),
        Photo(
            "hubble_deep_field",
            "Hubble eXtreme Deep Field",
            "NASA",
            "public domain",
            "http://hubblesite.org/newscenter/archive/releases/2012/37/image/a/",
        ),
        Photo(
            "retina",
            "Fundus photograph of a normal left eye",
            "Mikael Häggström",
            "CC0 1.0",
            "https://commons.wikimedia.org/wiki/File:Fundus_photograph_of_normal_left_eye.jpg",
        ),
        Photo(
            "immunohistochemistry",
            "Immunohistochemical staining of colonic glands",
            "Center for Microscopy And Molecular Imaging (CMMI)",
            "no known copyright restrictions",
            "scikit-image",
        ),
        Photo("camera", "Cameraman", "Lav Varshney", "CC0", "scikit-image"),
        Photo(
            "coins",
            "Greek coins from Pompeii",
            "Brooklyn Museum",
            "no known copyright restrictions",
            "https://www.brooklynmuseum.org/opencollection/archives/image/51611",
        ),
        Photo(
            "horse",
            "Horse silhouette",
            "Andreas Preuss (openclipart)",
            "CC0",
            "http://openclipart.org/detail/158377/horse-by-marauder",
        ),
    )
}

Transform = Callable[[Image.Image], Image.Image]


def load_photo(name: str) -> Image.Image:
    """A bundled photo as RGB, its longest side at most :data:`IMAGE_SIDE`."""
    from skimage import data

    array = np.asarray(getattr(data, name)())
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    image = Image.fromarray(array).convert("RGB")
    image.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
    return image


def _hue(shift: int) -> Transform:
    """Rotate hues by ``shift`` (0-255 around the colour wheel): a red cup becomes blue."""

    def apply(image: Image.Image) -> Image.Image:
        h, s, v = image.convert("HSV").split()
        h = h.point(lambda x: (x + shift) % 256)
        return Image.merge("HSV", (h, s, v)).convert("RGB")

    return apply


def _crop(left: float, top: float, right: float, bottom: float) -> Transform:
    def apply(image: Image.Image) -> Image.Image:
        w, h = image.size
        return image.crop((int(left * w), int(top * h), int(right * w), int(bottom * h)))

    return apply


def _grey(image: Image.Image) -> Image.Image:
    return ImageOps.grayscale(image).convert("RGB")


def _same(image: Image.Image) -> Image.Image:
    return image


def _then(*steps: Transform) -> Transform:
    def apply(image: Image.Image) -> Image.Image:
        for step in steps:
            image = step(image)
        return image

    return apply


_BLUE, _GREEN = 150, 75  # hue rotations from red/orange, in PIL's 0-255 hue scale
_BW = "black-and-white"


@dataclass(frozen=True)
class _Item:
    id: str
    title: str
    category: str
    price: float
    attributes: dict[str, str]
    photo: str
    transform: Transform = _same
    variant: str = "original photo"


_ITEMS: tuple[_Item, ...] = (
    _Item("cup-red", "Red espresso cup and saucer", "cup", 12.0, {"colour": "red"}, "coffee"),
    _Item(
        "cup-blue",
        "Blue espresso cup and saucer",
        "cup",
        12.0,
        {"colour": "blue"},
        "coffee",
        _hue(_BLUE),
        "hue rotated to blue",
    ),
    _Item(
        "cup-green",
        "Green espresso cup and saucer",
        "cup",
        13.5,
        {"colour": "green"},
        "coffee",
        _hue(_GREEN),
        "hue rotated to green",
    ),
    _Item(
        "cup-red-closeup",
        "Red espresso cup, close-up",
        "cup",
        14.0,
        {"colour": "red"},
        "coffee",
        _crop(0.15, 0.0, 0.85, 0.8),
        "cropped",
    ),
    _Item(
        "cup-mono",
        "Espresso cup, black and white print",
        "cup",
        11.0,
        {"colour": _BW},
        "coffee",
        _grey,
        "greyscale",
    ),
    _Item("cat-tabby", "Tabby cat portrait", "cat-print", 24.0, {"colour": "brown"}, "chelsea"),
    _Item(
        "cat-mono",
        "Tabby cat portrait, black and white",
        "cat-print",
        22.0,
        {"colour": _BW},
        "chelsea",
        _grey,
        "greyscale",
    ),
    _Item(
        "cat-face",
        "Cat face close-up",
        "cat-print",
        26.0,
        {"colour": "brown"},
        "chelsea",
        _crop(0.3, 0.0, 0.9, 1.0),
        "cropped",
    ),
    _Item(
        "cat-blue",
        "Pop-art cat portrait in blue",
        "cat-print",
        26.0,
        {"colour": "blue"},
        "chelsea",
        _hue(_BLUE),
        "hue rotated to blue",
    ),
    _Item(
        "astronaut-orange",
        "Astronaut in an orange suit",
        "space-poster",
        30.0,
        {"colour": "orange"},
        "astronaut",
    ),
    _Item(
        "astronaut-blue",
        "Astronaut in a blue suit",
        "space-poster",
        30.0,
        {"colour": "blue"},
        "astronaut",
        _hue(_BLUE),
        "hue rotated to blue",
    ),
    _Item("rocket-night", "Rocket launch at night", "space-poster", 28.0, {"colour": "blue"}, "rocket"),
    _Item(
        "rocket-mono",
        "Rocket launch, black and white",
        "space-poster",
        25.0,
        {"colour": _BW},
        "rocket",
        _grey,
        "greyscale",
    ),
    _Item(
        "deep-field",
        "Galaxies of the deep field",
        "space-poster",
        35.0,
        {"colour": "black"},
        "hubble_deep_field",
    ),
    _Item(
        "retina-print", "Retina, orange fundus print", "science-print", 18.0, {"colour": "orange"}, "retina"
    ),
    _Item(
        "tissue-print",
        "Stained tissue micrograph",
        "science-print",
        18.0,
        {"colour": "brown"},
        "immunohistochemistry",
    ),
    _Item("cameraman", "Photographer with a tripod camera", "vintage-print", 20.0, {"colour": _BW}, "camera"),
    _Item("coins", "Ancient Greek coins", "vintage-print", 20.0, {"colour": _BW}, "coins"),
    _Item("horse", "Black horse silhouette", "vintage-print", 15.0, {"colour": _BW}, "horse"),
)


@dataclass(frozen=True)
class DemoQuery:
    """One composed query the demo runs: a reference photo variant, a change, and filters."""

    name: str
    photo: str | None
    text: str
    expected: str
    """The product a working model should rank first (shown on the page, not enforced)."""
    reference: Transform = ImageOps.mirror
    filters: ProductFilter = field(default_factory=ProductFilter)

    def reference_png(self) -> bytes | None:
        if self.photo is None:
            return None
        buf = io.BytesIO()
        self.reference(load_photo(self.photo)).save(buf, format="PNG")
        return buf.getvalue()


DEMO_QUERIES: tuple[DemoQuery, ...] = (
    DemoQuery("this cup, but blue", "coffee", "in blue", "cup-blue"),
    DemoQuery(
        "this cat, as a black and white print",
        "chelsea",
        "in black and white",
        "cat-mono",
        filters=ProductFilter(category="cat-print"),
    ),
    DemoQuery(
        "this astronaut in blue, space posters under 32",
        "astronaut",
        "wearing a blue suit",
        "astronaut-blue",
        _then(ImageOps.mirror, _crop(0.0, 0.0, 0.9, 0.9)),
        ProductFilter(category="space-poster", price_max=32),
    ),
    DemoQuery("text only: a rocket launch at night", None, "a rocket launch at night", "rocket-night"),
)


@dataclass(frozen=True)
class SampleCatalog:
    """The written catalog: JSON Lines of products, their images, and provenance."""

    catalog_path: Path
    image_dir: Path
    """The folder the catalog's relative image paths (``images/<id>.jpg``) resolve against."""
    products: list[Product]
    image_paths: dict[str, Path]
    credits: dict[str, Photo]


def build_sample_catalog(out_dir: Path) -> SampleCatalog:
    """Write ``catalog.jsonl``, ``images/<id>.jpg`` and ``SOURCES.json`` under ``out_dir``.

    Each product's description credits its photo (title, author, licence, source), and
    ``SOURCES.json`` lists every photo with how each product was derived from it.
    """
    image_dir = out_dir / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    photos = {name: load_photo(name) for name in {item.photo for item in _ITEMS}}
    products: list[Product] = []
    paths: dict[str, Path] = {}
    for item in _ITEMS:
        photo = PHOTOS[item.photo]
        path = image_dir / f"{item.id}.jpg"
        item.transform(photos[item.photo]).save(path, format="JPEG", quality=88)
        paths[item.id] = path
        credit = (
            f'Photo: "{photo.title}" by {photo.author}, {photo.licence} ({photo.source}; {item.variant}).'
        )
        products.append(
            Product(
                id=item.id,
                title=item.title,
                description=credit,
                category=item.category,
                brand=BRAND,
                price=item.price,
                currency="EUR",
                attributes=item.attributes,
                image=path.relative_to(out_dir).as_posix(),
            )
        )
    catalog_path = out_dir / "catalog.jsonl"
    catalog_path.write_text("".join(p.model_dump_json(exclude_none=True) + "\n" for p in products))
    sources = {
        "photos": [{**asdict(p), "source": p.source} for p in PHOTOS.values()],
        "products": {item.id: {"photo": item.photo, "variant": item.variant} for item in _ITEMS},
    }
    (out_dir / "SOURCES.json").write_text(json.dumps(sources, indent=2, ensure_ascii=False))
    return SampleCatalog(catalog_path, out_dir, products, paths, dict(PHOTOS))
