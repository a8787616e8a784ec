"""One deal as a stream: a `deal` event with what is left and when it ends, each time a sale
(or an edit) changes it, and a last one with `on_sale: false` when it ends — sold out, past
its end, or ended by its business — after which the stream closes.

It follows the deal's business's event log, woken like the terminals' streams; the id of
each event is the log position it was read to.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import anyio
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from sse_starlette import ServerSentEvent

from ..deals.models import Deal
from ..errors import DealNotFound
from ..events import EventEntity, events_after, head_position
from .wakeups import Listeners

__all__ = ["DEAL_CHANGED", "DealChanged", "deal_business", "deal_changes"]

DEAL_CHANGED = "deal"
RECHECK_SECONDS = 20.0
PAGE = 500


class DealChanged(BaseModel):
    deal_id: str
    on_sale: bool = Field(description="false once it has ended: the stream then closes")
    remaining: int | None = Field(description="vouchers left, or null when unlimited")
    ends_at: datetime
    seconds_left: int


def deal_business(sessions: Callable[[], Session], deal_id: str) -> str:
    with sessions() as session:
        deal = session.get(Deal, deal_id)
        if deal is None:
            raise DealNotFound(f"There is no deal {deal_id!r}.")
        return deal.business_id


def _state(deal: Deal, now: datetime) -> DealChanged:
    remaining = None if deal.quantity_limit is None else deal.quantity_limit - deal.sold
    on_sale = not deal.ended and deal.starts_at <= now < deal.ends_at and remaining != 0
    return DealChanged(
        deal_id=deal.id,
        on_sale=on_sale,
        remaining=remaining,
        ends_at=deal.ends_at,
        seconds_left=max(0, int((deal.ends_at - now).total_seconds())),
    )


def _read(
    sessions: Callable[[], Session], deal_id: str, business_id: str, after: int | None
) -> tuple[int, DealChanged | None]:
    """The position read to, and the deal's state if it changed after `after` (or always,
    on the first read)."""
    with sessions() as session:
        deal = session.get_one(Deal, deal_id)
        if after is None:
            return head_position(session, business_id), _state(deal, datetime.now(UTC))
        changed = False
        while True:
            events = events_after(session, business_id, after, PAGE)
            changed = changed or any(
                e.entity == EventEntity.DEAL and e.entity_id == deal_id for e in events
            )
            if events:
                after = events[-1].position
            if len(events) < PAGE:
                break
        state = _state(deal, datetime.now(UTC))
        return after, state if changed or not state.on_sale else None


async def deal_changes(
    sessions: Callable[[], Session],
    listeners: Listeners,
    deal_id: str,
    business_id: str,
) -> AsyncIterator[ServerSentEvent]:
    listener = listeners.listen([business_id])
    try:
        position: int | None = None
        until_end = RECHECK_SECONDS
        while True:
            listener.woken.clear()
            read = functools.partial(_read, sessions, deal_id, business_id, position)
            position, state = await anyio.to_thread.run_sync(read)
            if state is not None:
                yield ServerSentEvent(state.model_dump_json(), event=DEAL_CHANGED, id=str(position))
                if not state.on_sale:
                    return
                until_end = state.seconds_left + 1  # wake to say it ended, unwoken
            await listener.wait(min(RECHECK_SECONDS, max(1, until_end)))
    finally:
        listeners.forget(listener)
