"""Training a Pic2Word mapper on a catalog's images (``grounded train-pic2word``).

Pic2Word (Saito et al., CVPR 2023, arXiv 2302.03084) learns, from unlabelled images only, a
small network that turns an image vector ``v`` into a token embedding the frozen text tower reads
as the ``*`` of ``"a photo of *"``; the loss is the symmetric InfoNCE between that prompt's text
vector and ``v`` at the model's own logit scale. AdamW (betas 0.9/0.98, weight decay 0.1 on the
matrices), linear warmup then cosine.

The CLIP model is frozen, so every image is encoded once, up front, through the serving
preprocessing, and the loop runs the mapper and the (trimmed, 6-token) text tower only. The
catalog is read and decoded as ``grounded train`` reads it. The mapper is written into the model
folder (:data:`~vectorizer_service.PIC2WORD_WEIGHTS_FILE` + ``pic2word.json`` with its card),
where the service finds it. Deterministic by seed: the batch order derives from (seed, epoch),
dropout from (seed, step), so a resumed run ends with the weights of one that never stopped.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from plugin.training.card import loss_curve
from plugin.training.checkpoint import load_train_state, save_train_state
from plugin.training.dataset import CatalogData, load_catalog_examples
from plugin.training.images import WORKING_SIDE
from plugin.training.model_source import StartingModel, load_starting_model
from plugin.training.pic2word_options import PIC2WORD_STATE_NAME, Pic2WordOptions
from plugin.training.run_options import check_trajectory, session_end
from plugin.training.trainer import warmup_cosine
from schemas.errors import InvalidInputError
from vectorizer_service import (
    PIC2WORD_TRAIN_PROMPT,
    Pic2WordMapper,
    PseudoWordText,
    encode_with_pseudo_word,
    resolve_device,
    save_pic2word_mapper,
)

__all__ = ["Pic2WordResult", "encode_catalog_images", "train_pic2word"]

_MAX_LOGIT_SCALE = 100.0
_DROPOUT_STREAM = 7919
"""Multiplier keeping each step's dropout seed apart from the seed itself."""


@dataclass
class Pic2WordResult:
    """What a run did: the mapper (eval mode, CPU), its losses, and the card written."""

    mapper: Pic2WordMapper
    steps: int
    total_steps: int
    losses: list[float]
    card: dict[str, Any]

    @property
    def complete(self) -> bool:
        return self.steps >= self.total_steps


def encode_catalog_images(starting: StartingModel, data: CatalogData, batch_size: int = 128) -> torch.Tensor:
    """Unit image vectors of every catalog row, through the serving preprocessing (fp32, CPU)."""
    model = starting.model
    rows = []
    with torch.inference_mode():
        for start in range(0, len(data.examples), batch_size):
            chunk = data.examples[start : start + batch_size]
            pixels = torch.stack([starting.preprocess(e.image) for e in chunk])
            rows.append(model.encode_image(pixels, normalize=True).float())
    return torch.cat(rows).clone()


def _optimizer(mapper: Pic2WordMapper, options: Pic2WordOptions) -> torch.optim.AdamW:
    decay = [p for p in mapper.parameters() if p.ndim >= 2]
    no_decay = [p for p in mapper.parameters() if p.ndim < 2]
    groups = [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": options.weight_decay},
    ]
    return torch.optim.AdamW(groups, lr=options.lr, betas=(0.9, 0.98), eps=1e-8)


def _self_retrieval(
    mapper: Pic2WordMapper, pseudo: PseudoWordText, vectors: torch.Tensor
) -> dict[str, float]:
    """How often ``t("a photo of *")`` with an image's token finds that image among all of them."""
    mapper.eval()
    texts = []
    with torch.no_grad():
        for start in range(0, len(vectors), 256):
            v = vectors[start : start + 256]
            texts.append(pseudo.encode([PIC2WORD_TRAIN_PROMPT] * len(v), mapper(v)))
    t = torch.nn.functional.normalize(torch.cat(texts), dim=-1)
    ranks = (t @ vectors.T).argsort(dim=1, descending=True)
    own = torch.arange(len(vectors))[:, None]
    return {f"prompt_to_image_R@{k}": float((ranks[:, :k] == own).any(dim=1).float().mean()) for k in (1, 10)}


def train_pic2word(
    options: Pic2WordOptions,
    *,
    command: Sequence[str] | None = None,
    echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> Pic2WordResult:
    """Run ``options`` end to end (see the module docstring); ``command`` goes into the card."""
    options.validate()
    started = time.perf_counter()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    device = resolve_device(options.device)
    starting = load_starting_model(str(options.model), "", offline=options.offline)
    clip = starting.model.eval().requires_grad_(False).to(device)
    pseudo = PseudoWordText(clip, starting.tokenizer)
    data = load_catalog_examples(
        options.catalog,
        options.images,
        skip_bad_rows=options.skip_bad_rows,
        working_side=max(WORKING_SIDE, starting.image_size),
    )
    for skipped in data.skipped:
        echo(f"skipped {skipped.describe()}")
    if len(data.examples) < 2:
        raise InvalidInputError("train-pic2word needs at least 2 usable images (a contrastive batch)")
    vectors = encode_catalog_images(starting, data).to(device)
    encode_s = time.perf_counter() - started
    n = len(vectors)
    batch = min(options.batch_size, n)
    steps_per_epoch = n // batch
    total_steps = options.epochs * steps_per_epoch
    tokens, positions = pseudo.tokenize([PIC2WORD_TRAIN_PROMPT])
    tokens, positions = tokens.to(device), positions.to(device)
    scale = min(float(clip.logit_scale.exp()), _MAX_LOGIT_SCALE)
    torch.manual_seed(options.seed)
    mapper = Pic2WordMapper(vectors.shape[1], pseudo.token_width, options.hidden, options.dropout).to(device)
    optimizer = _optimizer(mapper, options)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(options.warmup_steps, total_steps))
    step, losses, train_s_before = 0, [], 0.0
    if options.resume:
        state = load_train_state(options.model, PIC2WORD_STATE_NAME)
        check_trajectory(state, options.trajectory(), data.sha256)
        mapper.load_state_dict(state["mapper"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, losses, train_s_before = int(state["step"]), list(state["losses"]), float(state["train_s"])
        echo(f"resuming from step {step} of {total_steps}")

    def snapshot(train_s: float) -> dict[str, Any]:
        return {
            "step": step,
            "mapper": mapper.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "losses": losses,
            "train_s": train_s,
            "trajectory": options.trajectory(),
            "catalog_sha256": data.sha256,
        }

    end = session_end(step, total_steps, options.stop_after_steps)
    labels = torch.arange(batch, device=device)
    order: np.ndarray | None = None
    mapper.train()
    loop_started = time.perf_counter()
    with tqdm(
        total=total_steps, initial=step, disable=not options.progress, desc="pic2word", unit="step"
    ) as bar:
        while step < end:
            epoch, within = divmod(step, steps_per_epoch)
            if order is None or within == 0:
                order = np.random.default_rng([options.seed, epoch]).permutation(n)
            rows = torch.from_numpy(order[within * batch : (within + 1) * batch]).to(device)
            torch.manual_seed(options.seed * _DROPOUT_STREAM + step)
            v = vectors[rows]
            words = mapper(v)
            text = encode_with_pseudo_word(
                pseudo.tower, tokens.expand(batch, -1), positions.expand(batch), words
            )
            logits = scale * v @ torch.nn.functional.normalize(text, dim=-1).T
            loss = (
                torch.nn.functional.cross_entropy(logits, labels)
                + torch.nn.functional.cross_entropy(logits.T, labels)
            ) / 2
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward untyped
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.item()))
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if step % options.save_every == 0 and step < end:
                save_train_state(
                    options.model,
                    snapshot(train_s_before + time.perf_counter() - loop_started),
                    PIC2WORD_STATE_NAME,
                )
    train_s = train_s_before + time.perf_counter() - loop_started
    save_train_state(options.model, snapshot(train_s), PIC2WORD_STATE_NAME)
    metrics = _self_retrieval(mapper, pseudo, vectors)
    mapper = mapper.cpu().eval()
    card = {
        "data": {
            "catalog": str(data.path.resolve()),
            "sha256": data.sha256,
            "rows": n,
            "skipped_rows": [s.as_json() for s in data.skipped],
        },
        "config": {
            "options": options.as_json(),
            "prompt": PIC2WORD_TRAIN_PROMPT,
            "pseudo_word_token_id": pseudo.token_id,
            "logit_scale": round(scale, 4),
            "batch_size": batch,
            "steps_per_epoch": steps_per_epoch,
            "total_steps": total_steps,
            "device": str(device),
        },
        "metrics": metrics,
        "training": {
            "steps": step,
            "complete": step >= total_steps,
            "loss_first": losses[0] if losses else None,
            "loss_last": losses[-1] if losses else None,
            "loss_curve": loss_curve(losses),
            "encode_s": round(encode_s, 3),
            "train_s": round(train_s, 3),
            "wall_s": round(time.perf_counter() - started, 3),
        },
        "command": list(command) if command is not None else None,
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }
    save_pic2word_mapper(options.model, mapper, prompt=PIC2WORD_TRAIN_PROMPT, card=card)
    return Pic2WordResult(mapper, step, total_steps, losses, card)
