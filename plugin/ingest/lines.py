"""The physical lines of a catalog file, read in bounded pieces.

``csv.reader`` and the JSONL loop pull lines from :class:`CatalogLines`. It numbers them, keeps
the lines of the row being read (its first line names the row in the report, and they can be
handed back to be read again), and refuses a row longer than its limit as soon as the limit is
reached: the rest of the row is skipped in small pieces, never held. So a 2 GB line costs what a
row at the limit costs, whatever the process-wide ``csv.field_size_limit`` says.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import NoReturn, TextIO

from schemas.errors import InvalidInputError

__all__ = ["CatalogLines", "RowTooLongError"]

_SKIP_PIECE = 64 * 1024
"""Characters read at a time while skipping the rest of a row that is over the limit."""
_LINE_ENDS = ("\n", "\r")


class RowTooLongError(InvalidInputError):
    """A row over the limit; it has been skipped (``first`` to ``last`` are its lines)."""

    def __init__(self, first: int, last: int, limit: int, head: list[str]) -> None:
        self.first = first
        self.last = last
        self.head = head
        """The row's text up to the limit (to name the column that was being read)."""
        skipped = f"; lines {first}-{last} skipped" if last > first else ""
        super().__init__(f"the row is over the {limit:,}-character limit{skipped}")


class CatalogLines:
    """An iterator over a text file's lines for one row at a time.

    Call :meth:`start_row` before each row; :attr:`row` then holds ``(line number, text)`` of the
    lines read for it. A row over ``max_row_chars`` raises :class:`RowTooLongError` once its
    remaining lines are skipped: with ``quotes`` (CSV) a row ends only at a line end outside
    double quotes (a quoted cell may span lines), otherwise at the end of its line.
    """

    def __init__(self, fh: TextIO, max_row_chars: int, *, quotes: bool) -> None:
        self._fh = fh
        self._limit = max_row_chars
        self._quotes = quotes
        self._number = 0
        self._partial = False
        """The last piece read from the file did not end its line."""
        self._again: deque[tuple[int, str]] = deque()
        self._row: list[tuple[int, str]] = []
        self._size = 0

    def __iter__(self) -> CatalogLines:
        return self

    @property
    def row(self) -> list[tuple[int, str]]:
        """``(line number, text)`` of each line read for the current row."""
        return self._row

    def start_row(self) -> None:
        self._row = []
        self._size = 0

    def again(self, lines: Sequence[tuple[int, str]]) -> None:
        """Read these lines again, before any further line of the file."""
        self._again.extendleft(reversed(lines))

    def __next__(self) -> str:
        if self._again:
            item: tuple[int, str] | None = self._again.popleft()
            cut = False  # lines read again are whole
        else:
            item = self._read(self._limit - self._size + 1)
            cut = self._partial
        if item is None:
            raise StopIteration
        self._row.append(item)
        self._size += len(item[1])
        if self._size > self._limit:
            self._skip_rest(cut)
        return item[1]

    def _read(self, size: int) -> tuple[int, str] | None:
        text = self._fh.readline(max(size, 1))
        if not text:
            return None
        if not self._partial:
            self._number += 1
        self._partial = not text.endswith(_LINE_ENDS)
        return self._number, text

    def _skip_rest(self, cut: bool) -> NoReturn:
        """Skip to the end of the row (the rest of its line, which was ``cut``; for CSV, and of
        any quoted cell it is inside: an odd number of quotes so far), then refuse it."""
        first, last = self._row[0][0], self._row[-1][0]
        head = [text for _, text in self._row]
        quoted = self._quotes and sum(text.count('"') for text in head) % 2 == 1
        while cut or quoted:
            if self._again and not cut:
                last, text = self._again.popleft()
            else:
                item = self._read(_SKIP_PIECE)
                if item is None:
                    break
                (last, text), cut = item, self._partial
            if self._quotes and text.count('"') % 2 == 1:
                quoted = not quoted
        self._row = []
        self._size = 0
        raise RowTooLongError(first, last, self._limit, head)
