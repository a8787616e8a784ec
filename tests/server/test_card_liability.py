"""A business's gift-card liability is kept as changes, one a sale, and folded into one row
by the limit's check and by the jobs' round: what the cards hold, whichever way it is read."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.wallet import ledger
from server.wallet.models import CardLiability, GiftCard
from tests.server.api import buy_card


def _rows(session: Session, business_id: str) -> int:
    mine = CardLiability.business_id == business_id
    return len(session.scalars(select(CardLiability.id).where(mine)).all())


def _cards_hold(session: Session, business_id: str) -> int:
    return sum(
        ledger.balance(session, card.account_id)
        for card in session.scalars(select(GiftCard).where(GiftCard.business_id == business_id))
    )


def test_the_jobs_fold_a_business_s_sales_into_one_row(shop, customer, sessions):
    card = buy_card(customer, shop, 5000).json()
    for _ in range(8):
        assert shop.redeem(150, card_id=card["id"]).status_code == 200
    with sessions() as session:
        assert _rows(session, shop.business_id) == 9  # the purchase and each redemption
        assert ledger.card_liability(session, shop.business_id, "GBP") == 5000 - 8 * 150
        assert ledger.fold_liabilities(session, at_least=5) == 1
        assert _rows(session, shop.business_id) == 1
        assert ledger.card_liability(session, shop.business_id, "GBP") == 3800
        assert _cards_hold(session, shop.business_id) == 3800
        assert ledger.fold_liabilities(session, at_least=5) == 0  # nothing piled up since
