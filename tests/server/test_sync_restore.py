"""A pull from a cursor past the business's log: the server's database was restored from an
older backup after the terminal pulled. The answer says so, rather than "nothing new" until
the log has caught up (skipping what it then gives those positions to)."""

import pytest
from sqlalchemy import delete, select, update

from server.events.models import Event, EventCounter
from sync.client import ServerRefusedError
from tests.server.api import buy_card, sign_up
from tests.server.test_sync_push import Terminal


def restore_log(sessions, business_id: str, position: int) -> None:
    """The restore, as far as the log goes: the business's log as it was at `position`."""
    with sessions() as session:
        session.execute(
            delete(Event).where(Event.business_id == business_id, Event.position > position)
        )
        session.execute(
            update(EventCounter)
            .where(EventCounter.business_id == business_id)
            .values(position=position)
        )
        session.commit()


def test_a_cursor_past_the_log_is_told_and_read_from_the_start(client, shop, sessions):
    till = Terminal(client, shop)
    customer = sign_up(client)
    kept = buy_card(customer, shop, 1000).json()
    page = till.api.pull(0)
    assert not page.cursor_ahead
    buy_card(customer, shop, 2000)
    cursor = till.api.pull(page.cursor).cursor
    restore_log(sessions, shop.business_id, page.cursor)  # as it was before the second card

    answer = till.api.pull(cursor)
    assert answer.cursor_ahead
    # From the log's start, for a terminal older than `cursor_ahead`: all that exists again.
    assert kept["id"] in {card.id for card in answer.cards}
    assert answer.cursor <= page.cursor
    assert not till.api.pull(answer.cursor).cursor_ahead


def test_a_cursor_at_the_head_is_not_ahead(client, shop, sessions):
    till = Terminal(client, shop)
    buy_card(sign_up(client), shop, 1000)
    with sessions() as session:
        head = session.scalar(
            select(EventCounter.position).where(EventCounter.business_id == shop.business_id)
        )
    page = till.api.pull(head)
    assert (page.cursor, page.cursor_ahead, page.cards) == (head, False, [])


def test_a_log_restored_and_grown_past_the_cursor_is_told_by_its_mark(client, shop, sessions):
    """The shop sold more after the restore than the backup lost, before this till synced:
    its cursor is inside the log again, but the changes there are others. The mark of the
    change it last read says so."""
    till = Terminal(client, shop)
    customer = sign_up(client)
    kept = buy_card(customer, shop, 1000).json()
    page = till.api.pull(0)
    assert page.cursor_mark is not None
    lost = buy_card(customer, shop, 2000).json()
    read = till.api.pull(page.cursor, mark=page.cursor_mark)
    assert lost["id"] in {card.id for card in read.cards}
    assert not read.cursor_ahead
    restore_log(sessions, shop.business_id, page.cursor)  # as it was before the second card
    for _ in range(3):  # sold since the restore: the log is past the till's cursor again
        buy_card(customer, shop, 500)

    answer = till.api.pull(read.cursor, mark=read.cursor_mark)
    assert answer.cursor_ahead
    assert kept["id"] in {card.id for card in answer.cards}
    assert lost["id"] not in {card.id for card in answer.cards}
    # Without the mark (a terminal older than it) the restore cannot be told here.
    assert not till.api.pull(read.cursor).cursor_ahead


def test_a_mark_that_is_the_log_s_own_changes_nothing(client, shop):
    till = Terminal(client, shop)
    customer = sign_up(client)
    buy_card(customer, shop, 1000)
    first = till.api.pull(0)
    buy_card(customer, shop, 2000)
    plain = till.api.pull(first.cursor)
    marked = till.api.pull(first.cursor, mark=first.cursor_mark)
    assert not marked.cursor_ahead
    assert marked.model_dump(exclude={"cursor_mark"}) == plain.model_dump(exclude={"cursor_mark"})
    assert marked.cursor_mark == plain.cursor_mark is not None
    # Nothing new: the page keeps the cursor and its mark.
    again = till.api.pull(marked.cursor, mark=marked.cursor_mark)
    assert (again.cursor, again.cursor_mark, again.cursor_ahead) == (
        marked.cursor,
        marked.cursor_mark,
        False,
    )


def test_a_snapshot_names_the_mark_of_its_cursor(client, shop):
    till = Terminal(client, shop)
    buy_card(sign_up(client), shop, 1000)
    first = till.api.snapshot(None, None)
    assert first.cursor > 0
    assert first.cursor_mark is not None
    assert not till.api.pull(first.cursor, mark=first.cursor_mark).cursor_ahead


def test_a_mark_that_is_not_a_mark_is_refused_in_words(client, shop):
    till = Terminal(client, shop)
    with pytest.raises(ServerRefusedError) as refused:
        till.api.pull(1, mark="x' OR 1=1")
    assert refused.value.status == 422
    assert "mark" in str(refused.value.problem)
