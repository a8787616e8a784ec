"""Scores, from the ledger and the records beside it, and the standings they make.

What counts (docs/community.md, "Contests"), between the contest's start (included) and its
end (excluded):

- `donated`: a customer's donations to clubs; a club's donations received and kept. Only
  money that came in from outside counts — a donation whose ledger transfer was paid through
  the gateway (debits a clearing account). Value already inside the platform (a card's
  balance, another fund) may have come out of the club it goes back to, so it does not count.
  A donation refunded counts nothing, as if it had never been made (so it moves no
  `reached_at` either); the results wait until none can be refunded (`results`).
- `redeemed`: what the entrant's gift cards of the participating businesses paid there
  (redemptions, offline ones, posted holds), less what was refunded of those redemptions.
  Each card counts at most the value paid into it from outside: bought through the gateway,
  plus value moved onto it from another card, less value moved off it. A prize card (its
  value came from the organiser) counts nothing, and a redemption refunded and spent again
  counts once.
- `businesses`: the participating businesses where the entrant's cards counted above zero.
- `points`: what the organisers recorded.

A club's score is its members' (for `redeemed` and `businesses`: the cards of the members on
its roster) or its own (donations received, points recorded for it).

Ties go to whoever got there first: `reached_at` is when the event (transfer, donation,
points) that brought the entrant to its final score happened, the score not changing after;
an entrant whose score never moved got there when it entered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from ..community.models import Donation
from ..wallet.models import GiftCard, LedgerAccount, Purpose, Transfer, TransferKind
from .models import Contest, ContestEntry, ContestPoints, EntrantKind, Measure

__all__ = ["REDEMPTION_KINDS", "Standing", "standings"]

REDEMPTION_KINDS = frozenset(
    {TransferKind.REDEMPTION, TransferKind.OFFLINE_REDEMPTION, TransferKind.HOLD_POSTED}
)


@dataclass(frozen=True)
class Standing:
    entry_id: str
    score: int
    reached_at: datetime


@dataclass(frozen=True, order=True)
class _Move:
    """One event that moves a score: when, a tie-break among events at one instant, what
    it is about (a card, or the entry itself) and by how much."""

    at: datetime
    order: str
    about: str
    amount: int


@dataclass
class _Cards:
    """The entrants' cards: each card's business and the value paid into it from outside."""

    business: dict[str, str] = field(default_factory=dict)
    paid_in: dict[str, int] = field(default_factory=lambda: defaultdict(int))


Roster = Callable[[ContestEntry], list[str]]


def _people(entry: ContestEntry, roster: Roster) -> list[str]:
    if entry.kind is EntrantKind.CUSTOMER:
        return [entry.user_id] if entry.user_id else []
    return roster(entry)


def _in_period(contest: Contest, at: datetime) -> bool:
    return contest.starts_at <= at < contest.ends_at


def _donation_moves(
    session: Session, contest: Contest, entries: list[ContestEntry]
) -> dict[str, list[_Move]]:
    debit = aliased(LedgerAccount)
    rows = session.execute(
        select(Donation.id, Donation.donor_id, Donation.club_id, Donation.amount_minor)
        .add_columns(Donation.created_at)
        .join(Transfer, Transfer.operation_id == Donation.operation_id)
        .join(debit, debit.id == Transfer.debit_account_id)
        .where(
            Donation.created_at >= contest.starts_at,
            Donation.created_at < contest.ends_at,
            Donation.currency == contest.currency,
            debit.purpose == Purpose.CLEARING,  # paid in from outside
            Donation.refunded_at.is_(None),  # given back: never received
        )
    ).all()
    by_donor: dict[str, list[_Move]] = defaultdict(list)
    by_club: dict[str, list[_Move]] = defaultdict(list)
    for donation_id, donor_id, club_id, amount, at in rows:
        move = _Move(at, donation_id, "", int(amount))
        by_donor[donor_id].append(move)
        by_club[club_id].append(move)
    return {
        entry.id: (by_club if entry.kind is EntrantKind.CLUB else by_donor).get(
            str(entry.club_id if entry.kind is EntrantKind.CLUB else entry.user_id), []
        )
        for entry in entries
    }


def _point_moves(session: Session, contest: Contest) -> dict[str, list[_Move]]:
    moves: dict[str, list[_Move]] = defaultdict(list)
    for row in session.scalars(select(ContestPoints).where(ContestPoints.contest_id == contest.id)):
        moves[row.entry_id].append(_Move(row.recorded_at, f"{row.id:020d}", "", row.points))
    return moves


def _card_moves(
    session: Session, contest: Contest, owners: Iterable[str]
) -> tuple[_Cards, dict[str, list[_Move]]]:
    """Each owner's card moves in the period (redemptions +, their refunds −), and what was
    paid into each card from outside before the end."""
    cards = _Cards()
    owner_of: dict[str, str] = {}
    account_of: dict[int, str] = {}
    found = session.execute(
        select(GiftCard.id, GiftCard.owner_id, GiftCard.business_id, GiftCard.account_id).where(
            GiftCard.owner_id.in_(list(owners)),
            GiftCard.business_id.in_(list(contest.participating)),
            GiftCard.currency == contest.currency,
        )
    ).all()
    for card_id, owner_id, business_id, account_id in found:
        cards.business[card_id] = business_id
        owner_of[card_id] = str(owner_id)
        account_of[account_id] = card_id
    moves: dict[str, list[_Move]] = defaultdict(list)
    if not found:
        return cards, moves
    debit = aliased(LedgerAccount)
    rows = session.execute(
        select(Transfer, debit.purpose)
        .join(debit, debit.id == Transfer.debit_account_id)
        .where(
            or_(
                Transfer.card_id.in_(list(cards.business)),
                Transfer.credit_account_id.in_(list(account_of)),  # value moved onto a card
            ),
            Transfer.created_at < contest.ends_at,
        )
        .order_by(Transfer.id)
    ).all()
    redemptions: set[str] = set()
    for transfer, debit_purpose in rows:
        card_id = str(transfer.card_id)
        into = account_of.get(transfer.credit_account_id)
        kind = transfer.kind
        if kind is TransferKind.PURCHASE and into and debit_purpose is Purpose.CLEARING:
            cards.paid_in[into] += transfer.amount_minor
        elif kind is TransferKind.CARD_TRANSFER:
            out_of = account_of.get(transfer.debit_account_id)
            if into:
                cards.paid_in[into] += transfer.amount_minor
            if out_of:
                cards.paid_in[out_of] -= transfer.amount_minor
        elif card_id not in owner_of:
            continue
        elif kind in REDEMPTION_KINDS and _in_period(contest, transfer.created_at):
            redemptions.add(transfer.operation_id)
            move = _Move(transfer.created_at, f"{transfer.id:020d}", card_id, transfer.amount_minor)
            moves[owner_of[card_id]].append(move)
        elif (
            kind is TransferKind.REFUND
            and transfer.refund_of in redemptions
            and _in_period(contest, transfer.created_at)
        ):
            move = _Move(
                transfer.created_at, f"{transfer.id:020d}", card_id, -transfer.amount_minor
            )
            moves[owner_of[card_id]].append(move)
    return cards, moves


def _score_after(measure: Measure, cards: _Cards, net: dict[str, int], total: int) -> int:
    if measure not in (Measure.REDEEMED, Measure.BUSINESSES):
        return total
    counted = {
        card: max(0, min(amount, cards.paid_in.get(card, 0))) for card, amount in net.items()
    }
    if measure is Measure.REDEEMED:
        return sum(counted.values())
    return len({cards.business[card] for card, amount in counted.items() if amount > 0})


def _standing(entry: ContestEntry, measure: Measure, cards: _Cards, moves: list[_Move]) -> Standing:
    net: dict[str, int] = defaultdict(int)
    total = 0
    timeline: list[tuple[datetime, int]] = []
    for move in sorted(moves):
        net[move.about] += move.amount
        total += move.amount
        timeline.append((move.at, _score_after(measure, cards, net, total)))
    final = timeline[-1][1] if timeline else 0
    reached = entry.entered_at
    for at, score in reversed(timeline):  # back to the event that first made it final
        if score != final:
            break
        reached = at
    return Standing(entry.id, final, reached)


def standings(
    session: Session, contest: Contest, entries: list[ContestEntry], roster: Roster
) -> list[Standing]:
    """Every entry's score, best first: the higher score, then who got there first, then
    who entered first."""
    moves: dict[str, list[_Move]]
    cards = _Cards()
    if contest.measure is Measure.DONATED:
        moves = _donation_moves(session, contest, entries)
    elif contest.measure is Measure.POINTS:
        moves = _point_moves(session, contest)
    else:
        people = {entry.id: _people(entry, roster) for entry in entries}
        everyone = {person for group in people.values() for person in group}
        cards, by_person = _card_moves(session, contest, everyone)
        moves = {
            entry.id: [move for person in people[entry.id] for move in by_person.get(person, [])]
            for entry in entries
        }
    found = [_standing(e, contest.measure, cards, moves.get(e.id, [])) for e in entries]
    entered = {entry.id: (entry.entered_at, entry.id) for entry in entries}
    return sorted(found, key=lambda s: (-s.score, s.reached_at, entered[s.entry_id]))
