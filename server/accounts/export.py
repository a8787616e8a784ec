"""A person's data, all of it, as one JSON document (`GET /me/export`): the account, its
sessions and devices, the cards and vouchers with their codes and history, the gifts they
bought (to whom, their message, their state; never the claim code), the businesses
owned or worked for, notifications (preferences, inbox, every message sent or due, push
registrations) and what the fraud rules counted about the account. Secrets are not in it:
no password hash, no two-step secret, no one-time or recovery codes, no refresh tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..deals.models import Deal, Voucher
from ..directory.models import Business, StaffMember
from ..fraud.models import ClientDevice, FraudActivity, SignInNotice
from ..gifts.models import Gift
from ..notifications.models import (
    ACCOUNT_MAIL_KINDS,
    InboxItem,
    Notification,
    NotificationPreference,
    PushDevice,
)
from ..wallet.models import GiftCard, Transfer
from . import repository
from .models import AccountSession, User

__all__ = ["FORMAT", "export_account"]

FORMAT = "tillpoint-account-export/1"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _cards(session: Session, user: User) -> list[dict[str, Any]]:
    cards = session.scalars(
        select(GiftCard).where(GiftCard.owner_id == user.id).order_by(GiftCard.issued_at)
    ).all()
    found = []
    for card in cards:
        transfers = session.scalars(
            select(Transfer).where(Transfer.card_id == card.id).order_by(Transfer.id)
        ).all()
        found.append(
            {
                "id": card.id,
                "business_id": card.business_id,
                "currency": card.currency,
                "balance_minor": card.account.balance_minor,
                "status": card.status.value,
                "issued_at": _when(card.issued_at),
                "expires_at": _when(card.expires_at),
                "code": card.token,
                "history": [
                    {
                        "operation_id": t.operation_id,
                        "kind": t.kind.value,
                        "amount_minor": t.amount_minor,
                        "at": _when(t.created_at),
                        "memo": t.memo,
                    }
                    for t in transfers
                ],
            }
        )
    return found


def _vouchers(session: Session, user: User) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Voucher, Deal.title)
        .join(Deal, Deal.id == Voucher.deal_id)
        .where(Voucher.owner_id == user.id)
        .order_by(Voucher.issued_at)
    ).all()
    return [
        {
            "id": v.id,
            "deal_id": v.deal_id,
            "deal": title,
            "business_id": v.business_id,
            "face_minor": v.face_minor,
            "currency": v.currency,
            "status": v.status.value,
            "issued_at": _when(v.issued_at),
            "expires_at": _when(v.expires_at),
            "redeemed_at": _when(v.redeemed_at),
            "code": v.token,
        }
        for v, title in rows
    ]


def _businesses(session: Session, user: User) -> list[dict[str, Any]]:
    staff = select(StaffMember.business_id).where(StaffMember.user_id == user.id)
    rows = session.scalars(
        select(Business).where(or_(Business.owner_id == user.id, Business.id.in_(staff)))
    ).all()
    return [
        {
            "id": b.id,
            "name": b.name,
            "as": "owner" if b.owner_id == user.id else "cashier",
            "created_at": _when(b.created_at),
        }
        for b in rows
    ]


def _sessions(session: Session, user: User) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(AccountSession)
        .where(AccountSession.user_id == user.id)
        .order_by(AccountSession.created_at)
    ).all()
    return [
        {
            "id": s.id,
            "user_agent": s.user_agent,
            "address": s.address,
            "created_at": _when(s.created_at),
            "last_used_at": _when(s.last_used_at),
            "ended_at": _when(s.ended_at),
        }
        for s in rows
    ]


def _devices(session: Session, user: User) -> dict[str, list[dict[str, Any]]]:
    devices = session.scalars(select(ClientDevice).where(ClientDevice.user_id == user.id)).all()
    notices = session.scalars(select(SignInNotice).where(SignInNotice.user_id == user.id)).all()
    return {
        "devices": [
            {
                "id": d.id,
                "install_id": d.install_id,
                "user_agent": d.user_agent,
                "address": d.address,
                "sign_ins": d.sign_ins,
                "first_seen_at": _when(d.first_seen_at),
                "last_seen_at": _when(d.last_seen_at),
            }
            for d in devices
        ],
        "sign_in_notices": [
            {"detail": n.detail, "created_at": _when(n.created_at)} for n in notices
        ],
    }


def _notifications(session: Session, user: User) -> dict[str, list[dict[str, Any]]]:
    preferences = session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id)
    ).all()
    inbox = session.scalars(
        select(InboxItem).where(InboxItem.user_id == user.id).order_by(InboxItem.created_at)
    ).all()
    messages = session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()
    phones = session.scalars(select(PushDevice).where(PushDevice.user_id == user.id)).all()
    return {
        "preferences_changed": [
            {"kind": p.kind.value, "channel": p.channel.value, "enabled": p.enabled}
            for p in preferences
        ],
        "inbox": [
            {
                "id": i.id,
                "kind": i.kind.value,
                "title": i.title,
                "body": i.body,
                "created_at": _when(i.created_at),
                "read_at": _when(i.read_at),
            }
            for i in inbox
        ],
        "messages": [
            {
                "kind": m.kind.value,
                "channel": m.channel.value,
                "title": m.title,
                "body": "" if m.kind in ACCOUNT_MAIL_KINDS else m.body_text,
                "status": m.status.value,
                "created_at": _when(m.created_at),
                "sent_at": _when(m.sent_at),
            }
            for m in messages
        ],
        "push_devices": [{"id": p.id, "created_at": _when(p.created_at)} for p in phones],
    }


def _fraud_activity(session: Session, user: User) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(FraudActivity).where(FraudActivity.customer_id == user.id).order_by(FraudActivity.id)
    ).all()
    return [
        {
            "event": a.event.value,
            "at": _when(a.at),
            "address": a.address,
            "business_id": a.business_id,
            "card_id": a.card_id,
            "amount_minor": a.amount_minor,
            "currency": a.currency,
            "failed": a.failed,
        }
        for a in rows
    ]


def _gifts(session: Session, user: User) -> list[dict[str, Any]]:
    found = session.scalars(
        select(Gift).where(Gift.buyer_id == user.id).order_by(Gift.created_at)
    ).all()
    return [
        {
            "id": gift.id,
            "card_id": gift.card_id,
            "business_id": gift.business_id,
            "amount_minor": gift.amount_minor,
            "currency": gift.currency,
            "from_name": gift.from_name,
            "recipient_email": gift.recipient_email,
            "recipient_name": gift.recipient_name,
            "message": gift.message,
            "state": gift.state.value,
            "deliver_at": _when(gift.deliver_at),
            "sent_at": _when(gift.sent_at),
            "claimed_at": _when(gift.claimed_at),
            "cancelled_at": _when(gift.cancelled_at),
        }
        for gift in found
    ]


def export_account(session: Session, user: User, now: datetime) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "exported_at": now.isoformat(),
        "account": {
            "id": user.id,
            "email": user.email,
            "role": user.role.value,
            "created_at": _when(user.created_at),
            "email_verified_at": _when(user.email_verified_at),
            "two_step_since": _when(user.mfa_enabled_at),
            "recovery_codes_left": repository.recovery_codes_left(session, user.id),
        },
        "sessions": _sessions(session, user),
        **_devices(session, user),
        "gift_cards": _cards(session, user),
        "vouchers": _vouchers(session, user),
        "gifts_bought": _gifts(session, user),
        "businesses": _businesses(session, user),
        "notifications": _notifications(session, user),
        "fraud_activity": _fraud_activity(session, user),
    }
