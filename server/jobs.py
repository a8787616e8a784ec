"""The jobs that keep time-bound things honest: card expiry, hold expiry, deal ends, the
results of contests that have ended; the folding of businesses' liability changes, and the
payments owed back that were not refunded at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from .contests.results import finish_due
from .deals.service import end_deals
from .keys.keyring import Keyring
from .notifications.outbox import Channels
from .payments import PaymentGateway
from .wallet.cards import expire_cards, expire_holds
from .wallet.ledger import fold_liabilities
from .wallet.purchase import give_back

__all__ = ["JobsDone", "run_due_jobs"]


@dataclass(frozen=True)
class JobsDone:
    cards: int
    holds: int
    deals: int
    contests: int
    liabilities: int
    refunds: int


def run_due_jobs(
    session: Session,
    now: datetime,
    keyring: Keyring,
    channels: Channels,
    gateway: PaymentGateway,
) -> JobsDone:
    """Run every due job in one transaction; running it again at once finds nothing due.
    Contests' prize cards are signed with `keyring`; their winners are told on `channels`.
    Then fold the liability changes of businesses that have many, one business at a time,
    and give back through `gateway` the payments still owed (`wallet.purchase.give_back`)."""
    cards = expire_cards(session, now)
    holds = expire_holds(session, now)
    deals = end_deals(session, now)
    contests = finish_due(session, now, keyring, channels)
    session.commit()
    return JobsDone(
        cards, holds, deals, contests, fold_liabilities(session), give_back(gateway, session)
    )
