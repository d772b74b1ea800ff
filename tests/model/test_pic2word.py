"""Pic2Word on a tiny open_clip model: the pseudo-word enters the text tower where the prompt puts
it and only there, the mapper learns on a tiny catalog, saves, loads and resumes exactly, and the
service answers a pic2word query with the vector the in-process computation gives."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import torch
from PIL import Image

from plugin.cli import main
from plugin.training.model_source import load_starting_model
from plugin.training.pic2word import Pic2WordResult, train_pic2word
from plugin.training.pic2word_options import PIC2WORD_STATE_NAME, Pic2WordOptions
from schemas import grounded_pb2 as pb
from schemas.errors import InvalidInputError, ModelUnavailableError
from tests.support.service import b64, grpc_stub, http_client, image_bytes, service_settings
from tests.support.training_catalog import write_catalog
from vectorizer_service import (
    PIC2WORD_CONFIG_FILE,
    PIC2WORD_WEIGHTS_FILE,
    PseudoWordText,
    encode_with_pseudo_word,
    load_pic2word_mapper,
)
from vectorizer_service.compose.fake import FakeCaptioner
from vectorizer_service.engine import Engine
from vectorizer_service.runtime import TINY_OPEN_CLIP_CONFIG, load_embedder, save_random_open_clip
from vectorizer_service.runtime.folder_identity import weights_sha256
from vectorizer_service.settings import ServiceSettings


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(tmp_path_factory.mktemp("catalog"), copies=2)  # 24 products


def _model_folder(root: Path) -> Path:
    save_random_open_clip(TINY_OPEN_CLIP_CONFIG, root / "model", seed=3)
    return root / "model"


def _options(catalog: Path, model: Path, **overrides: Any) -> Pic2WordOptions:
    base = Pic2WordOptions(
        catalog=catalog, model=model, epochs=6, batch_size=8, warmup_steps=2, device="cpu", progress=False
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture(scope="module")
def trained(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Pic2WordResult]:
    model = _model_folder(tmp_path_factory.mktemp("trained"))
    # A high learning rate: a few steps on 24 images must show the loss falling.
    return model, train_pic2word(_options(catalog, model, epochs=10, lr=3e-3), command=["test"])


@pytest.fixture(scope="module")
def text_side(trained: tuple[Path, Pic2WordResult]) -> tuple[Any, PseudoWordText]:
    starting = load_starting_model(str(trained[0]), "", offline=True)
    model = starting.model.eval()
    return model, PseudoWordText(model, starting.tokenizer)


def test_the_star_token_s_own_embedding_gives_encode_text_exactly(
    text_side: tuple[Any, PseudoWordText],
) -> None:
    model, pseudo = text_side
    prompts = ["a photo of * , in blue", "a photo of *", "* with red stripes and a long title here"]
    tokens, positions = pseudo.tokenize(prompts)
    own = model.token_embedding.weight[pseudo.token_id].expand(len(prompts), -1)
    with torch.no_grad():
        full = encode_with_pseudo_word(pseudo.tower, tokens, positions, own, trim=False)
        trimmed = encode_with_pseudo_word(pseudo.tower, tokens, positions, own)
        assert torch.equal(full, model.encode_text(tokens))
    torch.testing.assert_close(trimmed, full, atol=1e-5, rtol=1e-5)


def test_the_token_lands_where_the_prompt_puts_it_and_only_that_slot_counts(
    text_side: tuple[Any, PseudoWordText],
) -> None:
    _, pseudo = text_side
    tokens, positions = pseudo.tokenize(["a photo of * , in blue", "* in blue"])
    assert positions.tolist() == [4, 1]  # after the start token: a, photo, of, *
    assert tokens[0, 4] == tokens[1, 1] == pseudo.token_id
    word = torch.randn(2, pseudo.token_width, generator=torch.Generator().manual_seed(0))
    other = tokens.clone()
    other[0, 4] = other[1, 1] = pseudo.tokenizer(["dog"])[0, 1]  # another word in the slot
    with torch.no_grad():
        injected = encode_with_pseudo_word(pseudo.tower, tokens, positions, word)
        same = encode_with_pseudo_word(pseudo.tower, other, positions, word)
        moved = encode_with_pseudo_word(pseudo.tower, tokens, positions, word.flip(1))
    torch.testing.assert_close(same, injected, atol=0, rtol=0)  # the slot's own token is ignored
    assert not torch.allclose(moved, injected, atol=1e-4)  # and the injected vector is read
    with pytest.raises(InvalidInputError, match="no standalone"):
        pseudo.tokenize(["a photo of *, in blue"])  # '*,' is one other token


def test_the_loss_falls_and_the_card_says_how(trained: tuple[Path, Pic2WordResult]) -> None:
    folder, result = trained
    assert result.complete and result.total_steps == 10 * (24 // 8)
    first, last = np.mean(result.losses[:3]), np.mean(result.losses[-3:])
    assert last < first - 0.2, (first, last)
    saved = json.loads((folder / PIC2WORD_CONFIG_FILE).read_text())
    assert saved["prompt"] == "a photo of *" and saved["mapper"]["token_width"] == 32
    card = saved["card"]
    assert card["data"]["rows"] == 24 and card["command"] == ["test"]
    assert card["training"]["steps"] == result.steps and card["training"]["train_s"] > 0


def test_the_saved_mapper_loads_exactly(trained: tuple[Path, Pic2WordResult]) -> None:
    folder, result = trained
    loaded = load_pic2word_mapper(folder)
    assert loaded is not None
    for key, value in result.mapper.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_same_seed_same_losses_and_resume_ends_with_the_same_mapper(catalog: Path, tmp_path: Path) -> None:
    whole_dir, split_dir = _model_folder(tmp_path / "whole"), _model_folder(tmp_path / "split")
    whole = train_pic2word(_options(catalog, whole_dir))
    first = train_pic2word(_options(catalog, split_dir, stop_after_steps=7))
    assert not first.complete and (split_dir / PIC2WORD_STATE_NAME).is_file()
    resumed = train_pic2word(_options(catalog, split_dir, resume=True))
    assert resumed.losses == whole.losses
    for key, value in whole.mapper.state_dict().items():
        assert torch.equal(resumed.mapper.state_dict()[key], value), key
    with pytest.raises(InvalidInputError, match="lr"):
        train_pic2word(_options(catalog, split_dir, resume=True, lr=1e-3))


def test_cli_trains_into_the_model_folder(
    catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _model_folder(tmp_path)
    code = main(["train-pic2word", str(catalog), "--model", str(model), "--epochs", "1", "--batch-size", "8",
                 "--device", "cpu", "--no-progress", "--offline"])  # fmt: skip
    assert code == 0
    assert (model / PIC2WORD_WEIGHTS_FILE).is_file()
    assert "mapper:" in capsys.readouterr().out
    assert main(["train-pic2word", str(catalog), "--model", str(tmp_path / "nothing")]) == 2


def _engine(model: Path) -> Engine:
    settings = service_settings(
        model=str(model), backend="open_clip", device="cpu", offline=True, captioner="attributes"
    )
    return Engine(settings, captioner=FakeCaptioner(), load_compose_models=False)


async def test_a_served_pic2word_query_equals_the_in_process_computation(
    trained: tuple[Path, Pic2WordResult], text_side: tuple[Any, PseudoWordText]
) -> None:
    folder, result = trained
    photo = image_bytes((30, 160, 90), (40, 40))
    embedder: Any = load_embedder(ServiceSettings(model=str(folder), device="cpu", offline=True))
    v = embedder.encode_images([Image.open(io.BytesIO(photo)).convert("RGB")])
    _, pseudo = text_side
    with torch.no_grad():
        text = pseudo.encode(["a photo of * , in blue"], result.mapper.eval()(torch.from_numpy(v)))
    want = torch.nn.functional.normalize(text, dim=-1)[0].numpy()
    options = {"fusion_method": "pic2word"}
    engine = _engine(folder)
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        http = await client.post(
            "/compose", json={"image": b64(photo), "text": "in blue", "options": options}
        )
        over_grpc = await stub.ComposeQuery(
            pb.ComposeQueryRequest(image=photo, text="in blue", options=pb.ComposeOptions(**options))
        )
        captioned = await client.post(
            "/compose",
            json={"image": b64(photo), "text": "in blue", "options": {"fusion_method": "pic2word_caption"}},
        )
    assert http.status_code == 200, http.text
    np.testing.assert_allclose(http.json()["vector"], want, atol=1e-5)
    np.testing.assert_allclose(list(over_grpc.vector), want, atol=1e-5)
    explanation = http.json()["explanation"]
    assert (
        explanation["fusion_method"] == "pic2word" and explanation["fused_text"] == "a photo of * , in blue"
    )
    assert captioned.status_code == 200, captioned.text
    fused = captioned.json()["explanation"]["fused_text"]
    assert fused.startswith("a photo of ") and fused.endswith(" like * , in blue")


async def test_a_served_ensemble_is_the_sum_of_its_served_parts(
    trained: tuple[Path, Pic2WordResult],
) -> None:
    folder, _ = trained
    photo = b64(image_bytes((30, 160, 90), (40, 40)))
    engine = _engine(folder)

    async def compose(client: Any, **options: Any) -> dict[str, Any]:
        answer = await client.post("/compose", json={"image": photo, "text": "in blue", "options": options})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        served = await compose(client, fusion_method="ensemble")
        over_grpc = await stub.ComposeQuery(
            pb.ComposeQueryRequest(
                image=image_bytes((30, 160, 90), (40, 40)),
                text="in blue",
                options=pb.ComposeOptions(fusion_method="ensemble"),
            )
        )
        word = await compose(client, fusion_method="pic2word")
        fused = await compose(client, fusion_method="image_anchor", image_weight=0.0)
        change = await client.post("/vectorize", json={"texts": ["in blue"]})
    p, f, m = (
        np.asarray(v, dtype=np.float64)
        for v in (word["vector"], fused["vector"], change.json()["textVectors"][0])
    )
    mixed = p / np.linalg.norm(p) + 0.5 * f / np.linalg.norm(f) + 0.25 * m / np.linalg.norm(m)
    np.testing.assert_allclose(served["vector"], mixed / np.linalg.norm(mixed), atol=1e-5)
    np.testing.assert_allclose(list(over_grpc.vector), served["vector"], atol=1e-6)
    assert fused["explanation"]["fused_text"] in next(
        t["note"] for t in served["explanation"]["timings"] if t["stage"] == "embedding"
    )


async def test_without_a_mapper_a_pic2word_query_names_the_file_and_the_command(tmp_path: Path) -> None:
    model = _model_folder(tmp_path)
    engine = _engine(model)
    options = {"fusion_method": "pic2word"}
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        http = await client.post(
            "/compose", json={"image": b64(image_bytes()), "text": "x", "options": options}
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ComposeQuery(pb.ComposeQueryRequest(text="x", options=pb.ComposeOptions(**options)))
    assert http.status_code == 400
    error = http.json()["error"]
    assert str(model / PIC2WORD_WEIGHTS_FILE) in error and "grounded train-pic2word" in error
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_the_auto_default_is_the_ensemble_with_the_pic2word_term_only_with_a_mapper(
    trained: tuple[Path, Pic2WordResult], tmp_path: Path
) -> None:
    folder, _ = trained
    photo = b64(image_bytes((30, 160, 90), (40, 40)))
    for model, with_word in ((folder, True), (_model_folder(tmp_path), False)):
        engine = _engine(model)
        assert engine.settings.fusion_method == "auto"
        async with http_client(engine) as client:
            answer = await client.post("/compose", json={"image": photo, "text": "in blue"})
        assert answer.status_code == 200, answer.text
        assert engine.settings.fusion_method == "ensemble"
        explanation = answer.json()["explanation"]
        assert explanation["fusion_method"] == "ensemble"
        note = next(t["note"] for t in explanation["timings"] if t["stage"] == "embedding")
        assert ("with * = mapper(image vector)" in note) is with_word
        assert ("no Pic2Word term: no Pic2Word mapper loaded" in note) is not with_word


async def test_a_mapper_trained_for_other_weights_is_refused_and_auto_falls_back(
    trained: tuple[Path, Pic2WordResult], tmp_path: Path
) -> None:
    import shutil

    folder = tmp_path / "retrained"
    shutil.copytree(trained[0], folder)
    recorded = json.loads((folder / PIC2WORD_CONFIG_FILE).read_text())["model_weights_sha256"]
    assert recorded == weights_sha256(folder)
    assert load_pic2word_mapper(folder) is not None
    # The model is retrained after the mapper (other weights, same shapes): the mapper would load
    # and read vectors it never saw. It is refused, naming the command that fixes it.
    save_random_open_clip(TINY_OPEN_CLIP_CONFIG, folder, seed=4)
    with pytest.raises(ModelUnavailableError, match="trained for other CLIP weights") as refused:
        load_pic2word_mapper(folder)
    assert f"grounded train-pic2word CATALOG --model {folder}" in str(refused.value)
    engine = _engine(folder)
    async with http_client(engine) as client:
        answer = await client.post("/compose", json={"image": b64(image_bytes()), "text": "in blue"})
    assert answer.status_code == 200, answer.text
    explanation = answer.json()["explanation"]
    assert explanation["fusion_method"] == "ensemble"  # without its Pic2Word term
    note = next(t["note"] for t in explanation["timings"] if t["stage"] == "embedding")
    assert "no Pic2Word term" in note and "trained for other CLIP weights" in note
