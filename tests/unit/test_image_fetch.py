"""Image URLs: limits, timeouts and refusal of private addresses (also behind redirects)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from plugin.ingest.image_fetch import ImageFetcher, check_public_host
from plugin.settings import PluginSettings
from schemas.errors import InvalidInputError, UpstreamError

PUBLIC = {
    "img.example.com": ["93.184.216.34"],
    "evil.example.com": ["93.184.216.35", "10.0.0.5"],
    "metadata.example.com": ["169.254.169.254"],
    "v6.example.com": ["::ffff:127.0.0.1"],
}


def resolver(host: str) -> list[str]:
    return PUBLIC[host]


def handler(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/ok.png":
        return httpx.Response(200, content=b"PNGDATA")
    if path == "/big.png":
        return httpx.Response(200, content=b"x" * 2000)
    if path == "/to-internal":
        return httpx.Response(302, headers={"location": "http://metadata.example.com/latest"})
    if path == "/to-ok":
        return httpx.Response(301, headers={"location": "/ok.png"})
    if path == "/slow":
        raise httpx.ReadTimeout("slow", request=request)
    return httpx.Response(404)


def fetcher(tmp_path: Path | None = None, **kwargs: object) -> ImageFetcher:
    settings = PluginSettings(max_image_download_bytes=1000, **kwargs)  # type: ignore[arg-type]
    return ImageFetcher(
        settings,
        image_dir=tmp_path,
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        resolver=resolver,
    )


def test_public_url_is_fetched_and_redirects_followed() -> None:
    f = fetcher()
    assert f.load("https://img.example.com/ok.png") == b"PNGDATA"
    assert f.load("https://img.example.com/to-ok") == b"PNGDATA"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/ok.png",
        "http://[::1]/ok.png",
        "http://10.1.2.3/ok.png",
        "http://evil.example.com/ok.png",
        "http://metadata.example.com/ok.png",
        "http://v6.example.com/ok.png",
        "http://0.0.0.0/ok.png",
        "http://img.example.com/to-internal",
    ],
)
def test_private_loopback_and_reserved_addresses_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError, match="refusing to fetch"):
        fetcher().load(url)


def test_private_addresses_can_be_allowed() -> None:
    assert fetcher(allow_private_image_urls=True).load("http://10.1.2.3/ok.png") == b"PNGDATA"


def test_size_limit_and_timeout_and_status() -> None:
    f = fetcher()
    with pytest.raises(InvalidInputError, match="over the 1000-byte limit"):
        f.load("https://img.example.com/big.png")
    with pytest.raises(UpstreamError, match="timed out"):
        f.load("https://img.example.com/slow")
    with pytest.raises(UpstreamError, match="HTTP 404"):
        f.load("https://img.example.com/nothing")
    with pytest.raises(InvalidInputError, match="not an http"):
        f.fetch("ftp://img.example.com/x.png")


def test_files_must_stay_inside_the_image_folder(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"A")
    f = fetcher(tmp_path)
    assert f.load("a.png") == b"A"
    with pytest.raises(InvalidInputError, match="leaves the image folder"):
        f.load("../secret")
    with pytest.raises(InvalidInputError, match="not found"):
        f.load("missing.png")


def test_a_link_out_of_the_image_folder_is_refused_and_named(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.png").write_bytes(b"B")
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "inside.png").write_bytes(b"I")
    (folder / "link-in.png").symlink_to(folder / "inside.png")
    (folder / "link-out.png").symlink_to(tmp_path / "elsewhere" / "b.png")
    f = fetcher(folder)
    assert f.load("link-in.png") == b"I"  # a link that stays inside is followed
    with pytest.raises(
        InvalidInputError, match=r"'link-out.png' is a symbolic link to .*outside the image folder"
    ):
        f.load("link-out.png")


def test_check_public_host_checks_every_address() -> None:
    check_public_host("img.example.com", resolver)
    with pytest.raises(InvalidInputError, match=r"10\.0\.0\.5"):
        check_public_host("evil.example.com", resolver)
