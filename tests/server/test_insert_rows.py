"""`db.insert_rows` writes what it is given, however many rows: each row's values, the
columns' Python defaults for what the rows leave out, enums, times and NULLs, in
every form it sends them (on PostgreSQL a few rows go as VALUES, more as arrays), and
queued with the commit (`later`) as at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.db import insert_rows
from server.fraud.models import FraudActivity, FraudEvent

AT = datetime(2026, 12, 1, 9, 30, 15, 250_000, tzinfo=UTC)


def _activity(n: int) -> dict[str, object]:
    """Rows naming the same columns, with `at` and `failed` left to their defaults."""
    return {
        "event": FraudEvent.REDEMPTION_ONLINE if n % 2 else FraudEvent.CODE_LOOKUP,
        "business_id": f"biz{n}",
        "card_id": None if n % 3 == 0 else f"card{n}",
        "terminal": "user:é ✓",
        "address": "127.0.0.1",
        "amount_minor": 10**12 + n,
        "currency": "GBP",
    }


@pytest.mark.parametrize("count", [1, 2, 4, 5, 30])
@pytest.mark.parametrize("later", [False, True])
def test_every_row_is_written_with_its_values_and_the_defaults(sessions, count, later):
    rows = [_activity(n) for n in range(count)]
    with sessions() as session:
        insert_rows(session, FraudActivity, rows, later=later)
        session.commit()
    with sessions() as session:
        written = session.scalars(select(FraudActivity).order_by(FraudActivity.id)).all()
    assert [
        {
            "event": w.event,
            "business_id": w.business_id,
            "card_id": w.card_id,
            "terminal": w.terminal,
            "address": w.address,
            "amount_minor": w.amount_minor,
            "currency": w.currency,
        }
        for w in written
    ] == rows
    assert all(w.failed is False for w in written)  # the column's default
    assert all(w.at.tzinfo is not None for w in written)  # utcnow, made for each row


@pytest.mark.parametrize("count", [1, 3, 6])
def test_given_times_and_flags_are_kept_as_given(sessions, count):
    rows = [{**_activity(n), "at": AT, "failed": bool(n % 2)} for n in range(count)]
    with sessions() as session:
        insert_rows(session, FraudActivity, rows)
        session.commit()
    with sessions() as session:
        written = session.scalars(select(FraudActivity).order_by(FraudActivity.id)).all()
    assert [(w.at, w.failed) for w in written] == [(AT, bool(n % 2)) for n in range(count)]


def test_a_column_the_table_does_not_have_is_refused_and_nothing_is_written(sessions):
    with sessions() as session:
        with pytest.raises(ValueError, match="no column"):
            insert_rows(session, FraudActivity, [{**_activity(0), "colour": "red"}])
        session.commit()
    with sessions() as session:
        assert session.scalars(select(FraudActivity)).all() == []
