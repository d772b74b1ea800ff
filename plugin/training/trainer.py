"""Contrastive training of an open_clip model on a catalog, with open_clip's own ``ClipLoss``.

One run: load and split the catalog, build the starting model, measure held-out retrieval, train
with AdamW under a linear-warmup + cosine schedule (gradients clipped, ``logit_scale`` clamped as
open_clip's trainer does), measure again, and write the model, the state and the card.

Determinism: every random draw derives from ``--seed`` and the step (batch plan, text choice,
augmentation), and the model is initialised under ``torch.manual_seed(seed)``, so two CPU runs
with one seed give the same loss curve, and a resumed run the same weights as one that never
stopped. (On CUDA, kernels may still differ in the last bits.)
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from plugin.training.attribute_loss import AttributeLoss
from plugin.training.augment import Augmentation, to_normalized_tensor
from plugin.training.card import build_card
from plugin.training.checkpoint import load_train_state, save_model, save_train_state, write_card
from plugin.training.dataset import (
    CatalogData,
    Example,
    load_catalog_examples,
    product_features,
    render_text,
    split_examples,
)
from plugin.training.images import WORKING_SIDE
from plugin.training.model_source import StartingModel, load_starting_model
from plugin.training.options import TrainOptions
from plugin.training.retrieval import retrieval_metrics
from plugin.training.run_options import check_trajectory, session_end
from plugin.training.sampler import BatchPlan
from plugin.training.scene_bank import SceneBank, SceneOptions, check_stand_in, held_out_views
from plugin.vocabulary import write_model_vocabulary
from schemas.errors import InvalidInputError
from vectorizer_service import resolve_device

__all__ = ["TrainResult", "encode_examples", "train", "warmup_cosine"]

_MAX_LOGIT_SCALE = math.log(100)
_AUGMENT_STREAM = 1
"""Second seed word of the per-step generator, keeping it apart from the batch plan's."""


@dataclass
class TrainResult:
    """What a run did; ``model`` is the trained model in memory (eval mode, on its device)."""

    model: Any
    starting: StartingModel
    steps: int
    total_steps: int
    losses: list[float]
    metrics_before: dict[str, float] | None
    metrics_after: dict[str, float] | None
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.steps >= self.total_steps


def warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    """The learning-rate factor of a step: linear warmup over ``warmup`` steps, then cosine to 0."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _optimizer(model: torch.nn.Module, options: TrainOptions) -> torch.optim.AdamW:
    # As open_clip's trainer: no weight decay on gains, biases, embeddings' scales, logit_scale.
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        exempt = param.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name
        (no_decay if exempt else decay).append(param)
    groups = [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": options.weight_decay},
    ]
    return torch.optim.AdamW(groups, lr=options.lr, betas=(0.9, 0.98), eps=1e-6)


def _embed_dim(starting: StartingModel) -> int:
    return int(starting.model_cfg["embed_dim"])


def encode_examples(
    starting: StartingModel, model: Any, examples: Sequence[Example], device: torch.device, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unit image vectors (serving's preprocessing) and unit title vectors of ``examples``."""
    was_training = model.training
    model.eval()
    images, texts = [], []
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            pixels = torch.stack([starting.preprocess(e.image) for e in chunk]).to(device)
            tokens = starting.tokenizer([e.product.title for e in chunk]).to(device)
            images.append(model.encode_image(pixels, normalize=True).float().cpu().numpy())
            texts.append(model.encode_text(tokens, normalize=True).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(images), np.concatenate(texts)


def _held_out(
    starting: StartingModel, model: Any, val: Sequence[Example], device: torch.device, batch_size: int
) -> dict[str, float] | None:
    if not val:
        return None
    image_vectors, text_vectors = encode_examples(starting, model, val, device, batch_size)
    return retrieval_metrics(image_vectors, text_vectors, [e.product.title for e in val])


def _batch(
    rows: np.ndarray,
    train_rows: Sequence[Example],
    bank: SceneBank,
    starting: StartingModel,
    seed: int,
    step: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng([seed, _AUGMENT_STREAM, step])
    augment = Augmentation(size=starting.image_size)
    mean, std = starting.preprocess_cfg["mean"], starting.preprocess_cfg["std"]
    examples = [train_rows[int(i)] for i in rows]
    images = bank.images(rows, train_rows, step)
    pixels = torch.stack([to_normalized_tensor(augment(image, rng), mean, std) for image in images])
    tokens = starting.tokenizer([render_text(e.product, rng) for e in examples])
    return pixels, tokens


_ADDED_LATER: dict[str, Any] = {"attribute_loss": 0.0}
"""Trajectory options newer than some saved states, with the value those states ran with."""


def _check_resumable(state: dict[str, Any], options: TrainOptions, data: CatalogData) -> None:
    # The catalog file can be unchanged while its images are not (one fixed, one deleted): with
    # --skip-bad-rows that changes which rows train, so the run would not be the one resumed.
    skipped = [s.row for s in data.skipped]
    if state.get("catalog_sha256") == data.sha256 and state.get("skipped_rows", []) != skipped:
        raise InvalidInputError(
            f"--resume: the unusable rows changed since the saved state (skipped rows then: "
            f"{state.get('skipped_rows', [])}, now: {skipped})"
        )
    # A state saved before a trajectory option existed ran with that option's neutral value.
    saved = {**_ADDED_LATER, **state.get("trajectory", {})}
    check_trajectory({**state, "trajectory": saved}, options.trajectory(), data.sha256)


def train(
    options: TrainOptions,
    *,
    command: Sequence[str] | None = None,
    echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> TrainResult:
    """Run ``options`` end to end (see the module docstring); ``command`` goes into the card."""
    options.validate()
    started = time.perf_counter()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    device = resolve_device(options.device)
    torch.manual_seed(options.seed)  # a from-scratch model's initial weights
    starting = load_starting_model(options.model, options.pretrained, offline=options.offline)
    # The model comes first for its input size: a 336- or 384-pixel model trained on 256-pixel
    # working copies would learn from upscaled photos while serving sees sharp ones.
    data = load_catalog_examples(
        options.catalog,
        options.images,
        skip_bad_rows=options.skip_bad_rows,
        working_side=max(WORKING_SIDE, starting.image_size),
    )
    for skipped in data.skipped:
        echo(f"skipped {skipped.describe()}")
    if data.skipped:
        echo(f"skipped {len(data.skipped)} unusable row(s); training on {len(data.examples)}")
    train_rows, val_rows = split_examples(data.examples, options.val_fraction, options.seed)
    plan = BatchPlan(
        [product_features(e.product) for e in train_rows],
        batch_size=options.batch_size,
        hard_fraction=options.hard_batch_fraction,
        seed=options.seed,
    )
    total_steps = options.epochs * plan.steps_per_epoch
    scenes_started = time.perf_counter()
    bank = SceneBank(train_rows, SceneOptions(options.scene_fraction, options.scene_variants), options.seed)
    # Scenes only show what the model learns if they look like the real query path: measure.
    stand_in = (
        check_stand_in(train_rows, options.scene_check, options.seed, options.threads)
        if options.scene_fraction > 0 and not options.resume
        else {"measured": False, "reason": "scenes off" if options.scene_fraction == 0 else "resumed run"}
    )
    scene_val = held_out_views(val_rows, options.seed) if options.scene_fraction > 0 else []
    scenes_s = time.perf_counter() - scenes_started
    if options.scene_fraction > 0:
        echo(f"shopper scenes: {sum(len(v) for v in bank.views)} views made in {scenes_s:.1f} s")
    model = starting.model.to(device)
    if options.lock_image:
        model.lock_image_tower()
    if options.lock_text:
        model.lock_text_tower()
    # Auxiliary heads (training only) join the optimizer after the model's own parameters, so a
    # run without them builds the very optimizer it always did.
    aux = (
        AttributeLoss(
            [product_features(e.product) for e in train_rows], _embed_dim(starting), options.attribute_loss
        ).to(device)
        if options.attribute_loss > 0
        else None
    )
    optimizer = _optimizer(model if aux is None else torch.nn.ModuleList([model, aux]), options)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(options.warmup_steps, total_steps))
    from open_clip.loss import ClipLoss

    loss_fn = ClipLoss()
    step, losses, hard_batches, train_s_before = 0, [], 0, 0.0
    attribute_losses: list[float] = []
    if options.resume:
        state = load_train_state(options.out)
        _check_resumable(state, options, data)
        model.load_state_dict(state["model"])
        if aux is not None:
            aux.load_state_dict(state["attribute_heads"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, losses, hard_batches = int(state["step"]), list(state["losses"]), int(state["hard_batches"])
        attribute_losses = list(state.get("attribute_losses", []))
        metrics_before, train_s_before = state["metrics_before"], float(state["train_s"])
        scene_before = state.get("scene_metrics_before")
        stand_in = state.get("stand_in_check", stand_in)  # measured by the session that started
        echo(f"resuming from step {step} of {total_steps}")
    else:
        metrics_before = _held_out(starting, model, val_rows, device, options.eval_batch_size)
        scene_before = _held_out(starting, model, scene_val, device, options.eval_batch_size)

    def snapshot(train_s: float) -> dict[str, Any]:
        return {
            "step": step,
            "model": model.state_dict(),
            **({"attribute_heads": aux.state_dict()} if aux is not None else {}),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "losses": losses,
            "attribute_losses": attribute_losses,
            "hard_batches": hard_batches,
            "metrics_before": metrics_before,
            "scene_metrics_before": scene_before,
            "stand_in_check": stand_in,
            "train_s": train_s,
            "trajectory": options.trajectory(),
            "catalog_sha256": data.sha256,
            "skipped_rows": [s.row for s in data.skipped],
        }

    first_step = step
    end = session_end(step, total_steps, options.stop_after_steps)
    model.train()
    loop_started = time.perf_counter()
    with tqdm(
        total=total_steps, initial=step, disable=not options.progress, desc="train", unit="step"
    ) as bar:
        while step < end:
            rows, hard = plan.batch(step)
            pixels, tokens = _batch(rows, train_rows, bank, starting, options.seed, step)
            image_features = model.encode_image(pixels.to(device), normalize=True)
            text_features = model.encode_text(tokens.to(device), normalize=True)
            loss = loss_fn(image_features, text_features, model.logit_scale.exp())
            contrastive = float(loss.item())  # the card's loss curve: comparable with and without aux
            if aux is not None:
                attribute_loss = aux(image_features, torch.as_tensor(rows, device=device))
                attribute_losses.append(float(attribute_loss.item()))
                loss = loss + attribute_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), options.grad_clip)
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, _MAX_LOGIT_SCALE)
            losses.append(contrastive)
            hard_batches += int(hard)
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}", lr=f"{scheduler.get_last_lr()[-1]:.2e}")
            if step % options.save_every == 0 and step < end:
                save_train_state(options.out, snapshot(train_s_before + time.perf_counter() - loop_started))
    train_s = train_s_before + time.perf_counter() - loop_started
    session_pairs_per_s = (
        (step - first_step) * options.batch_size / max(time.perf_counter() - loop_started, 1e-9)
    )
    save_train_state(options.out, snapshot(train_s))
    model.eval()
    metrics_after = _held_out(starting, model, val_rows, device, options.eval_batch_size)
    scene_after = _held_out(starting, model, scene_val, device, options.eval_batch_size)
    scenes = {
        **bank.as_json(),
        "scene_batches": sum(bank.is_scene_batch(s) for s in range(step)),
        "prepare_s": round(scenes_s, 3),
        "stand_in_check": stand_in,
        "metrics": {"before": scene_before, "after": scene_after} if scene_val else None,
    }
    save_model(options.out, model, starting.model_cfg, starting.preprocess_cfg, save_dtype=options.save_dtype)
    card = build_card(
        options,
        data=data,
        train_rows=len(train_rows),
        val_rows=len(val_rows),
        plan=plan,
        starting=starting,
        device=str(device),
        steps=step,
        total_steps=total_steps,
        losses=losses,
        hard_batches=hard_batches,
        metrics_before=metrics_before,
        metrics_after=metrics_after,
        scenes=scenes,
        train_s=train_s,
        wall_s=time.perf_counter() - started,
        pairs_per_s=session_pairs_per_s,
        command=list(command) if command is not None else None,
    )
    if aux is not None:
        card["attribute_loss"] = {
            **aux.as_json(),
            "loss_first": attribute_losses[0] if attribute_losses else None,
            "loss_last": attribute_losses[-1] if attribute_losses else None,
        }
    write_card(options.out, card)
    # One model folder carries model and vocabulary: the catalog's own, unless one is there.
    echo(write_model_vocabulary(options.out, (e.product for e in data.examples)))
    return TrainResult(model, starting, step, total_steps, losses, metrics_before, metrics_after, card)
