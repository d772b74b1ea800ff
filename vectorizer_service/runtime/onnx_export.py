"""Export a loaded open_clip or transformers CLIP model to the onnx backend's folder layout.

Needs torch (the ``torch`` extra) and the ``onnx`` package; serving the result needs neither.
The image graph takes ``pixel_values`` ``[batch, 3, H, W]``; the text graph takes
``input_ids`` (and ``attention_mask`` for transformers CLIP) ``[batch, sequence]``. Both axes are
dynamic, so a causal, end-of-text-pooled text tower still runs on batches trimmed to their
longest text (see :mod:`~vectorizer_service.runtime.text_trimming`), exactly as the torch backend does.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from schemas.errors import ModelUnavailableError
from vectorizer_service.runtime.loader import load_embedder
from vectorizer_service.runtime.onnx_manifest import (
    MANIFEST_FILE,
    ImagePreprocessSpec,
    OnnxManifest,
    TextSpec,
)
from vectorizer_service.runtime.random_marker import mark_random, random_weights_dir
from vectorizer_service.runtime.text_trimming import TrimmableTextTower
from vectorizer_service.settings import ServiceSettings

__all__ = ["export_onnx"]

log = logging.getLogger(__name__)

_OPSET = 17
_INTERPOLATIONS = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic"}
"""PIL resample codes (transformers' ``resample``) -> manifest names."""
_SAMPLE_TEXTS = ("a photo of a red dress", "a hat")
"""Trace inputs of different lengths, so nothing depends on one batch's shape."""


class _ImageTower(nn.Module):
    def __init__(self, owner: nn.Module, encode: Any) -> None:
        super().__init__()
        self._owner = owner  # registers the weights as parameters, not traced constants
        self._encode = encode

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        out = self._encode(pixel_values)
        return out if isinstance(out, torch.Tensor) else out.pooler_output


class _PlainAttention(nn.Module):
    """``nn.MultiheadAttention`` (self-attention, no weights returned) in plain tensor ops.

    torch's own implementation records the sequence length as a constant when traced, which
    would fix the text graph's length; this one reads every size from its input.
    """

    def __init__(self, attention: nn.MultiheadAttention) -> None:
        super().__init__()
        self._attention = attention

    def forward(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, **kwargs: Any
    ) -> tuple[torch.Tensor, None]:
        mha = self._attention
        x = query if mha.batch_first else query.transpose(0, 1)
        qkv = nn.functional.linear(x, mha.in_proj_weight, mha.in_proj_bias)
        q, k, v = (
            t.unflatten(-1, (mha.num_heads, -1)).transpose(1, 2)  # type: ignore[no-untyped-call]  # torch stub
            for t in qkv.chunk(3, dim=-1)
        )
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=kwargs.get("attn_mask"))
        out = mha.out_proj(out.transpose(1, 2).flatten(2))
        return (out if mha.batch_first else out.transpose(0, 1)), None


def _plain_attention(model: nn.Module) -> None:
    """Swap every self-attention module of ``model`` for :class:`_PlainAttention`, in place."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.MultiheadAttention) and child.in_proj_weight is not None:
                setattr(parent, name, _PlainAttention(child))


class _TrimmedOpenClipText(nn.Module):
    """The trimmed forward of :class:`TrimmableTextTower` on tokens already cut to the batch's
    longest text: the sequence length is read from the input, so it stays a dynamic axis."""

    def __init__(self, tower: TrimmableTextTower, owner: nn.Module) -> None:
        super().__init__()
        self._owner = owner  # keeps the tower's modules registered for the exporter
        self._tower = tower

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        tower = self._tower
        # Index with a tensor built from the input, not a Python slice: the tracer would record
        # a slice bound as a constant and fix the sequence length.
        steps = torch.ones_like(input_ids[0]).cumsum(0) - 1
        positions = tower.pool_positions(input_ids)
        cast_dtype = tower.positional_embedding.dtype
        x = tower.token_embedding(input_ids).to(cast_dtype)
        x = x + tower.positional_embedding.index_select(0, steps).to(cast_dtype)
        mask = tower.causal_mask.index_select(0, steps).index_select(1, steps)
        x = tower.transformer(x, attn_mask=mask)
        x = tower.ln_final(x)
        pooled: torch.Tensor = x[torch.arange(x.shape[0]), positions]
        if isinstance(tower.text_projection, nn.Module):
            projected: torch.Tensor = tower.text_projection(pooled)
            return projected
        if tower.text_projection is not None:
            pooled = pooled @ tower.text_projection
        return pooled


class _TextTower(nn.Module):
    def __init__(self, owner: nn.Module, encode: Any, names: tuple[str, ...]) -> None:
        super().__init__()
        self._owner = owner  # registers the weights as parameters, not traced constants
        self._encode = encode
        self._names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = self._encode(**dict(zip(self._names, inputs, strict=True)))
        return out if isinstance(out, torch.Tensor) else out.pooler_output


def _export(module: nn.Module, inputs: tuple[torch.Tensor, ...], names: tuple[str, ...], path: Path) -> None:
    axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in names}
    if names == ("pixel_values",):
        axes = {"pixel_values": {0: "batch"}}
    axes["features"] = {0: "batch"}
    # nn.MultiheadAttention's fused inference path has no ONNX form; trace the plain ops.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        torch.onnx.export(
            module.eval(),
            inputs,
            str(path),
            input_names=list(names),
            output_names=["features"],
            dynamic_axes=axes,
            opset_version=_OPSET,
            dynamo=False,
        )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def export_onnx(settings: ServiceSettings, out_dir: Path) -> OnnxManifest:
    """Load ``settings``' model on the CPU in fp32 through the production loader and write
    ``image.onnx``, ``text.onnx``, ``tokenizer.json`` and ``grounded-onnx.json`` to ``out_dir``.

    Raises :class:`~schemas.errors.ModelUnavailableError` for a model whose preprocessing or
    tokenizer has no torch-free equivalent here (e.g. SigLIP's SentencePiece tokenizer).
    """
    if settings.backend == "onnx" or (Path(settings.model).expanduser() / MANIFEST_FILE).is_file():
        raise ModelUnavailableError("export-onnx needs a torch backend model (open_clip or transformers)")
    settings = settings.model_copy(update={"device": "cpu", "precision": "fp32"})
    embedder: Any = load_embedder(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    if settings.backend == "open_clip":
        manifest = _export_open_clip(embedder, settings, out_dir)
    else:
        manifest = _export_transformers(embedder, settings, out_dir)
    # The temperature travels too: tags and captions keep their calibrated confidences.
    manifest = manifest.model_copy(update={"logit_scale": embedder.logit_scale})
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
    random_source = random_weights_dir(settings.model, settings.pretrained)
    if random_source is not None:
        # The export is the same random model: serving it must warn just the same.
        mark_random(out_dir, f"exported from {random_source}")
    log.info("exported %s to %s", settings.model, out_dir)
    return manifest


def _image_input(spec: ImagePreprocessSpec) -> torch.Tensor:
    return torch.randn(2, 3, *spec.crop)


def _export_open_clip(embedder: Any, settings: ServiceSettings, out_dir: Path) -> OnnxManifest:
    from open_clip.tokenizer import SimpleTokenizer

    model = embedder._model  # the loader built it; export reads it, never changes it
    tokenizer = embedder._tokenizer
    if not isinstance(tokenizer, SimpleTokenizer) or tokenizer.vocab_size != 49408:
        raise ModelUnavailableError(
            f"export-onnx: open_clip model {settings.model!r} uses a {type(tokenizer).__name__}; "
            "only the CLIP BPE tokenizer is supported"
        )
    image_spec = _open_clip_image_spec(embedder._preprocess)
    _plain_attention(model)  # the loaded model is export's own: nothing else uses it
    _export(
        _ImageTower(model, model.encode_image),
        (_image_input(image_spec),),
        ("pixel_values",),
        out_dir / "image.onnx",
    )
    _clip_bpe_tokenizer().save(str(out_dir / "tokenizer.json"))
    context = int(tokenizer.context_length)
    tower: TrimmableTextTower | None = embedder._tower
    if tower is not None:
        tokens = tokenizer(list(_SAMPLE_TEXTS))
        sample = tokens[:, : int(tower.pool_positions(tokens).max()) + 1]
        _export(_TrimmedOpenClipText(tower, model), (sample,), ("input_ids",), out_dir / "text.onnx")
    else:
        _export(
            _TextTower(model, model.encode_text, ("text",)),
            (tokenizer(list(_SAMPLE_TEXTS)),),
            ("input_ids",),
            out_dir / "text.onnx",
        )
    text_spec = TextSpec(
        context_length=context, pad_id=0, padding="longest" if tower is not None else "max_length"
    )
    return OnnxManifest(
        name=settings.model,
        source_backend="open_clip",
        # The source's own tag, as its model record has it: a local folder or hub model carries
        # its weights and records none, so the export names the same vector space as its source.
        pretrained=embedder.info.pretrained,
        dimension=embedder.info.dimension,
        image=image_spec,
        text=text_spec,
    )


def _clip_bpe_tokenizer() -> Any:
    """open_clip's CLIP BPE vocabulary as a ``tokenizers`` Tokenizer (transformers' conversion)."""
    from transformers import CLIPTokenizer

    from vectorizer_service.runtime.random_weights import clip_bpe_vocab_and_merges

    vocab, merges = clip_bpe_vocab_and_merges()
    pairs = [(a, b) for a, b in (m.split() for m in merges)]
    tokenizer = CLIPTokenizer(vocab=vocab, merges=pairs)  # type: ignore[arg-type]  # pairs are accepted
    return tokenizer.backend_tokenizer


def _open_clip_image_spec(preprocess: Any) -> ImagePreprocessSpec:
    from torchvision import transforms as tv

    steps = list(getattr(preprocess, "transforms", []))
    resize = next((s for s in steps if isinstance(s, tv.Resize)), None)
    crop = next((s for s in steps if isinstance(s, tv.CenterCrop)), None)
    norm = next((s for s in steps if isinstance(s, tv.Normalize)), None)
    known = (tv.Resize, tv.CenterCrop, tv.Normalize)
    other = [type(s).__name__ for s in steps if not isinstance(s, known)]
    unsupported = [name for name in other if name not in ("MaybeConvertMode", "MaybeToTensor", "ToTensor")]
    if resize is None or crop is None or norm is None or unsupported:
        raise ModelUnavailableError(f"export-onnx: unsupported open_clip preprocessing {preprocess}")
    crop_size = (int(crop.size[0]), int(crop.size[1]))
    size = resize.size
    square = isinstance(size, list | tuple) and len(size) == 2
    return ImagePreprocessSpec(
        resize="square" if square else "shortest",
        size=int(size[0] if isinstance(size, list | tuple) else size),
        crop=crop_size,
        crop_rounding="torchvision",
        interpolation=resize.interpolation.value,
        mean=tuple(float(v) for v in norm.mean),  # type: ignore[arg-type]  # three floats
        std=tuple(float(v) for v in norm.std),  # type: ignore[arg-type]
    )


def _export_transformers(embedder: Any, settings: ServiceSettings, out_dir: Path) -> OnnxManifest:
    model = embedder._model
    processor = embedder._processor
    backend_tokenizer = getattr(processor.tokenizer, "backend_tokenizer", None)
    if backend_tokenizer is None:
        raise ModelUnavailableError(
            f"export-onnx: {settings.model!r} uses a {type(processor.tokenizer).__name__} with no "
            "`tokenizers` form (e.g. SigLIP's SentencePiece); not supported yet"
        )
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")  # traces to plain ops on every opset
    image_spec = _transformers_image_spec(processor.image_processor)
    _export(
        _ImageTower(model, lambda pixel_values: model.get_image_features(pixel_values=pixel_values)),
        (_image_input(image_spec),),
        ("pixel_values",),
        out_dir / "image.onnx",
    )
    trim = bool(embedder.info.text_trimming)
    names: tuple[str, ...] = (
        ("input_ids",) if embedder._model_type == "siglip" else ("input_ids", "attention_mask")
    )
    context = int(embedder.info.context_length)
    encoded = processor.tokenizer(
        list(_SAMPLE_TEXTS),
        padding="longest" if trim else "max_length",
        truncation=True,
        max_length=context,
        return_tensors="pt",
    )
    sample = tuple(encoded[name] for name in names)
    _export(_TextTower(model, model.get_text_features, names), sample, names, out_dir / "text.onnx")
    backend_tokenizer.save(str(out_dir / "tokenizer.json"))
    text_spec = TextSpec(
        context_length=context,
        pad_id=int(processor.tokenizer.pad_token_id or 0),
        padding="longest" if trim else "max_length",
        inputs=names,  # type: ignore[arg-type]  # the two names the manifest allows
    )
    return OnnxManifest(
        name=settings.model,
        source_backend="transformers",
        dimension=embedder.info.dimension,
        image=image_spec,
        text=text_spec,
    )


def _transformers_image_spec(image_processor: Any) -> ImagePreprocessSpec:
    size = dict(image_processor.size)
    resample = int(getattr(image_processor, "resample", 3))
    mean = tuple(float(v) for v in image_processor.image_mean)
    std = tuple(float(v) for v in image_processor.image_std)
    interpolation = _INTERPOLATIONS.get(resample)
    # transformers 5's default processors resize uint8 tensors with torchvision; PilBackend ones with PIL.
    torchvision = any(c.__name__ == "TorchvisionBackend" for c in type(image_processor).__mro__)
    resampler = "torchvision_uint8" if torchvision else "pil"
    if resampler == "torchvision_uint8" and interpolation not in ("bicubic", "bilinear"):
        raise ModelUnavailableError(f"export-onnx: unsupported torchvision resample {interpolation}")
    if interpolation is None or not image_processor.do_normalize or not image_processor.do_rescale:
        raise ModelUnavailableError(f"export-onnx: unsupported image processor {image_processor}")
    if "shortest_edge" in size and getattr(image_processor, "do_center_crop", False):
        crop = dict(image_processor.crop_size)
        return ImagePreprocessSpec(
            resize="shortest",
            size=int(size["shortest_edge"]),
            crop=(int(crop["height"]), int(crop["width"])),
            crop_rounding="transformers",
            interpolation=interpolation,  # type: ignore[arg-type]
            resampler=resampler,  # type: ignore[arg-type]
            mean=mean,  # type: ignore[arg-type]
            std=std,  # type: ignore[arg-type]
        )
    if "height" in size and "width" in size:
        return ImagePreprocessSpec(
            resize="square",
            size=int(size["height"]),
            crop=(int(size["height"]), int(size["width"])),
            interpolation=interpolation,  # type: ignore[arg-type]
            resampler=resampler,  # type: ignore[arg-type]
            mean=mean,  # type: ignore[arg-type]
            std=std,  # type: ignore[arg-type]
        )
    raise ModelUnavailableError(f"export-onnx: unsupported image processor size {size}")
