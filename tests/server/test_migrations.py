import warnings
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from server.db import Base, make_engine, make_sessionmaker
from server.devices.models import Device
from server.devices.pull import LEGACY_REWIND, resume_from
from server.events import EventEntity, EventKind, events_after, head_position, record
from server.fraud import service as fraud
from server.migrate import upgrade


def test_migrations_build_exactly_the_models_schema(database_url):
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            upgrade(database_url, connection)
        with engine.connect() as connection, warnings.catch_warnings():
            # SQLite's reflection leaves out an index on an expression (the open fraud
            # reviews', 0034), and Alembic's comparison skips such an index anyway.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expr")
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            tables = set(inspect(connection).get_table_names())
        assert diff == []
        assert {"businesses", "branches", "products"} <= tables
    finally:
        engine.dispose()


def test_migrating_twice_changes_nothing(database_url):
    engine = make_engine(database_url)
    try:
        for _ in range(2):
            with engine.begin() as connection:
                upgrade(database_url, connection)
    finally:
        engine.dispose()


def test_the_event_log_keeps_old_cursors_and_rewinds_terminals_paired_before_it(database_url):
    """Migration 0007: the change feed's numbers stay the events' positions (a terminal's
    cursor still means the same place), counters continue after them, and a terminal paired
    before it is sent, once, what lies a little before its cursor."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            upgrade(database_url, connection, revision="0006")
            connection.execute(
                text(
                    "INSERT INTO businesses (id, name, category, description, currency, "
                    "created_at) VALUES ('biz', 'Café', 'cafe', '', 'GBP', :now)"
                ),
                {"now": datetime.now(UTC)},
            )
            connection.execute(
                text(
                    "INSERT INTO devices (id, business_id, name, public_key, secret_hash, "
                    "last_seq, created_at) VALUES ('till', 'biz', 'Till 1', 'k', 'h', 0, :now)"
                ),
                {"now": datetime.now(UTC)},
            )
            for seq, entity in ((7, "card"), (9, "voucher"), (60_012, "card")):
                connection.execute(
                    text(
                        "INSERT INTO changes (seq, business_id, entity, entity_id) "
                        "VALUES (:seq, 'biz', :entity, :id)"
                    ),
                    {"seq": seq, "entity": entity, "id": f"{entity}-{seq}"},
                )
        with engine.begin() as connection:
            upgrade(database_url, connection)
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            assert [(e.position, e.entity_id) for e in events_after(session, "biz", 0, 10)] == [
                (7, "card-7"),
                (9, "voucher-9"),
                (60_012, "card-60012"),
            ]
            assert events_after(session, "biz", 9, 10)[0].position == 60_012  # cursors hold
            assert head_position(session, "biz") == 60_012
            device = session.get(Device, "till")
            assert device is not None
            assert device.feed_rewind_below == 60_012
            # Its first pull after the upgrade starts LEGACY_REWIND before its cursor, once.
            assert resume_from(session, device, 60_012) == 60_012 - LEGACY_REWIND
            assert resume_from(session, device, 60_012) == 60_012
            record(session, "biz", EventEntity.CARD, "card-7", EventKind.UPDATED)
            session.commit()
            assert events_after(session, "biz", 60_012, 10)[0].position == 60_013
    finally:
        engine.dispose()


def test_transfers_learn_where_they_happened_and_voids_their_kind(database_url):
    """Migration 0023: every transfer learns its business from its accounts, a till's
    redemption its till, branch and cashier from the till's record of it, and a terminal's
    void (a `refund` until now, its memo naming the void's event) becomes a `void`."""
    engine = make_engine(database_url)
    now = {"now": datetime.now(UTC)}
    try:
        with engine.begin() as connection:
            upgrade(database_url, connection, revision="0022")
            for statement in (
                "INSERT INTO businesses (id, name, category, description, currency, created_at) "
                "VALUES ('biz', 'Café', 'cafe', '', 'GBP', :now)",
                "INSERT INTO devices (id, business_id, name, branch_id, public_key, secret_hash, "
                "last_seq, created_at) VALUES ('till', 'biz', 'Till 1', 'br', 'k', 'h', 0, :now)",
                "INSERT INTO ledger_accounts (id, key, purpose, currency, business_id, "
                "balance_minor, allow_negative) VALUES (1, 'card:c', 'card', 'GBP', 'biz', 0, "
                "false), (2, 'revenue:biz:GBP', 'revenue', 'GBP', 'biz', 0, true)",
                "INSERT INTO transfers (operation_id, kind, debit_account_id, credit_account_id, "
                "amount_minor, currency, card_id, memo, created_at) VALUES "
                "('sale', 'redemption', 1, 2, 300, 'GBP', 'c', 'online', :now), "
                "('undo', 'refund', 2, 1, 300, 'GBP', 'c', 'void, event e-1', :now), "
                "('back', 'refund', 2, 1, 50, 'GBP', 'c', 'cold coffee', :now)",
                "INSERT INTO till_redemptions (device_id, attempt_key, item, subject_id, "
                "amount_minor, operation_id, made_at, cashier_id) VALUES "
                "('till', 'k-1', 'gift_card', 'c', 300, 'sale', :now, 'sam')",
            ):
                connection.execute(text(statement), now)
        with engine.begin() as connection:
            upgrade(database_url, connection)
            rows = connection.execute(
                text(
                    "SELECT operation_id, kind, business_id, branch_id, device_id, cashier_id "
                    "FROM transfers ORDER BY id"
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("sale", "redemption", "biz", "br", "till", "sam"),
            ("undo", "void", "biz", None, None, None),
            ("back", "refund", "biz", None, None, None),
        ]
    finally:
        engine.dispose()


def test_a_business_s_liability_starts_as_what_its_cards_hold(database_url):
    """Migration 0032: each business's cards' balances, summed per currency, are its first
    liability row; a business whose cards hold nothing has none."""
    engine = make_engine(database_url)
    now = {"now": datetime.now(UTC)}
    try:
        with engine.begin() as connection:
            upgrade(database_url, connection, revision="0031")
            for statement in (
                "INSERT INTO businesses (id, name, category, description, currency, created_at) "
                "VALUES ('cafe', 'Café', 'cafe', '', 'GBP', :now), "
                "('shop', 'Shop', 'books', '', 'GBP', :now)",
                "INSERT INTO ledger_accounts (id, key, purpose, currency, business_id, "
                "balance_minor, allow_negative) VALUES "
                "(1, 'card:a', 'card', 'GBP', 'cafe', 700, false), "
                "(2, 'card:b', 'card', 'GBP', 'cafe', 250, false), "
                "(3, 'card:c', 'card', 'EUR', 'cafe', 40, false), "
                "(4, 'revenue:cafe:GBP', 'revenue', 'GBP', 'cafe', 900, true), "
                "(5, 'card:d', 'card', 'GBP', 'shop', 0, false)",
            ):
                connection.execute(text(statement), now)
        with engine.begin() as connection:
            upgrade(database_url, connection)
            rows = connection.execute(
                text(
                    "SELECT business_id, currency, change_minor FROM card_liability "
                    "ORDER BY business_id, currency"
                )
            ).all()
        assert [tuple(row) for row in rows] == [("cafe", "EUR", 40), ("cafe", "GBP", 950)]
    finally:
        engine.dispose()


def test_open_fraud_reviews_of_one_rule_and_subject_become_one(database_url):
    """Migration 0034: open duplicates (opened at once, before the unique index; every later
    hit went to each) merge into the oldest, each hit counted once, with the newest's
    latest decision; closed reviews and other subjects' stay as they were. From then on a
    hit goes to the one open review (the index is the one `hit_or_open` names)."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            upgrade(database_url, connection, revision="0033")
            connection.execute(
                text(
                    "INSERT INTO fraud_rules (id, name, subject, event, counting, "
                    "window_seconds, max_count, action, mode, enabled, created_at, updated_at) "
                    "VALUES ('rule', 'r', 'address', 'login', 'attempts', 60, 1, 'review', "
                    "'enforced', true, :at, :at)"
                ),
                {"at": datetime(2026, 11, 1, tzinfo=UTC)},
            )
            for review_id, key, hits, status, minute in (
                ("a", "1.2.3.4", 3, "open", 1),
                ("b", "1.2.3.4", 2, "open", 3),
                ("c", "1.2.3.4", 1, "open", 2),
                ("d", "1.2.3.4", 9, "cleared", 0),
                ("e", "5.6.7.8", 4, "open", 1),
            ):
                connection.execute(
                    text(
                        "INSERT INTO fraud_reviews (id, rule_id, decision_reference, event, "
                        "subject, subject_key, reason, hits, status, resolution, created_at) "
                        "VALUES (:id, 'rule', :ref, 'login', 'address', :key, :reason, "
                        ":hits, :status, '', :at)"
                    ),
                    {
                        "id": review_id,
                        "ref": f"ref-{review_id}",
                        "key": key,
                        "reason": f"reason {review_id}",
                        "hits": hits,
                        "status": status,
                        "at": datetime(2026, 11, 1, 12, minute, tzinfo=UTC),
                    },
                )
        with engine.begin() as connection:
            upgrade(database_url, connection)
            rows = connection.execute(
                text(
                    "SELECT id, subject_key, hits, status, decision_reference, reason "
                    "FROM fraud_reviews ORDER BY id"
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("a", "1.2.3.4", 5, "open", "ref-b", "reason b"),
            ("d", "1.2.3.4", 9, "cleared", "ref-d", "reason d"),
            ("e", "5.6.7.8", 4, "open", "ref-e", "reason e"),
        ]
        with pytest.raises(IntegrityError), engine.begin() as connection:  # one open, from now
            connection.execute(
                text(
                    "INSERT INTO fraud_reviews (id, rule_id, decision_reference, event, "
                    "subject, subject_key, reason, hits, status, resolution, created_at) "
                    "VALUES ('f', 'rule', 'ref-f', 'login', 'address', '5.6.7.8', '', 1, "
                    "'open', '', :at)"
                ),
                {"at": datetime(2026, 11, 2, tzinfo=UTC)},
            )
        with make_sessionmaker(engine)() as session:
            hit = {"business_id": None, "rule_id": "rule", "event": "login"}
            fraud.hit_or_open(
                session,
                [
                    {**hit, "id": "g", "subject": "address", "subject_key": "5.6.7.8"}
                    | {"reference": "ref-g", "reason": "reason g", "hits": 1}
                ],
            )
            session.commit()
            assert session.execute(
                text(
                    "SELECT id, hits, decision_reference FROM fraud_reviews WHERE id IN ('e', 'g')"
                )
            ).all() == [("e", 5, "ref-g")]
    finally:
        engine.dispose()
