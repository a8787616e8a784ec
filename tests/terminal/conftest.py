"""Fixtures the till's tests share: asyncio for Textual, an issuer key, and a till no one
signs in to (the scan screen's tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync.tokens import IssuerKey
from tests.terminal.test_roles_app import Counter


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual runs on asyncio


@pytest.fixture
def key() -> IssuerKey:
    return IssuerKey.generate()


@pytest.fixture
def counter(tmp_path, key) -> Iterator[Counter]:
    """A till no one signs in to (no PINs yet): it opens on the scan screen."""
    counter = Counter(tmp_path, key, staff=())
    yield counter
    counter.close()
