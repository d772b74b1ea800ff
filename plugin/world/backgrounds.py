"""The real photos behind shopper photos' clutter: they ship inside scikit-image's wheel
(``skimage.data``), so nothing is downloaded, and each carries its provenance as scikit-image
documents it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

__all__ = ["BACKGROUNDS", "Photo", "load_photo"]


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


BACKGROUNDS: dict[str, Photo] = {
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
            "brick",
            "Bricks texture (Bricks25)",
            "CC0Textures",
            "CC0",
            "https://cc0textures.com/view.php?tex=Bricks25",
        ),
        Photo(
            "grass",
            "Grass texture",
            "linolafett (DeviantArt)",
            "CC0",
            "https://www.deviantart.com/linolafett/art/Grass-01-434853879",
        ),
        Photo(
            "gravel",
            "Gravel texture (Gravel04)",
            "CC0Textures",
            "CC0",
            "https://cc0textures.com/view.php?tex=Gravel04",
        ),
    )
}


@lru_cache(maxsize=len(BACKGROUNDS))
def load_photo(name: str) -> Image.Image:
    """A bundled photo as RGB (cached: shopper photos crop the same few photos many times)."""
    from skimage import data

    array = np.asarray(getattr(data, name)())
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    return Image.fromarray(array).convert("RGB")
