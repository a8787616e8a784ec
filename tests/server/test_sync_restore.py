"""A pull from a cursor past the business's log: the server's database was restored from an
older backup after the terminal pulled. The answer says so, rather than "nothing new" until
the log has caught up (skipping what it then gives those positions to)."""

from sqlalchemy import delete, select, update

from server.events.models import Event, EventCounter
from tests.server.api import buy_card, sign_up
from tests.server.test_sync_push import Terminal


def test_a_cursor_past_the_log_is_told_and_read_from_the_start(client, shop, sessions):
    till = Terminal(client, shop)
    customer = sign_up(client)
    kept = buy_card(customer, shop, 1000).json()
    page = till.api.pull(0)
    assert not page.cursor_ahead
    buy_card(customer, shop, 2000)
    cursor = till.api.pull(page.cursor).cursor
    with sessions() as session:  # the restore: the log as it was before the second card
        session.execute(
            delete(Event).where(Event.business_id == shop.business_id, Event.position > page.cursor)
        )
        session.execute(
            update(EventCounter)
            .where(EventCounter.business_id == shop.business_id)
            .values(position=page.cursor)
        )
        session.commit()

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
