"""Loading catalog images: files under the image folder, or http(s) URLs fetched with limits.

URL fetching is the part of ingestion that reaches out on a catalog author's say-so, so it is
defensive: a total deadline per download (``image_fetch_timeout_s`` for connecting, headers,
redirects and body together, not per read: a server sending one byte every 2 s never trips a
per-read timeout), a byte limit enforced while streaming (not trusting
Content-Length), no redirects followed blindly, and every address a host name resolves to must be
public unless ``allow_private_image_urls`` is set - checked again on each redirect hop, so a public
URL cannot bounce the fetcher into the local network or a cloud metadata endpoint.

Known limit: the address is checked when resolved, and httpx resolves again when connecting; a
DNS server that answers differently within that window (DNS rebinding) is not defended against.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from plugin.settings import PluginSettings
from schemas.errors import InvalidInputError, UpstreamError

__all__ = ["MAX_REDIRECTS", "ImageFetcher", "check_public_host", "is_url"]

MAX_REDIRECTS = 5
_REDIRECT_CODES = (301, 302, 303, 307, 308)
_REF_SHOWN = 200
"""Characters of an image path or URL quoted in an error message."""

Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UpstreamError(f"cannot resolve {host}: {exc.strerror}") from exc
    except UnicodeError as exc:  # IDNA: an empty or over-long label, a character names cannot hold
        raise InvalidInputError(f"not a valid host name: {_shown(host)} ({exc})") from exc
    return sorted({str(info[4][0]) for info in infos})


def _shown(ref: str) -> str:
    return repr(ref if len(ref) <= _REF_SHOWN else ref[:_REF_SHOWN] + "...")


def is_url(ref: str) -> bool:
    return ref.lower().startswith(("http://", "https://"))


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _refused(ip.ipv4_mapped)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def check_public_host(host: str, resolver: Resolver = _resolve) -> None:
    """Raise :class:`InvalidInputError` unless every address ``host`` resolves to is public."""
    literal = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(literal))]
    except ValueError:  # a name, not an address literal
        addresses = resolver(host)
    if not addresses:
        raise UpstreamError(f"{host} resolves to no address")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if _refused(ip):
            raise InvalidInputError(
                f"refusing to fetch from {host} ({ip}): private, loopback or reserved address "
                "(set allow_private_image_urls to allow it)"
            )


class _Deadline:
    """Enforces one download's total time: when it passes, the connections opened for the
    download are shut down, which ends any read blocked on them at once.

    httpx only has per-operation timeouts. Its transport reports each new connection's socket
    through the ``trace`` request extension; that is where this finds the sockets to close.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


class ImageFetcher:
    """Loads image bytes for a catalog row's ``image`` value (path, URL or bytes)."""

    def __init__(
        self,
        settings: PluginSettings,
        *,
        image_dir: Path | None = None,
        client: httpx.Client | None = None,
        resolver: Resolver = _resolve,
    ) -> None:
        self._settings = settings
        self._image_dir = image_dir.resolve() if image_dir is not None else None
        self._own_client = client is None
        # No kept-alive connections: each download opens its own, so the deadline can find and
        # close it (a pooled connection is not reported again).
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(settings.image_fetch_timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._resolver = resolver

    @property
    def max_image_pixels(self) -> int:
        """The largest image (width x height) ingestion accepts."""
        return self._settings.max_image_pixels

    def load(self, ref: str | bytes) -> bytes:
        """The encoded image file. Errors name the problem (not found, too large, refused ...);
        every failure is a :class:`GroundedError`, so it is the row's, never the import's."""
        if isinstance(ref, bytes):
            return ref
        if "\x00" in ref:
            # The OS cannot take one in a path (and a URL cannot hold one): ValueError there.
            raise InvalidInputError(f"image {_shown(ref)} contains a NUL character (\\x00)")
        try:
            return self.fetch(ref) if is_url(ref) else self._read_file(ref)
        # A path the OS refuses (too long, unreadable ...), a URL that does not parse.
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InvalidInputError(f"image {_shown(ref)} cannot be loaded: {reason}") from exc

    def _read_file(self, ref: str) -> bytes:
        if self._image_dir is None:
            raise InvalidInputError(f"image {ref!r} is a path, but no image folder was given")
        path = (self._image_dir / ref).resolve()
        # A catalog must not be able to read arbitrary files (../../etc/passwd) into the store.
        if not path.is_relative_to(self._image_dir):
            lexical = Path(os.path.normpath(self._image_dir / ref))
            if lexical.is_relative_to(self._image_dir):
                # Inside by name, outside once links are followed: whoever can add links to the
                # folder could otherwise point the import at any file the process may read.
                raise InvalidInputError(
                    f"image path {ref!r} is a symbolic link to {path}, outside the image folder "
                    f"{self._image_dir}: copy the file in, or point the image folder at where it lives"
                )
            raise InvalidInputError(f"image path {ref!r} leaves the image folder")
        if not path.is_file():
            raise InvalidInputError(f"image file not found: {ref}")
        size = path.stat().st_size
        if size > self._settings.max_image_download_bytes:
            raise InvalidInputError(f"image file {ref} is {size} bytes, over the limit")
        return path.read_bytes()

    def fetch(self, url: str) -> bytes:
        """Download ``url`` following at most :data:`MAX_REDIRECTS` checked redirects, all
        within ``image_fetch_timeout_s``."""
        limit_s = self._settings.image_fetch_timeout_s
        with _Deadline(limit_s) as deadline:
            try:
                return self._fetch(url, deadline)
            except UpstreamError:
                if deadline.expired:
                    raise UpstreamError(f"image URL {url} took longer than {limit_s:g} s") from None
                raise

    def _fetch(self, url: str, deadline: _Deadline) -> bytes:
        extensions = {"trace": deadline.trace}
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)  # ValueError for a malformed one (``http://[::1``): see load
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidInputError(f"not an http(s) image URL: {url}")
            if not self._settings.allow_private_image_urls:
                check_public_host(parts.hostname, self._resolver)
            try:
                with self._client.stream(
                    "GET", url, follow_redirects=False, extensions=extensions
                ) as response:
                    if response.status_code in _REDIRECT_CODES and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise UpstreamError(f"image URL {url} answered HTTP {response.status_code}")
                    return self._read_limited(url, response)
            except httpx.InvalidURL as exc:
                raise InvalidInputError(f"not a valid image URL: {_shown(url)} ({exc})") from exc
            except httpx.TimeoutException as exc:
                raise UpstreamError(f"image URL {url} timed out") from exc
            except httpx.HTTPError as exc:
                raise UpstreamError(f"image URL {url} failed: {exc}") from exc
        raise UpstreamError(f"image URL redirected more than {MAX_REDIRECTS} times")

    def _read_limited(self, url: str, response: httpx.Response) -> bytes:
        limit = self._settings.max_image_download_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise InvalidInputError(f"image URL {url} is {declared} bytes, over the {limit}-byte limit")
        chunks: list[bytes] = []
        total = 0
        # httpx's timeout is per read; a server dripping bytes must not hold the import forever.
        deadline = time.monotonic() + self._settings.image_fetch_timeout_s
        for chunk in response.iter_bytes():
            if time.monotonic() > deadline:
                raise UpstreamError(f"image URL {url} timed out while downloading")
            total += len(chunk)
            if total > limit:
                raise InvalidInputError(f"image URL {url} is over the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if self._own_client:
            self._client.close()
