"""A contest's end: results computed once, prizes paid as gift cards, the people told.

A `donated` contest is due only once no donation it counts can still be refunded
(`REFUND_WINDOW` after its end): a donation given back after the prizes were paid would
have won one for nothing.

`finish` claims the contest with one conditional UPDATE (open and due → finished): of
two workers at once, the second waits for the first's row lock, then finds it finished and
does nothing. Everything else — the club rosters frozen, the results, the prize cards and
the messages in the outbox — is written in that same transaction, so a failure leaves the
contest open for the next run and never half paid.

`rebuild` computes the standings again from the ledger and the records (the rosters kept at
the end): it must give what `stored` reads back.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from sync.money import Money

from ..community import purchases
from ..community.donations import REFUND_WINDOW
from ..community.models import Club
from ..db import rowcount, utcnow
from ..directory.models import Business
from ..keys.keyring import Keyring
from ..notifications import templates
from ..notifications.models import NotificationKind
from ..notifications.outbox import Channels, Planned, write
from ..wallet import ledger
from ..wallet.cards import issue_card
from ..wallet.models import Purpose, TransferKind
from . import service
from .models import Contest, ContestEntry, ContestResult, ContestStatus, EntrantKind, Measure
from .scoring import Standing, standings

__all__ = ["finish", "finish_due", "rebuild", "stored"]

log = logging.getLogger("tillpoint.contests")


def _due(now: datetime) -> ColumnElement[bool]:
    """Open and ended — a `donated` one ended at least `REFUND_WINDOW` ago."""
    return and_(
        Contest.status == ContestStatus.OPEN,
        Contest.ends_at <= now,
        or_(Contest.measure != Measure.DONATED, Contest.ends_at <= now - REFUND_WINDOW),
    )


def _frozen(entry: ContestEntry) -> list[str]:
    return [str(user_id) for user_id in entry.roster or []]


def rebuild(session: Session, contest: Contest) -> list[Standing]:
    """The standings computed again from the ledger and the records, with the rosters kept
    at the end."""
    return standings(session, contest, service.entries(session, contest), _frozen)


def stored(session: Session, contest: Contest) -> list[Standing]:
    """The standings the job stored, best first."""
    rows = session.scalars(
        select(ContestResult)
        .where(ContestResult.contest_id == contest.id)
        .order_by(ContestResult.place)
    )
    return [Standing(r.entry_id, r.score, r.reached_at) for r in rows]


def _pay(
    session: Session,
    keyring: Keyring,
    contest: Contest,
    entry: ContestEntry,
    place: int,
    prize: int,
    now: datetime,
) -> str | None:
    """The prize card: into the winning customer's account, or held by the winning club
    (its holdings) for an organiser to hand to a member; none for a club closed before the
    end."""
    club = None if entry.club_id is None else session.get(Club, entry.club_id)
    if entry.kind is not EntrantKind.CUSTOMER and (club is None or club.closed_at is not None):
        return None
    business = session.get_one(Business, contest.prize_business_id)
    paid_by = ledger.account(session, Purpose.PRIZES, contest.currency, contest.business_id)
    amount = Money.of(prize, contest.currency)
    memo = f"prize for place {place} in contest {contest.id}"
    card = issue_card(
        session,
        keyring,
        business,
        entry.user_id if club is None else None,
        amount,
        memo,
        now,
        payer=paid_by,
        kind=TransferKind.PRIZE,
    )
    if club is not None:
        held = f"gift card of {business.name} holding {amount.format()}, {memo}"
        purchases.hold_prize(
            session, club, card, business, amount, contest.id, entry.entered_by, held
        )
    return card.id


def _tell(
    session: Session,
    contest: Contest,
    entry: ContestEntry,
    result: ContestResult,
    entrants: int,
    channels: Channels,
) -> None:
    club = None if entry.club_id is None else session.get(Club, entry.club_id)
    if club is not None:
        people = service.club_managers(session, club.id)
    else:  # a customer (told if they won), or a club closed before the end (no one to tell)
        people = [entry.user_id] if result.card_id and entry.user_id else []
    if not people:
        return
    if result.card_id is not None:
        business = session.get_one(Business, contest.prize_business_id)
        kind = NotificationKind.CONTEST_WON
        message = templates.contest_won(
            contest.title,
            result.place,
            Money.of(result.prize_minor, contest.currency),
            business.name,
            result.card_id,
            None if club is None else club.name,
        )
    else:
        assert club is not None
        kind = NotificationKind.CONTEST_RESULT
        message = templates.contest_result(contest.title, result.place, entrants, club.name)
    planned = [
        Planned(kind, entry.id, user_id, contest.business_id, None, message) for user_id in people
    ]
    write(session, planned, channels, utcnow())  # due now, whatever clock the job runs on


def finish(
    session: Session, contest_id: str, now: datetime, keyring: Keyring, channels: Channels
) -> bool:
    """Compute an ended contest's results, pay its prizes and tell its winners and clubs —
    once: False if it was not open and due (another worker finished it, or a `donated`
    one's donations may still be refunded)."""
    claimed = session.execute(
        update(Contest)
        .where(Contest.id == contest_id, _due(now))
        .values(status=ContestStatus.FINISHED, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        return False
    contest = session.get_one(Contest, contest_id, populate_existing=True)
    entries = service.entries(session, contest)
    for entry in entries:
        if entry.kind is EntrantKind.CLUB:
            entry.roster = service.current_roster(session, entry)
    session.flush()
    ranked = rebuild(session, contest)
    by_id = {entry.id: entry for entry in entries}
    for place, standing in enumerate(ranked, start=1):
        entry = by_id[standing.entry_id]
        won = place <= len(contest.prizes_minor) and standing.score > 0
        prize = int(contest.prizes_minor[place - 1]) if won else 0
        card_id = _pay(session, keyring, contest, entry, place, prize, now) if prize else None
        result = ContestResult(
            contest_id=contest.id,
            place=place,
            entry_id=entry.id,
            score=standing.score,
            reached_at=standing.reached_at,
            prize_minor=prize if card_id else 0,
            card_id=card_id,
        )
        session.add(result)
        session.flush()
        _tell(session, contest, entry, result, len(ranked), channels)
    return True


def finish_due(session: Session, now: datetime, keyring: Keyring, channels: Channels) -> int:
    """Finish every contest that is due, each in a savepoint of the caller's transaction
    (one that fails stays open for the next run, and is logged). How many finished."""
    due = session.scalars(
        select(Contest.id).where(_due(now)).order_by(Contest.ends_at, Contest.id)
    ).all()
    finished = 0
    for contest_id in due:
        try:
            with session.begin_nested():
                finished += finish(session, contest_id, now, keyring, channels)
        except Exception:
            log.exception("contest %s not finished: it stays open for the next run", contest_id)
    return finished
