"""Deleting an account: the person's data goes; what they paid for stays spendable.

The rule (docs/api.md, "Deleting an account"):
- Gift cards and vouchers are kept, with their balances, spendable by their code (the QR
  code the person saved or printed — the answer lists the ones with value left) at the
  business's till. They stay owned by the account's row, which keeps only its id: no email,
  no password, no way to sign in; nobody can see them in an app any more.
- Erased: the email, the password, two-step sign-in, sessions and refresh tokens, the
  devices signed in from and their notices, push registrations, notification preferences,
  the inbox and every message addressed to the person, one-time codes; a cashier's link to
  their business; the network addresses the fraud rules counted for the account; the
  buyer's email and name on the gifts they bought (a gift not sent yet still goes, from
  "Someone").
- Kept without the person: the ledger (money moved is the businesses' record), the fraud
  rules' decisions (they name the account id, which no longer leads to anyone), and the
  payment cards' keys on donations and fraud records (`payments.payment_card_key`: a token
  and four digits, never the number): a donation refunded later gives the card's daily
  room back by it, and the fraud rules count a card across accounts.
- A vendor owner who still owns a business is refused: the business needs an owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sync.money import Money
from sync.wire import CardStatus, VoucherStatus

from ..deals.models import Voucher
from ..directory.models import Business, StaffMember
from ..errors import AccountOwnsBusinesses
from ..fraud.models import ClientDevice, FraudActivity, SignInNotice
from ..gifts.models import Gift
from ..notifications.models import (
    InboxItem,
    Notification,
    NotificationPreference,
    PushDevice,
)
from ..wallet.models import GiftCard
from .models import AccountCode, AccountSession, RecoveryCode, RefreshToken, RevokedDevice, User
from .repository import revoke_user_families

__all__ = ["KeptCard", "KeptVoucher", "delete_account", "erased_email"]


@dataclass(frozen=True, slots=True)
class KeptCard:
    id: str
    business: str
    balance: Money
    code: str  # the QR code's text


@dataclass(frozen=True, slots=True)
class KeptVoucher:
    id: str
    business: str
    code: str


@dataclass(frozen=True, slots=True)
class Deleted:
    families: list[str]  # the sessions ended, for the deny list
    cards: list[KeptCard]
    vouchers: list[KeptVoucher]


def erased_email(user_id: str) -> str:
    return f"deleted-{user_id}@deleted.invalid"


def _kept(session: Session, user: User) -> tuple[list[KeptCard], list[KeptVoucher]]:
    cards: Sequence[GiftCard] = session.scalars(
        select(GiftCard)
        .where(GiftCard.owner_id == user.id, GiftCard.status == CardStatus.ACTIVE)
        .order_by(GiftCard.issued_at)
    ).all()
    vouchers = session.scalars(
        select(Voucher)
        .where(Voucher.owner_id == user.id, Voucher.status == VoucherStatus.ISSUED)
        .order_by(Voucher.issued_at)
    ).all()
    ids = {c.business_id for c in cards} | {v.business_id for v in vouchers}
    names = {b.id: b.name for b in session.scalars(select(Business).where(Business.id.in_(ids)))}
    kept_cards = [
        KeptCard(
            c.id,
            names.get(c.business_id, ""),
            Money.of(c.account.balance_minor, c.currency),
            c.token,
        )
        for c in cards
        if c.account.balance_minor > 0
    ]
    kept_vouchers = [KeptVoucher(v.id, names.get(v.business_id, ""), v.token) for v in vouchers]
    return kept_cards, kept_vouchers


def delete_account(session: Session, user: User, now: datetime) -> Deleted:
    owned = session.scalar(select(Business.id).where(Business.owner_id == user.id).limit(1))
    if owned is not None:
        raise AccountOwnsBusinesses(
            "You still own a business: hand it to another owner or close it first, then "
            "delete your account."
        )
    cards, vouchers = _kept(session, user)
    families = revoke_user_families(session, user.id, now)
    devices = select(ClientDevice.id).where(ClientDevice.user_id == user.id)
    for statement in (
        delete(RefreshToken).where(RefreshToken.user_id == user.id),
        delete(AccountSession).where(AccountSession.user_id == user.id),
        delete(RevokedDevice).where(RevokedDevice.user_id == user.id),
        delete(AccountCode).where(AccountCode.user_id == user.id),
        delete(RecoveryCode).where(RecoveryCode.user_id == user.id),
        delete(SignInNotice).where(SignInNotice.device_id.in_(devices)),
        delete(SignInNotice).where(SignInNotice.user_id == user.id),
        delete(ClientDevice).where(ClientDevice.user_id == user.id),
        delete(PushDevice).where(PushDevice.user_id == user.id),
        delete(NotificationPreference).where(NotificationPreference.user_id == user.id),
        delete(InboxItem).where(InboxItem.user_id == user.id),
        delete(Notification).where(Notification.user_id == user.id),
        delete(StaffMember).where(StaffMember.user_id == user.id),
        update(FraudActivity).where(FraudActivity.customer_id == user.id).values(address=None),
        update(Gift).where(Gift.buyer_id == user.id).values(buyer_email="", from_name=""),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    user.email = erased_email(user.id)
    user.password_hash = "!"  # not a hash: no password matches it  # noqa: S105
    user.email_verified_at = None
    user.mfa_secret = user.mfa_enabled_at = user.mfa_last_step = None
    user.deleted_at = now
    return Deleted(families, cards, vouchers)
