"""A first sync's pages on PostgreSQL: the cards' part is written by the database, and a
terminal reads exactly what the models would have said — every field, byte for byte, page
after page, and where the pages end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from server.db import Base, make_engine
from server.devices.pull import snapshot_json, snapshot_page
from server.keys.keyring import Keyring
from sync.wire import SnapshotPage

pytestmark = pytest.mark.postgres

BUSINESS = "biz00000001"
# id, balance, status, expires_at, version: whole seconds and not, every status, a card
# whose id sorts between others, an empty one.
CARDS = [
    ("card-a", 5000, "active", datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC), 1),
    ("card-b", 0, "blocked", datetime(2027, 1, 2, 3, 4, 5, 120, tzinfo=UTC), 7),
    ("card-c", 123456789012, "expired", datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 2),
    ("card-ab", 1, "active", datetime(2030, 6, 1, tzinfo=UTC), 3),
    ("card-d", 42, "active", datetime(2027, 3, 1, 12, 0, 0, 500000, tzinfo=UTC), 1),
]


@pytest.fixture
def pg_engine(postgres_url) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO businesses (id, name, category, description, currency, created_at) "
                "VALUES (:id, 'Café \"Chez Nous\"', 'cafe', '', 'GBP', now())"
            ),
            {"id": BUSINESS},
        )
        for n, (card_id, balance, status, expires_at, version) in enumerate(CARDS, start=1):
            connection.execute(
                text(
                    "INSERT INTO ledger_accounts (id, key, purpose, currency, business_id, "
                    "balance_minor, allow_negative) "
                    "VALUES (:n, :key, 'card', 'GBP', :business, :balance, false)"
                ),
                {"n": n, "key": f"card:{card_id}", "business": BUSINESS, "balance": balance},
            )
            connection.execute(
                text(
                    "INSERT INTO gift_cards (id, business_id, account_id, currency, status, "
                    "token_id, token, issued_at, expires_at, version) VALUES (:id, :business, "
                    ":n, 'GBP', :status, 'x', 'TP1:x', now(), :expires_at, :version)"
                ),
                {
                    "id": card_id,
                    "business": BUSINESS,
                    "n": n,
                    "status": status,
                    "expires_at": expires_at,
                    "version": version,
                },
            )
    yield engine
    engine.dispose()


@pytest.mark.parametrize("limit", [1, 2, 5, 100])
def test_the_database_s_pages_say_what_the_models_say(pg_engine, tmp_path, limit):
    trust = Keyring.open(tmp_path / "keys").trust_list().to_json()
    after: str | None = None
    seen: list[str] = []
    with Session(pg_engine) as session:
        while True:
            written = snapshot_json(session, BUSINESS, after, limit, 7, trust)
            modelled = snapshot_page(session, BUSINESS, after, limit, 7, trust)
            assert json.loads(written) == json.loads(modelled.model_dump_json())
            cards = [card.model_dump_json() for card in modelled.cards]
            assert '"cards":[' + ",".join(cards) + "]" in written  # byte for byte
            page = SnapshotPage.model_validate_json(written)
            seen += [card.id for card in page.cards]
            if page.next_after is None:
                break
            after = page.next_after
    assert seen == sorted(card[0] for card in CARDS)
