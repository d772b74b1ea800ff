"""``open_session``: the encoder, its model and the store, opened together and closed in reverse
order, also when opening the store or the command fails; the store gets the model's identity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import plugin.encoder
import plugin.session.lifecycle
from plugin.session import Session, StoreSession, open_session
from plugin.settings import PluginSettings
from plugin.store import ProductRow, ProductStore
from plugin.store.fingerprint import model_identity
from plugin.store.lance.store import LanceStore
from schemas.errors import InvalidInputError, NotFoundError
from schemas.product import product_uuid
from schemas.wire import ModelMeta
from tests.support.fake_weaviate import FakeEncoder
from vectorizer_service import ServiceSettings
from vectorizer_service.runtime.folder_identity import WEIGHTS_FILES, weights_sha256

DIM = 8


class RecordingEncoder(FakeEncoder):
    """A fake encoder that says when it is closed, and can fail to close."""

    def __init__(
        self, events: list[str], *, name: str | None = None, weights: str = "", fail_close: bool = False
    ) -> None:
        super().__init__(dimension=DIM)
        self.events = events
        self.name = name
        self.weights = weights
        self.fail_close = fail_close
        self.closed = False

    def model_info(self) -> Any:
        meta = super().model_info().model_copy(update={"weights_sha256": self.weights})
        return meta if self.name is None else meta.model_copy(update={"name": self.name})

    def close(self) -> None:
        self.closed = True
        self.events.append("encoder closed")
        if self.fail_close:
            raise RuntimeError("the encoder would not close")


@pytest.fixture
def events() -> list[str]:
    return []


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch, events: list[str]) -> list[tuple[RecordingEncoder, bool]]:
    """``open_encoder`` replaced by the fake: each encoder it opened, with its compose_models."""
    encoders: list[tuple[RecordingEncoder, bool]] = []

    def fake_open_encoder(
        plugin: PluginSettings, service: ServiceSettings, *, compose_models: bool = True
    ) -> RecordingEncoder:
        encoder = RecordingEncoder(events)
        encoders.append((encoder, compose_models))
        return encoder

    monkeypatch.setattr(plugin.encoder, "open_encoder", fake_open_encoder)
    return encoders


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch, events: list[str]) -> list[dict[str, Any]]:
    """The real ``open_store`` behind a recorder: the arguments of each call; closes are events."""
    calls: list[dict[str, Any]] = []
    real = plugin.session.lifecycle.open_store

    def recording_open_store(settings: PluginSettings, **kwargs: Any) -> ProductStore:
        calls.append(kwargs)
        store = real(settings, **kwargs)
        close = store.close

        def recorded_close() -> None:
            events.append("store closed")
            close()

        store.close = recorded_close  # type: ignore[method-assign]  # record the close, then do it
        return store

    monkeypatch.setattr(plugin.session.lifecycle, "open_store", recording_open_store)
    return calls


@pytest.fixture(autouse=True)
def _no_store_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("GROUNDED_STORE", "GROUNDED_WEAVIATE_URL"):
        monkeypatch.delenv(name, raising=False)
    yield


def _settings(tmp_path: Path, **extra: Any) -> PluginSettings:
    return PluginSettings(data_dir=tmp_path / "data", collection="Products", **extra)


def test_a_session_opens_the_encoder_then_the_store_and_closes_them_in_reverse(
    tmp_path: Path,
    events: list[str],
    opened: list[tuple[RecordingEncoder, bool]],
    stores: list[dict[str, Any]],
) -> None:
    with open_session(_settings(tmp_path), ServiceSettings()) as session:
        assert isinstance(session, Session) and isinstance(session.store, LanceStore)
        assert session.encoder is opened[0][0]
        assert session.dimension == DIM
        assert events == []
    assert events == ["store closed", "encoder closed"]
    assert len(opened) == 1 and opened[0][1] is True  # compose models by default


def test_the_store_gets_the_models_dimension_and_identity(
    tmp_path: Path,
    events: list[str],
    opened: list[tuple[RecordingEncoder, bool]],
    stores: list[dict[str, Any]],
) -> None:
    with open_session(_settings(tmp_path), ServiceSettings(), compose_models=False) as session:
        session.store.create_collection()
    meta: ModelMeta = opened[0][0].model_info()
    assert stores == [{"dimension": DIM, "model": model_identity(meta), "weights_sha256": ""}]
    assert opened[0][1] is False
    # The table records the model: a session with another model of the same size is refused,
    # one with the same model is not.
    other = RecordingEncoder(events, name="another-model")
    with (
        open_session(_settings(tmp_path), ServiceSettings(), encoder=other) as session,
        pytest.raises(InvalidInputError, match="was built with the model"),
    ):
        session.store.count()
    with open_session(_settings(tmp_path), ServiceSettings()) as session:
        assert session.store.count() == 0


def test_a_model_folder_retrained_in_place_is_refused_by_the_store_it_built(
    tmp_path: Path, events: list[str], stores: list[dict[str, Any]]
) -> None:
    folder = tmp_path / "shop-model"
    folder.mkdir()
    weights_file = folder / WEIGHTS_FILES[0]
    weights_file.write_bytes(b"the first training")

    def encoder() -> RecordingEncoder:
        return RecordingEncoder(events, name=str(folder), weights=weights_sha256(folder) or "")

    with open_session(_settings(tmp_path), ServiceSettings(), encoder=encoder()) as session:
        session.store.create_collection()
        session.store.upsert([ProductRow(str(product_uuid("p1")), {"title": "Red dress"}, [1.0] + [0.0] * 7)])
    first = weights_sha256(folder)
    weights_file.write_bytes(b"the second training, same folder, same name")
    second = weights_sha256(folder)
    assert first and second and first != second
    with (
        open_session(_settings(tmp_path), ServiceSettings(), encoder=encoder()) as session,
        pytest.raises(InvalidInputError) as raised,
    ):
        session.store.search([1.0] + [0.0] * 7)
    assert f"built with the weights {first}" in str(raised.value)
    assert f"now holds {second}" in str(raised.value) and "grounded ingest --recreate" in str(raised.value)
    # The vector space string the stores and Weaviate compare did not change form.
    assert stores[0]["model"] == stores[1]["model"] and first not in stores[0]["model"]


def test_a_store_that_fails_to_open_still_closes_the_encoder(
    tmp_path: Path, events: list[str], opened: list[tuple[RecordingEncoder, bool]]
) -> None:
    with (
        pytest.raises(InvalidInputError, match="collection name"),
        open_session(PluginSettings(data_dir=tmp_path, collection="no spaces!"), ServiceSettings()),
    ):
        pytest.fail("the session opened")
    assert [e.closed for e, _ in opened] == [True]
    assert events == ["encoder closed"]


def test_a_failing_command_closes_both_and_its_error_is_not_masked(
    tmp_path: Path, events: list[str], stores: list[dict[str, Any]]
) -> None:
    encoder = RecordingEncoder(events, fail_close=True)
    with (
        pytest.raises(ValueError, match="the command failed"),
        open_session(_settings(tmp_path), ServiceSettings(), encoder=encoder),
    ):
        raise ValueError("the command failed")
    assert events == ["store closed", "encoder closed"]


def test_a_failure_to_close_after_success_is_raised(tmp_path: Path, events: list[str]) -> None:
    encoder = RecordingEncoder(events, fail_close=True)
    with (
        pytest.raises(RuntimeError, match="would not close"),
        open_session(_settings(tmp_path), ServiceSettings(), encoder=encoder),
    ):
        pass


def test_a_given_encoder_is_used_and_closed_like_an_opened_one(
    tmp_path: Path,
    events: list[str],
    opened: list[tuple[RecordingEncoder, bool]],
    stores: list[dict[str, Any]],
) -> None:
    encoder = RecordingEncoder(events)
    with open_session(_settings(tmp_path), ServiceSettings(), encoder=encoder) as session:
        assert session.encoder is encoder
    assert opened == []  # no second model loaded
    assert events == ["store closed", "encoder closed"]
    # Also when the store cannot open.
    failing = RecordingEncoder(events)
    with (
        pytest.raises(InvalidInputError),
        open_session(_settings(tmp_path, store="weaviate"), ServiceSettings(), encoder=failing),
    ):
        pytest.fail("the session opened")
    assert failing.closed


def test_weaviate_without_a_url_fails_before_a_model_loads(
    tmp_path: Path, opened: list[tuple[RecordingEncoder, bool]]
) -> None:
    with (
        pytest.raises(InvalidInputError, match=r"GROUNDED_STORE.*weaviate_url is not set"),
        open_session(_settings(tmp_path, store="weaviate"), ServiceSettings()),
    ):
        pytest.fail("the session opened")
    assert opened == []


def test_without_a_model_the_embedded_table_opens_at_its_own_size(
    tmp_path: Path, opened: list[tuple[RecordingEncoder, bool]]
) -> None:
    settings = _settings(tmp_path)
    with (
        pytest.raises(NotFoundError, match="run `grounded ingest` first"),
        open_session(settings, ServiceSettings(), load_model=False),
    ):
        pytest.fail("the session opened")
    table = LanceStore(settings.data_dir, dimension=12, collection=settings.collection)
    table.create_collection()
    table.close()
    with open_session(settings, ServiceSettings(), load_model=False) as session:
        assert isinstance(session, StoreSession)
        assert session.dimension == 12 and session.encoder is None and session.model is None
        assert session.store.count() == 0
    assert opened == []


def test_a_store_session_without_a_recorded_size_says_so() -> None:
    session = StoreSession(store=None, stored_dimension=None)  # type: ignore[arg-type]  # not used
    with pytest.raises(RuntimeError, match="open the session with the model"):
        _ = session.dimension
