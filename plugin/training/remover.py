"""Fine-tuning the background remover on a catalog's own products (``grounded train-remover``).

Everything the model reads of a shopper's photo passes through the remover's mask first, and
u2netp's masks on a shop's small photos keep background of another colour and lose parts of the
product (on the product world's val scenes, mean IoU 0.82 against the true masks; the probes then
read category 14 points worse than on the true cut-outs: docs/training.md). A catalog knows its
products' true masks: a catalog photo is a product on a plain backdrop
(:func:`plugin.training.scenes.product_mask`). So this run places every product in generated
scenes (:class:`plugin.training.scenes.SceneMaker`: other light, scale, rotation, textures,
clutter and other products behind it), where the true mask is known, and fine-tunes the base
remover's convolutions on them:

- the base ONNX file (u2netp, as the service finds it) becomes a torch module (``onnx2torch``);
- inputs are the service's own preprocessing at ``input_size`` (:func:`remover_batch`), targets
  the true masks at that side; the loss is u2net's: binary cross-entropy summed over the fused
  mask and every side output;
- Adam, ``steps`` batches of ``batch_size`` scenes drawn by a seeded generator;
- a seeded ``val_fraction`` of the products is held out: their scenes (drawn from another seed)
  measure the masks before and after (mean IoU at 0.5, the service's threshold), the card;
- the tuned weights are written back into the base file's own graph (``remover.onnx``: same
  inputs, outputs and preprocessing), read back through the service's loader and checked
  against the torch module, with ``remover.json`` beside it
  (:mod:`vectorizer_service.compose.model_remover`).

Deterministic by seed on the CPU: the split, the scenes and the batches are functions of it.
Scenes are made when a batch draws them (a scene is a function of ``(seed, row, variant)``), so
memory does not grow with the catalog; at most 200 held-out products are measured.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from plugin.training.dataset import Example, held_out_products, load_catalog_examples
from plugin.training.images import WORKING_SIDE
from plugin.training.remover_options import RemoverOptions
from plugin.training.scene_bank import _scene
from plugin.training.scenes import product_mask
from schemas.errors import InvalidInputError, ModelUnavailableError
from vectorizer_service import (
    REMOVER_CONFIG_FILE,
    REMOVER_FILE,
    REMOVER_FORMAT,
    ServiceSettings,
    base_remover_file,
    load_remover,
    remover_batch,
)

__all__ = ["RemoverOptions", "RemoverResult", "train_remover"]

_HELD_OUT_SEED_OFFSET = 1
"""Held-out scenes are drawn from ``seed + 1``: never a scene a training product was shown in."""
_CURVE_POINTS = 50
_THRESHOLD = 0.5
_MAX_CHECKS = 200
"""Held-out scenes measured (the first of the seeded held-out products): each costs three
remover passes, and 200 put the mean IoU within a couple of hundredths."""
_SERVING_TOLERANCE = 0.02
"""The served mask is stored as 8-bit alpha (1/255 apart) and computed by ONNX Runtime, not torch."""


@dataclass
class RemoverResult:
    path: Path
    card: dict[str, Any]


@dataclass(frozen=True)
class _Scenes:
    images: list[Image.Image]
    masks: list[npt.NDArray[np.bool_]]


class _ScenePool:
    """The training scenes, made when a batch draws them: ``(row, variant)`` of every product
    whose photo shows one, in order. A scene is a pure function of ``(seed, row, variant)``, so
    nothing is held: a catalog of any size costs the memory of one batch."""

    def __init__(self, examples: Sequence[Example], rows: Sequence[int], variants: int, seed: int) -> None:
        self._examples = examples
        self._others = [e.image for e in examples]
        self._seed = seed
        self.keys = [
            (row, v) for row in rows if product_mask(examples[row].image).any() for v in range(variants)
        ]

    def __len__(self) -> int:
        return len(self.keys)

    def scenes(self, picks: Sequence[int]) -> _Scenes:
        images, masks = [], []
        for pick in picks:
            row, variant = self.keys[pick]
            drawn = _scene(self._examples[row], self._others, self._seed, row, variant)
            assert drawn is not None  # the row's photo showed a product when the pool was made
            images.append(drawn[0].image)
            masks.append(drawn[0].mask)
        return _Scenes(images, masks)


def _targets(masks: Sequence[npt.NDArray[np.bool_]], side: int) -> torch.Tensor:
    resized = [
        np.asarray(
            Image.fromarray(m.astype(np.uint8) * 255, mode="L").resize(
                (side, side), Image.Resampling.BILINEAR
            ),
            dtype=np.float32,
        )
        / 255.0
        for m in masks
    ]
    return torch.from_numpy(np.stack(resized)[:, None])


def _load_module(path: Path) -> torch.nn.Module:
    try:
        import onnx2torch
    except ImportError as exc:  # pragma: no cover - the training extra installs it
        raise ModelUnavailableError(
            "grounded train-remover needs onnx2torch (pip install 'grounded[torch]')"
        ) from exc
    # onnx2torch's Slice indexes with a list, which torch warns about on every first call.
    warnings.filterwarnings("ignore", message="Using a non-tuple sequence", category=UserWarning)
    module: torch.nn.Module = onnx2torch.convert(str(path))
    return module


def _masks(module: torch.nn.Module, base: str, images: Sequence[Image.Image], side: int) -> list[np.ndarray]:
    """Foreground probability at each image's own size, as the service upsamples it."""
    out = []
    module.eval()
    with torch.inference_mode():
        for start in range(0, len(images), 16):
            chunk = images[start : start + 16]
            pred = module(torch.from_numpy(remover_batch(chunk, base, side)))[0][:, 0].numpy()
            for p, image in zip(pred, chunk, strict=True):
                small = Image.fromarray((np.clip(p, 0.0, 1.0) * 255).astype(np.uint8), mode="L")
                out.append(
                    np.asarray(small.resize(image.size, Image.Resampling.BILINEAR), np.float32) / 255.0
                )
    return out


def _mean_iou(probabilities: Sequence[np.ndarray], truths: Sequence[npt.NDArray[np.bool_]]) -> float:
    ious = []
    for p, truth in zip(probabilities, truths, strict=True):
        mask = p >= _THRESHOLD
        union = np.logical_or(mask, truth).sum()
        ious.append(float(np.logical_and(mask, truth).sum() / union) if union else 1.0)
    return float(np.mean(ious)) if ious else 0.0


def tuned_onnx(base: Path, module: torch.nn.Module) -> bytes:
    """The base file's graph with ``module``'s convolution weights (``onnx2torch`` names each
    module after its node); raises if any parameter has no initializer to go to."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(base))
    initializers = {i.name: i for i in proto.graph.initializer}
    state = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in module.named_parameters()}
    written = set()
    for node in proto.graph.node:
        if node.op_type != "Conv":
            continue
        for suffix, index in (("weight", 1), ("bias", 2)):
            key = f"{node.name}.{suffix}"
            if key in state and len(node.input) > index and node.input[index] in initializers:
                initializers[node.input[index]].CopyFrom(
                    numpy_helper.from_array(state[key], node.input[index])
                )
                written.add(key)
    missing = sorted(set(state) - written)
    if missing:
        raise ModelUnavailableError(f"{base}: tuned parameters with no ONNX initializer: {missing[:5]}")
    data: bytes = proto.SerializeToString()
    return data


def _write(path: Path, data: bytes) -> None:
    # Beside its place, then renamed: a run stopped mid-write leaves the folder as it was.
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the model from a service user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _serving_check(
    options: RemoverOptions, base_home: Path, module: torch.nn.Module, image: Image.Image
) -> float:
    """Largest difference (0..1) between the served file's mask of ``image`` and the module's."""
    settings = ServiceSettings.model_validate(
        {
            "device": "cpu",
            "model": str(options.model),
            "rembg_model": options.base,
            "u2net_home": base_home,
            "remover_threads": 1,
            "remover_one_region": False,
        }
    )
    remover = load_remover(settings)
    if "+tuned" not in remover.name:
        raise ModelUnavailableError(f"{options.model}: the service did not pick up {REMOVER_FILE}")
    served = np.asarray(remover.remove([image])[0].alpha, dtype=np.float32) / 255.0
    direct = _masks(module, options.base, [image], options.input_size)[0]
    if options.combine == "intersect":
        base = _load_module(base_remover_file(options.base))
        direct = np.minimum(direct, _masks(base, options.base, [image], settings.remover_input_size)[0])
    return float(np.abs(served - direct).max())


def train_remover(
    options: RemoverOptions,
    *,
    command: Sequence[str] | None = None,
    echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> RemoverResult:
    """Run ``options`` end to end (see the module docstring); ``command`` goes into the card."""
    options.validate()
    started = time.perf_counter()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    # The base file before the catalog: a missing u2netp fails the run in a second.
    base_path = base_remover_file(options.base)
    data = load_catalog_examples(
        options.catalog, options.images, skip_bad_rows=options.skip_bad_rows, working_side=WORKING_SIDE
    )
    for skipped in data.skipped:
        echo(f"skipped {skipped.describe()}")
    if len(data.examples) < 2:
        raise InvalidInputError("train-remover needs at least 2 usable products (one held out)")
    held = held_out_products(len(data.examples), options.val_fraction, options.seed)
    train_rows = [i for i in range(len(data.examples)) if not held[i]]
    held_rows = [i for i in range(len(data.examples)) if held[i]]
    pool = _ScenePool(data.examples, train_rows, options.scene_variants, options.seed)
    held_pool = _ScenePool(data.examples, held_rows, 1, options.seed + _HELD_OUT_SEED_OFFSET)
    checks = held_pool.scenes(range(min(len(held_pool), _MAX_CHECKS)))
    if not len(pool) or not checks.images:
        raise InvalidInputError(
            "no catalog photo shows a product on a plain backdrop: "
            "train-remover has no true masks to learn from"
        )
    scenes_s = time.perf_counter() - started
    echo(f"{len(pool)} training scenes, {len(checks.images)} held-out scenes ({scenes_s:.0f} s)")

    torch.manual_seed(options.seed)
    module = _load_module(base_path)
    iou_before = _mean_iou(_masks(module, options.base, checks.images, options.input_size), checks.masks)
    iou_base_320 = _mean_iou(_masks(module, options.base, checks.images, 320), checks.masks)
    module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=options.lr)
    generator = torch.Generator().manual_seed(options.seed)
    losses: list[float] = []
    train_started = time.perf_counter()
    for step in range(1, options.steps + 1):
        pick = torch.randint(0, len(pool), (options.batch_size,), generator=generator)
        drawn = pool.scenes([int(i) for i in pick])
        batch = torch.from_numpy(remover_batch(drawn.images, options.base, options.input_size))
        outputs = module(batch)
        target = _targets(drawn.masks, options.input_size)
        loss = sum(torch.nn.functional.binary_cross_entropy(o.clamp(1e-6, 1 - 1e-6), target) for o in outputs)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[union-attr]  # a sum of tensors is a tensor
        optimizer.step()
        losses.append(float(loss.detach()))  # type: ignore[union-attr]
        if step % 50 == 0 or step == options.steps:
            echo(f"step {step}/{options.steps}: loss {np.mean(losses[-50:]):.4f}")
    train_s = time.perf_counter() - train_started
    iou_after = _mean_iou(_masks(module, options.base, checks.images, options.input_size), checks.masks)
    echo(
        f"held-out scenes' mask IoU: base {iou_base_320:.3f} at 320 px, {iou_before:.3f} at "
        f"{options.input_size} px; tuned {iou_after:.3f} at {options.input_size} px"
    )

    onnx_bytes = tuned_onnx(base_path, module)
    every = max(1, len(losses) // _CURVE_POINTS)
    card: dict[str, Any] = {
        "data": {
            "catalog": str(data.path.resolve()),
            "sha256": data.sha256,
            "products": len(data.examples),
            "held_out_products": len(held_rows),
            "training_scenes": len(pool),
            "held_out_scenes": len(checks.images),
            "skipped_rows": [s.as_json() for s in data.skipped],
        },
        "options": options.as_json(),
        "held_out_mask_iou": {
            "base_at_320": round(iou_base_320, 4),
            f"base_at_{options.input_size}": round(iou_before, 4),
            f"tuned_at_{options.input_size}": round(iou_after, 4),
        },
        "training": {
            "steps": options.steps,
            "loss_first": losses[0],
            "loss_last": float(np.mean(losses[-every:])),
            "loss_curve": [[i + 1, round(losses[i], 5)] for i in range(0, len(losses), every)],
            "train_s": round(train_s, 2),
        },
        "command": list(command) if command is not None else None,
        "versions": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }
    config = {
        "format": REMOVER_FORMAT,
        "base": options.base,
        "base_sha256": hashlib.sha256(base_path.read_bytes()).hexdigest(),
        "input_size": options.input_size,
        "combine": options.combine,
        "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "card": card,
    }
    target_path = options.model / REMOVER_FILE
    _write(target_path, onnx_bytes)
    # The config last: a folder has a tuned remover only once both files are whole.
    config_path = options.model / REMOVER_CONFIG_FILE
    card["serving_check_max_abs_diff"] = None
    _write(config_path, (json.dumps(config, indent=1) + "\n").encode())
    difference = _serving_check(options, base_path.parent, module, checks.images[0])
    if difference > _SERVING_TOLERANCE:
        config_path.unlink(missing_ok=True)
        target_path.unlink(missing_ok=True)
        raise ModelUnavailableError(
            f"{target_path}: the written remover's mask differs from the tuned module's by {difference:.3f} "
            f"(tolerance {_SERVING_TOLERANCE}); nothing was left in {options.model}"
        )
    card["serving_check_max_abs_diff"] = round(difference, 5)
    card["wall_s"] = round(time.perf_counter() - started, 2)
    _write(config_path, (json.dumps(config, indent=1) + "\n").encode())
    return RemoverResult(target_path, card)
