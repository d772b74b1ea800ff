"""The ``RANDOM_WEIGHTS`` file: how a folder of model weights says they are random.

:mod:`~vectorizer_service.runtime.random_weights` (behind ``grounded models init-random``,
``grounded demo --random-weights``, the tests and the benchmarks) writes randomly initialised
models in the real on-disk formats, so nothing in the files themselves tells them apart from
trained ones. Each writer therefore also writes ``RANDOM_WEIGHTS`` into the model's folder, and
the loader warns when it loads from a folder holding one: rankings made with such a model are
meaningless. Any folder may carry the file (an ONNX export of a random model inherits it);
deleting it silences the warning, and is right only once trained weights replace the random ones.

No torch here: the onnx backend checks for the file too.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["RANDOM_WEIGHTS_FILE", "mark_random", "random_weights_dir", "random_weights_warning"]

RANDOM_WEIGHTS_FILE = "RANDOM_WEIGHTS"
_LOCAL_DIR = "local-dir:"


def mark_random(directory: Path, origin: str) -> Path:
    """Write ``directory/RANDOM_WEIGHTS``, saying where the random weights came from; return it."""
    marker = directory / RANDOM_WEIGHTS_FILE
    marker.write_text(
        f"The weights in this folder are randomly initialised ({origin}), for tests and offline\n"
        "demos: rankings made with them are meaningless. Grounded warns whenever it loads them.\n"
        "Delete this file only after replacing the weights with trained ones.\n",
        encoding="utf-8",
    )
    return marker


def random_weights_dir(model: str, pretrained: str) -> Path | None:
    """The folder marked random that the ``model`` / ``pretrained`` settings load from, or ``None``.

    The weights live in ``model`` when it is a folder (``local-dir:DIR``, a transformers
    ``save_pretrained`` folder, an ONNX export), or beside ``pretrained`` when that is a
    checkpoint file (``--model ViT-B-32 --pretrained DIR/open_clip_model.safetensors``).
    Hub ids and pretrained tags name no local folder: nothing to check.
    """
    candidates = [Path(model.removeprefix(_LOCAL_DIR)).expanduser()]
    if pretrained:
        checkpoint = Path(pretrained).expanduser()
        # Only an existing file: a tag such as "openai" is no path, and its "parent" would be
        # the working directory.
        if checkpoint.is_file():
            candidates.append(checkpoint.parent)
    for folder in candidates:
        if folder.is_dir() and (folder / RANDOM_WEIGHTS_FILE).is_file():
            return folder
    return None


def random_weights_warning(model: str, pretrained: str) -> str | None:
    """One line to warn with when the model loads random weights, else ``None``."""
    folder = random_weights_dir(model, pretrained)
    if folder is None:
        return None
    return (
        f"the model at {folder} has random weights ({RANDOM_WEIGHTS_FILE} file; made by `grounded "
        "models init-random` or for tests): rankings are meaningless; load trained weights with "
        "--model/--pretrained"
    )
