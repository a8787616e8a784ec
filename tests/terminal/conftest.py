"""Fixtures the till's tests share: asyncio for Textual, an issuer key, a paired till's
store, and a till no one signs in to (the scan screen's tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync.tokens import IssuerKey
from terminal.core.store import TerminalStore
from tests.terminal.test_roles_app import Counter
from tests.terminal.test_till_offline import page, paired_store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual runs on asyncio


@pytest.fixture
def key() -> IssuerKey:
    return IssuerKey.generate()


@pytest.fixture
def store(tmp_path, key) -> Iterator[TerminalStore]:
    """A till's store, paired, holding nothing but the trust list and the offline limits."""
    store = paired_store(tmp_path / "till.db", page(key))
    yield store
    store.close()


@pytest.fixture
def counter(tmp_path, key) -> Iterator[Counter]:
    """A till no one signs in to (no PINs yet): it opens on the scan screen."""
    counter = Counter(tmp_path, key, staff=())
    yield counter
    counter.close()
