"""Shared fixtures: where the external test data lives, and a real browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def shared_dir() -> Path:
    return Path(os.environ.get("TILLPOINT_SHARED", ROOT.parent / "shared"))


def require_shared(sub: str) -> Path:
    """A folder of ../shared; its absence fails in CI and skips (saying why) elsewhere."""
    path = shared_dir() / sub
    if not path.is_dir():
        message = f"{path} is missing: clone the project next to its shared/ folder"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a module's browser tests (tests/browser.py); each test opens
    its own context (cookies, pages) in it. Per module, not per run: while Playwright's sync
    API is open, its event loop counts as running, so asyncio tests (anyio, Textual's pilot)
    cannot run beside it — keep them in modules of their own."""
    from tests.browser import chromium  # Playwright only where a test asks for a browser

    with chromium() as browser:
        yield browser
