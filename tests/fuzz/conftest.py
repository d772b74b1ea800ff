"""The fuzz tier's profile (``GROUNDED_FUZZ_PROFILE``: ci or fuzz, see tests/support/fuzz.py) and
its summary: requests and outcomes per surface, printed and written to ``$GROUNDED_FUZZ_REPORT``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.fuzz import REPORT_ENV, TALLY, profile

settings.load_profile(profile())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = TALLY.rows()
    if not rows:
        return
    terminalreporter.section(f"generated inputs per surface (profile {profile()})")
    for surface, total, seen in rows:
        terminalreporter.write_line(f"{surface:<28} {total:>7}  {seen}")
    report = os.environ.get(REPORT_ENV)
    if report:
        TALLY.write(Path(report))
        terminalreporter.write_line(f"written to {report}")
