"""The jobs that keep time-bound things honest: card expiry, hold expiry, deal ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from .deals.service import end_deals
from .wallet.cards import expire_cards, expire_holds

__all__ = ["JobsDone", "run_due_jobs"]


@dataclass(frozen=True)
class JobsDone:
    cards: int
    holds: int
    deals: int


def run_due_jobs(session: Session, now: datetime) -> JobsDone:
    """Run every due job in one transaction; running it again at once finds nothing due."""
    done = JobsDone(
        cards=expire_cards(session, now),
        holds=expire_holds(session, now),
        deals=end_deals(session, now),
    )
    session.commit()
    return done
