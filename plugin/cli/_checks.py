"""Argument checks that run while the command line is parsed, before anything loads.

Loading the models takes seconds (the embedding model, the background remover, the captioner),
so a mistake the arguments already show (a text file given as the image, ``--limit 0``, a
price range that is empty, a file that is not there) is answered from here, in well under a
second: each function is an argparse ``type=`` (one value; its ``InvalidInputError`` is reported
as one line naming the flag, see :class:`plugin.cli._parser.SuggestingParser`) or takes the
parsed namespace (values that must agree). Nothing here imports a model runtime, numpy or PIL.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from schemas.errors import InvalidInputError, ModelUnavailableError

__all__ = [
    "IMAGE_SIGNATURES",
    "check_model_files",
    "check_price_range",
    "existing_dir",
    "existing_file",
    "fraction",
    "image_file",
    "positive_int",
    "preflight",
]

IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "GIF": (b"GIF87a", b"GIF89a"),
    "BMP": (b"BM",),
    "WEBP": (b"RIFF",),  # and b"WEBP" at offset 8, checked below
}
"""The first bytes of each format the service decodes (``vectorizer_service.images.
ALLOWED_FORMATS``; a test keeps the two lists equal)."""
_HEADER_BYTES = 12


def positive_int(value: str) -> int:
    """An integer of at least 1 (``--limit``, ``--batch-size``)."""
    try:
        number = int(value)
    except ValueError:
        raise InvalidInputError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise InvalidInputError(f"must be at least 1, got {number}")
    return number


def fraction(value: str) -> float:
    """A number in (0, 1] (a threshold)."""
    try:
        number = float(value)
    except ValueError:
        raise InvalidInputError(f"expected a number, got {value!r}") from None
    if not 0.0 < number <= 1.0:
        raise InvalidInputError(f"must be in (0, 1], got {number}")
    return number


def existing_file(value: str) -> Path:
    """A path to a file that exists."""
    path = Path(value).expanduser()
    if path.is_dir():
        raise InvalidInputError(f"{value} is a folder, not a file")
    if not path.is_file():
        raise InvalidInputError(f"no such file: {value}")
    return path


def existing_dir(value: str) -> Path:
    """A path to a folder that exists."""
    path = Path(value).expanduser()
    if not path.is_dir():
        raise InvalidInputError(f"no such folder: {value}")
    return path


def _image_format(header: bytes) -> str | None:
    for name, signatures in IMAGE_SIGNATURES.items():
        if any(header.startswith(s) for s in signatures):
            if name == "WEBP" and header[8:12] != b"WEBP":
                continue
            return name
    return None


def image_file(value: str) -> Path:
    """An image file the service can decode, judged by its first bytes (a text file, a PDF or
    an empty file is refused here; a truncated image still fails later, when decoded)."""
    path = existing_file(value)
    try:
        with path.open("rb") as handle:
            header = handle.read(_HEADER_BYTES)
    except OSError as exc:
        raise InvalidInputError(f"{value}: cannot be read ({exc.strerror})") from None
    if not header:
        raise InvalidInputError(f"{value} is empty, not an image")
    if _image_format(header) is None:
        formats = ", ".join(IMAGE_SIGNATURES)
        raise InvalidInputError(f"{value} is not an image (expected one of {formats})")
    return path


def check_price_range(args: argparse.Namespace) -> None:
    """``--price-min`` above ``--price-max`` matches nothing: say so instead of searching."""
    low, high = getattr(args, "price_min", None), getattr(args, "price_max", None)
    if low is not None and high is not None and low > high:
        raise InvalidInputError(
            f"--price-min {low:g} is above --price-max {high:g}: no price is in that range (swap them?)"
        )


def check_model_files(args: argparse.Namespace) -> None:
    """The model files a command that loads a model in this process names (``--model``,
    ``--pretrained`` or their variables) must be there: refused before torch is imported."""
    if not getattr(args, "reads_model_settings", False):
        return  # the command loads no model through the settings (or its own flags)
    from plugin.cli._common import plugin_settings, service_settings
    from vectorizer_service import model_files_problem

    if getattr(args, "service_address", None) or plugin_settings(args).service_address:
        return  # the running service loads its own model
    service = service_settings(args)
    problem = model_files_problem(service.model, service.pretrained)
    if problem is not None:
        raise ModelUnavailableError(problem)


def preflight(args: argparse.Namespace) -> None:
    """The checks that need several parsed values, run before a command starts."""
    check_price_range(args)
    check_model_files(args)
