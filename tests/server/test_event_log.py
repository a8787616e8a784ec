"""The event log (DESIGN.md §11): every change of what terminals cache appears once, in
commit order, and a reader that resumes after a position never skips one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import sessionmaker

from server.deals.service import end_deals
from server.directory.models import Product
from server.events import (
    EventEntity,
    EventKind,
    UnrecordedChangeError,
    events_after,
    head_position,
    recording,
)
from server.wallet.cards import expire_cards
from server.wallet.models import GiftCard
from tests.server.api import buy_card, buy_voucher, create_deal, open_shop, sign_up
from tests.server.test_sync_push import Terminal


class HeldCommit:
    """Makes the first transaction that takes log positions stop right there, its events
    written and its counter row locked but nothing committed, until `release`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.taken, self._release = threading.Event(), threading.Event()
        self._first, self._lock = True, threading.Lock()
        original = recording._write

        def write(session, pending):
            original(session, pending)
            # On PostgreSQL the events wait to go with the COMMIT (`writebehind`): send them
            # now, so this transaction holds its positions, uncommitted, from here.
            session.execute(text("SELECT 1"))
            with self._lock:
                mine, self._first = self._first, False
            if mine:
                self.taken.set()
                assert self._release.wait(30), "the held transaction was never released"

        monkeypatch.setattr(recording, "_write", write)

    def release(self) -> None:
        self._release.set()


@pytest.fixture
def reader(engine):
    """A reader's own connections. (The server's SQLite sessions take the write lock as
    they begin, so on SQLite they would wait for the held writer instead of reading.)"""
    plain = create_engine(engine.url)
    yield sessionmaker(plain)
    plain.dispose()


def read_all(sessions, business_id: str, after: int) -> list[tuple[int, str, str, str]]:
    with sessions() as session:
        return [
            (e.position, e.entity, e.entity_id, e.kind)
            for e in events_after(session, business_id, after, 10_000)
        ]


# Each kind of writer, as a function of (client, shop) that does one thing and commits.
def buy_a_card(client, shop):
    assert buy_card(sign_up(client), shop.shop, 2000).status_code == 201


def redeem_online(client, shop):
    assert shop.shop.redeem(150, card_id=shop.card["id"]).status_code in (200, 201)


def reissue_a_card(client, shop):
    response = shop.customer.post(f"/api/v1/gift-cards/{shop.card['id']}/reissue", {})
    assert response.status_code == 200, response.text


def buy_a_voucher(client, shop):
    assert buy_voucher(shop.customer, shop.deal["id"]).status_code == 201


def push_a_batch(client, shop):
    till = shop.terminal
    events = [till.event(card_id=shop.card["id"], amount_minor=100) for _ in range(3)]
    assert [status for status, _ in till.push(*events)] == ["applied"] * 3


def add_a_product(client, shop):
    response = shop.shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/products", {"name": "Scone", "price_minor": 250}
    )
    assert response.status_code == 201, response.text


def set_offline_limits(client, shop):
    response = client.put(
        f"/api/v1/businesses/{shop.business_id}/offline-limits",
        headers=shop.shop.owner.headers,
        json={
            "max_single_minor": 2500,
            "max_per_card_minor": 5000,
            "max_unsynced_minor": 20000,
            "max_cache_age_seconds": 86400,
            "stale_cache_max_minor": 1000,
        },
    )
    assert response.status_code == 200, response.text


def run_the_jobs(client, shop):
    sessions = client.app.state.sessions
    with sessions() as session:
        later = datetime.now(UTC) + timedelta(days=4000)
        assert expire_cards(session, later) >= 1
        assert end_deals(session, later) >= 1
        session.commit()


WRITERS: dict[str, Callable[..., None]] = {
    "card purchase": buy_a_card,
    "online redemption": redeem_online,
    "card re-issue": reissue_a_card,
    "voucher purchase": buy_a_voucher,
    "terminal push batch": push_a_batch,
    "product added": add_a_product,
    "offline limits": set_offline_limits,
    "jobs (expiry, deals ended)": run_the_jobs,
}


@pytest.fixture
def busy_shop(client):
    """A shop with a customer's card, a deal on sale and a paired terminal."""
    shop = open_shop(client)
    customer = sign_up(client)
    return SimpleNamespace(
        shop=shop,
        business_id=shop.business_id,
        customer=customer,
        card=buy_card(customer, shop, 5000).json(),
        deal=create_deal(shop).json(),
        terminal=Terminal(client, shop),
    )


@pytest.mark.parametrize("writer", WRITERS.values(), ids=WRITERS.keys())
def test_a_reader_never_skips_an_event_held_uncommitted(
    writer, client, busy_shop, reader, monkeypatch
):
    shop = busy_shop
    sessions = reader
    start = read_all(sessions, shop.business_id, 0)[-1][0]
    held = HeldCommit(monkeypatch)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(writer, client, shop)
        assert held.taken.wait(30), "the writer recorded no event"
        # While the first writer holds its positions uncommitted, another commits a change.
        later = pool.submit(add_a_product, client, shop)
        # Give it time to commit; it should not get there, but if it does, the reader
        # below must still not see past the held position.
        futures.wait([later], timeout=1.5)
        seen = read_all(sessions, shop.business_id, start)
        assert seen == [], "a reader saw events while an earlier position was uncommitted"
        held.release()
        first.result(timeout=60)
        later.result(timeout=60)
    resumed = read_all(sessions, shop.business_id, start)
    positions = [position for position, *_ in resumed]
    assert positions == list(range(start + 1, start + 1 + len(positions))), "a gap or disorder"
    # The held writer's events come first: its transaction committed first.
    assert resumed[-1][1] == EventEntity.PRODUCT
    assert len(resumed) >= 2


def test_a_rolled_back_change_leaves_no_event(client, busy_shop, sessions):
    shop = busy_shop
    head = read_all(sessions, shop.business_id, 0)[-1][0]
    with sessions() as session:
        product = Product(business_id=shop.business_id, name="Ghost", price_minor=1, currency="GBP")
        session.add(product)
        session.flush()
        session.rollback()
    with sessions() as session:
        nested_ok = Product(
            business_id=shop.business_id, name="Kept", price_minor=1, currency="GBP"
        )
        session.add(nested_ok)
        savepoint = session.begin_nested()
        session.add(
            Product(business_id=shop.business_id, name="Gone", price_minor=1, currency="GBP")
        )
        session.flush()
        savepoint.rollback()
        session.commit()
        kept_id = nested_ok.id
    after = read_all(sessions, shop.business_id, head)
    assert [(entity, entity_id, kind) for _, entity, entity_id, kind in after] == [
        (EventEntity.PRODUCT, kept_id, EventKind.CREATED)
    ]


def test_a_change_bumps_the_version_and_appends_one_event(client, busy_shop, sessions):
    shop = busy_shop
    head = read_all(sessions, shop.business_id, 0)[-1][0]
    with sessions() as session:
        card = session.get(GiftCard, shop.card["id"])
        version = card.version
        card.expires_at = card.expires_at + timedelta(days=1)
        session.flush()
        card.expires_at = card.expires_at + timedelta(days=1)  # twice in one transaction
        session.commit()
        assert card.version == version + 2
    after = read_all(sessions, shop.business_id, head)
    assert [(entity, entity_id, kind) for _, entity, entity_id, kind in after] == [
        (EventEntity.CARD, shop.card["id"], EventKind.UPDATED)
    ]
    with sessions() as session:  # reading it, or writing it unchanged, is no event
        card = session.get(GiftCard, shop.card["id"])
        card.expires_at = card.expires_at
        session.commit()
    assert len(read_all(sessions, shop.business_id, head)) == 1


def test_a_bulk_update_of_a_recorded_model_is_refused(client, busy_shop, sessions):
    with sessions() as session, pytest.raises(UnrecordedChangeError, match="through the ORM"):
        session.execute(update(GiftCard).values(version=GiftCard.version + 1))


def test_each_event_says_what_changed_where_and_when(client, busy_shop, sessions):
    shop = busy_shop
    assert shop.shop.redeem(100, card_id=shop.card["id"]).status_code in (200, 201)
    everything = read_all(sessions, shop.business_id, 0)
    with sessions() as session:
        assert head_position(session, shop.business_id) == everything[-1][0]
        events = events_after(session, shop.business_id, 0, 100)
        card_events = [e for e in events if e.entity_id == shop.card["id"]]
        # One event a subject a transaction: the purchase's credit is part of "created".
        assert [e.kind for e in card_events] == [EventKind.CREATED, EventKind.BALANCE_CHANGED]
        assert all(e.occurred_at is not None for e in events)
        assert all(e.business_id == shop.business_id for e in events)
        assert session.scalar(select(GiftCard.version).where(GiftCard.id == shop.card["id"])) == 1
