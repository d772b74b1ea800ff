"""A memory budget for decoded pixels, shared by every request of one engine.

Encoded images are small; decoded ones are not. A 677-byte JPEG whose header claims 6000 x 6000
pixels decodes to 108 MB of RGB, and the model's preprocessing of it to several times that, so
the bytes a request carries say nothing about the memory it costs. The pixels it will decode do,
and they are known from the image header before any pixel is allocated.

Each decode reserves its pixels (the size it will decode to, after any reduced-scale JPEG
decoding) before it allocates them, keeps only those of the reduced image it returns, and gives
those back when the decoded image is no longer held: after the model's preprocessing for
``/vectorize``, at the end of the pipeline for a composed query. When a reservation would take
the pixels in flight over the budget, the request fails at once with
:class:`~schemas.errors.OverloadedError` (HTTP 429 with ``Retry-After``, gRPC
``RESOURCE_EXHAUSTED``): memory stays bounded whatever the request mix, and a client retries
later instead of the process being killed.

Thread-safe: reservations are made in the decode threads and released from the event loop.
"""

from __future__ import annotations

import threading
from types import TracebackType

from schemas.errors import InvalidInputError, OverloadedError

__all__ = ["Admission", "PixelBudget"]


class PixelBudget:
    """At most ``capacity`` decoded pixels held at once; ``capacity`` 0 or ``None`` turns the
    budget off (every reservation succeeds, and is still counted in :attr:`peak`)."""

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity or None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._peak = 0
        self.refused = 0
        """Reservations refused because the budget was spent (the overload count)."""

    @property
    def in_flight(self) -> int:
        """Decoded pixels reserved right now."""
        return self._in_flight

    @property
    def peak(self) -> int:
        """The most pixels ever reserved at once (tests and benchmarks read it)."""
        return self._peak

    def admission(self) -> Admission:
        """A holder of reservations: everything it reserved is released when it is closed
        (use it as a context manager around the lifetime of the decoded images)."""
        return Admission(self)

    def _reserve(self, pixels: int) -> None:
        with self._lock:
            if self.capacity is not None and pixels > self.capacity:
                # Never admissible, however idle the service: the caller's error, not overload.
                raise InvalidInputError(
                    f"image decodes to {pixels} pixels, more than the service's whole decoded-pixel "
                    f"budget of {self.capacity} (GROUNDED_PIXEL_BUDGET)"
                )
            if self.capacity is not None and self._in_flight + pixels > self.capacity:
                self.refused += 1
                raise OverloadedError(
                    f"the service is decoding {self._in_flight} pixels, and this image's {pixels} "
                    f"would exceed its budget of {self.capacity}; retry shortly"
                )
            self._in_flight += pixels
            self._peak = max(self._peak, self._in_flight)

    def _release(self, pixels: int) -> None:
        with self._lock:
            self._in_flight -= pixels


class Admission:
    """The pixels one request (or one image of it) holds; :meth:`admit` adds to them, closing
    releases them all. Closing twice is harmless."""

    def __init__(self, budget: PixelBudget) -> None:
        self._budget = budget
        self._held = 0
        self._last = 0
        self._closed = False
        self._lock = threading.Lock()

    def admit(self, pixels: int) -> None:
        """Reserve ``pixels`` more; raises :class:`OverloadedError` when the budget is spent
        (nothing is reserved then)."""
        with self._lock:
            if self._closed:
                # The request was cancelled while its decode was queued: reserve nothing that
                # nobody would give back.
                raise OverloadedError("the request ended before its image was decoded")
            self._budget._reserve(pixels)
            self._held += pixels
            self._last = pixels

    def keep(self, pixels: int) -> None:
        """The image last admitted holds only ``pixels`` now (it was reduced after decoding):
        give the rest back to the budget."""
        with self._lock:
            surplus = max(0, self._last - pixels)
            self._held -= surplus
            self._last -= surplus
        if surplus:
            self._budget._release(surplus)

    def close(self) -> None:
        """Give back everything this admission holds."""
        with self._lock:
            held, self._held, self._closed = self._held, 0, True
        if held:
            self._budget._release(held)

    def __enter__(self) -> Admission:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
