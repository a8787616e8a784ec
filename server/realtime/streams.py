"""The streams themselves: async generators of server-sent events, read from the event log
whenever a wake-up says a followed business's log moved.

Each stream clears its wake-up before it reads, so a commit during the read wakes it again;
and it reads unwoken every `RECHECK_SECONDS`, so a wake-up that never came (Redis away for a
moment, a change committed by `tillpoint server jobs`) is only late.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session
from sse_starlette import ServerSentEvent

from sync.wire import CHANGES_WAITING, ChangesWaiting, MoneyPublic

from ..events import EventEntity, events_after, head_position
from ..wallet import cards
from ..wallet.models import GiftCard
from .schemas import CARD_CHANGED, CardChanged
from .wakeups import Listeners

__all__ = [
    "RECHECK_SECONDS",
    "card_changes",
    "changes_waiting",
    "parse_positions",
    "parse_terminal_position",
]

RECHECK_SECONDS = 20.0
PAGE = 500
_POSITION = re.compile(r"[0-9]{1,400}")
_BUSINESS_POSITION = re.compile(r"([A-Za-z0-9_-]{1,64}):([0-9]{1,400})")

Sessions = Callable[[], Session]


def parse_terminal_position(last_event_id: str | None) -> int | None:
    """The position a terminal last heard of, or None (a new stream starts at the head)."""
    found = _POSITION.fullmatch((last_event_id or "").strip())
    return min(int(found[0]), 2**62) if found else None


def _head(sessions: Sessions, business_id: str) -> int:
    with sessions() as session:
        return head_position(session, business_id)


async def changes_waiting(
    sessions: Sessions, listeners: Listeners, business_id: str, after: int | None
) -> AsyncIterator[ServerSentEvent]:
    """A terminal's stream: one `changes` event each time its business's log moves past
    what it last heard (at once, when it resumes behind the head)."""
    listener = listeners.listen([business_id])
    try:
        position = after
        while True:
            listener.woken.clear()
            head = await anyio.to_thread.run_sync(_head, sessions, business_id)
            if position is None:
                position = head
            elif head != position:  # moved on; or behind it (a restored database): pull
                position = head
                yield ServerSentEvent(
                    ChangesWaiting(position=head).model_dump_json(),
                    event=CHANGES_WAITING,
                    id=str(head),
                )
            await listener.wait(RECHECK_SECONDS)
    finally:
        listeners.forget(listener)


# -- a customer's cards ------------------------------------------------------------------


def parse_positions(last_event_id: str | None) -> dict[str, int]:
    """`business:position,…` as the card stream sends its ids; what does not parse is
    left out (that business starts at its head)."""
    positions: dict[str, int] = {}
    for part in (last_event_id or "").split(",")[:1000]:
        found = _BUSINESS_POSITION.fullmatch(part.strip())
        if found:
            positions[found[1]] = min(int(found[2]), 2**62)
    return positions


def format_positions(positions: dict[str, int]) -> str:
    return ",".join(f"{business}:{position}" for business, position in sorted(positions.items()))


@dataclass
class _Read:
    positions: dict[str, int]
    changed: list[CardChanged]


def _cards_of(session: Session, user_id: str) -> dict[str, set[str]]:
    """The user's card ids, by business."""
    held: dict[str, set[str]] = {}
    rows = session.execute(
        select(GiftCard.business_id, GiftCard.id).where(GiftCard.owner_id == user_id)
    )
    for business_id, card_id in rows:
        held.setdefault(business_id, set()).add(card_id)
    return held


def _card_changed(card: GiftCard, session: Session) -> CardChanged:
    return CardChanged(
        card_id=card.id,
        business_id=card.business_id,
        status=card.status,
        balance=MoneyPublic.of(cards.card_balance(session, card)),
        version=card.version,
    )


def _read_cards(
    sessions: Sessions, user_id: str, positions: dict[str, int], *, fresh: bool, resumed: bool
) -> _Read:
    """What changed on the user's cards after `positions`; the positions after it. A
    business with no position starts at its head: on a `fresh` stream's first read (the app
    has just read its cards), silently; else with its cards as they are now (bought while
    the stream was not following that business yet). On a `resumed` stream's first read, a
    position past its business's head (the database was restored from a backup) is no
    position either: waiting for the log to reach it would miss every change until then."""
    with sessions() as session:
        held = _cards_of(session, user_id)
        moved: dict[str, int] = {}
        changed_ids: list[str] = []
        for business_id, card_ids in held.items():
            position = positions.get(business_id)
            if resumed and position is not None and position > head_position(session, business_id):
                position = None
            if position is None:
                moved[business_id] = head_position(session, business_id)
                if not fresh:
                    changed_ids.extend(sorted(card_ids - set(changed_ids)))
                continue
            while True:
                events = events_after(session, business_id, position, PAGE)
                for event in events:
                    ours = event.entity == EventEntity.CARD and event.entity_id in card_ids
                    if ours and event.entity_id not in changed_ids:
                        changed_ids.append(event.entity_id)
                if events:
                    position = events[-1].position
                if len(events) < PAGE:
                    break
            moved[business_id] = position
        changed = [
            _card_changed(card, session)
            for card_id in changed_ids
            if (card := session.get(GiftCard, card_id)) is not None
        ]
        return _Read(moved, changed)


async def card_changes(
    sessions: Sessions,
    listeners: Listeners,
    user_id: str,
    last_event_id: str | None,
) -> AsyncIterator[ServerSentEvent]:
    """A customer's stream: a `card` event with the card's balance and status each time
    one of their cards changes. The last event of each read carries the positions read to
    (`business:position,…`) as its id: a client resuming with it misses nothing, and may
    hear the cards of an interrupted read again. An id that is not the stream's own, or
    one past the log, starts again from the cards as they are (told at once)."""
    positions = parse_positions(last_event_id)
    fresh = not (last_event_id or "").strip()
    resumed = not fresh
    listener = listeners.listen(())
    try:
        while True:
            listener.woken.clear()
            read = await anyio.to_thread.run_sync(
                functools.partial(
                    _read_cards, sessions, user_id, positions, fresh=fresh, resumed=resumed
                )
            )
            fresh = resumed = False
            if set(read.positions) != listener.business_ids:
                listeners.forget(listener)
                listener = listeners.listen(read.positions)
                listener.woken.set()  # read once more: a business just followed may have moved
            positions = read.positions
            for index, changed in enumerate(read.changed):
                last = index == len(read.changed) - 1
                yield ServerSentEvent(
                    changed.model_dump_json(),
                    event=CARD_CHANGED,
                    id=format_positions(positions) if last else None,
                )
            await listener.wait(RECHECK_SECONDS)
    finally:
        listeners.forget(listener)
