"""What a revoked till pushes: refused, never applied (a lost or stolen till could forge
sales), yet not unseen. A till revoked by mistake may hold sales it approved offline
before it knew: the goods were handed over, and the cards were never charged. The first
push that brings such events opens one incident for the owner (notified as every incident
is), saying how many, how much, and what to do; a push sent again changes nothing.

The events are kept, as they came (signed), in the record of pushed events with a
`rejected` answer, so that each is counted once however often the till sends it, and the
incident names the till as the others do (`lists.incidents`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.money import Money, MoneyError
from sync.wire import (
    AttemptWithdrawn,
    EventStatus,
    GiftCardRedemption,
    IncidentKind,
    RedemptionVoid,
    TerminalEvent,
    VoucherRedemption,
    parse_payload,
    public_key_from_text,
)

from ..db import among, insert_rows
from ..deals.models import Voucher
from ..directory.models import Business
from ..wallet import cards
from ..wallet.models import GiftCard
from .models import Device, Incident, RedeemedItem, SyncEvent, TillRedemption

__all__ = ["REFUSED", "report"]

REFUSED = "refused: the owner revoked this till"
_LISTED = 20  # sales named one by one in the incident; the rest are counted
_FULL_PUSH = 500  # PushRequest's most: a till sending that many may hold more


def report(session: Session, device_id: str, events: list[TerminalEvent]) -> None:
    """Keep what the revoked till `device_id` sent that no push brought before, and open
    an incident for it, or bring its open one up to date. Commits."""
    session.rollback()  # a transaction of its own, with the device's row locked first
    try:
        _report(session, device_id, events)
    except IntegrityError:  # one of its event ids arrived through another request just now
        session.rollback()
        _report(session, device_id, events)


def _report(session: Session, device_id: str, events: list[TerminalEvent]) -> None:
    # Locked, so that two pushes of one till take turns, as they do when applied.
    device = session.scalar(select(Device).where(Device.id == device_id).with_for_update())
    assert device is not None
    new = _not_seen(session, device, events)
    if not new:
        session.rollback()
        return
    insert_rows(
        session,
        SyncEvent,
        [
            {
                "id": e.id,
                "device_id": device.id,
                "seq": e.seq,
                "type": e.type,
                "occurred_at": e.occurred_at,
                "payload": e.payload,
                "status": EventStatus.REJECTED,
                "detail": REFUSED,
            }
            for e in new
        ],
    )
    business = session.get(Business, device.business_id)
    assert business is not None
    incident = session.scalar(
        select(Incident)
        .where(
            Incident.business_id == device.business_id,
            Incident.kind == IncidentKind.REVOKED_TILL_SALES,
            Incident.subject_id == device.id,
            Incident.resolved_at.is_(None),
        )
        .order_by(Incident.created_at.desc())
        .limit(1)
    )
    if incident is None:
        covered = new
        incident = Incident(
            business_id=device.business_id,
            kind=IncidentKind.REVOKED_TILL_SALES,
            subject_id=device.id,
            event_id=new[0].id,
            currency=business.currency,
        )
        session.add(incident)
    else:  # what this incident reported, and what came since
        covered = _refused_since(session, device.id, incident.event_id)
    tally = _Tally.of(covered, business.currency)
    with session.no_autoflush:  # the new incident has no words yet
        tally.taken_online = _taken_online(session, device.id, tally.withdrawn_keys)
    incident.amount_minor = tally.total
    incident.detail = tally.words(device.name, business.id, business.currency, len(events))
    session.commit()


def _not_seen(session: Session, device: Device, events: list[TerminalEvent]) -> list[TerminalEvent]:
    """The events of `device`'s own signing that no push recorded yet (in its order, each
    id and sequence number once): what the till sent and nobody has counted."""
    key = public_key_from_text(device.public_key)
    ids, seqs = [e.id for e in events], [e.seq for e in events]
    known_ids = set(session.scalars(select(SyncEvent.id).where(among(session, SyncEvent.id, ids))))
    known_seqs = set(
        session.scalars(
            select(SyncEvent.seq).where(
                SyncEvent.device_id == device.id, among(session, SyncEvent.seq, seqs)
            )
        )
    )
    new: list[TerminalEvent] = []
    for event in sorted(events, key=lambda e: e.seq):
        if (
            event.id in known_ids
            or event.seq in known_seqs
            or event.seq <= device.last_seq
            or not event.signature_holds(key)
        ):
            continue
        known_ids.add(event.id)
        known_seqs.add(event.seq)
        new.append(event)
    return new


def _refused_since(session: Session, device_id: str, first_id: str) -> list[TerminalEvent]:
    """The till's refused events from `first_id` (its open incident's first) on."""
    first = session.get(SyncEvent, first_id)
    rows = session.scalars(
        select(SyncEvent)
        .where(
            SyncEvent.device_id == device_id,
            SyncEvent.detail == REFUSED,
            SyncEvent.seq >= (first.seq if first is not None else 0),
        )
        .order_by(SyncEvent.seq)
    )
    return [TerminalEvent(r.id, r.seq, r.type, r.occurred_at, r.payload) for r in rows]


def _taken_online(
    session: Session, device_id: str, keys: list[str]
) -> list[tuple[str, Money, str]]:
    """What the server took online, and still holds, under the attempts the revoked till
    `device_id` withdrew (`keys`): sales whose answer the till lost, after which the
    cashier took another payment, so the customer paid twice. Each with what to do."""
    if not keys:
        return []
    rows = session.scalars(
        select(TillRedemption)
        .where(
            TillRedemption.device_id == device_id,
            among(session, TillRedemption.attempt_key, keys),
            TillRedemption.event_id.is_(None),  # applied online, not an offline sale
            TillRedemption.voided_by.is_(None),
        )
        .order_by(TillRedemption.id)
    )
    taken: list[tuple[str, Money, str]] = []
    for row in rows:
        if row.item is RedeemedItem.VOUCHER:
            voucher = session.get(Voucher, row.subject_id)
            if voucher is not None:
                face = Money.of(voucher.face_minor, voucher.currency)
                taken.append((f"voucher {voucher.id}", face, "honour it if they come back"))
            continue
        card = session.get(GiftCard, row.subject_id)
        given = cards.given_back(session, row.operation_id) if row.operation_id else 0
        if card is not None and row.amount_minor > given:
            left = Money.of(row.amount_minor - given, card.currency)
            taken.append((f"card {card.id}", left, "refund it"))
    return taken


@dataclass
class _Tally:
    """The refused events as the owner reads them: the sales (less those voided among
    them), the voids of sales the server had recorded, the withdrawals of online attempts
    (what the server took under them is `taken_online`), and the rest."""

    sales: list[tuple[str, Money]] = field(default_factory=list)
    given_back: list[tuple[str, Money]] = field(default_factory=list)
    withdrawn_keys: list[str] = field(default_factory=list)
    taken_online: list[tuple[str, Money, str]] = field(default_factory=list)
    others: int = 0
    total: int = 0  # the sales in the business's currency, in minor units

    @classmethod
    def of(cls, events: Sequence[TerminalEvent], currency: str) -> _Tally:
        tally = cls()
        sales: dict[str, tuple[str, Money]] = {}  # by attempt key (or event id), in order
        voids: list[tuple[str, tuple[str, Money]]] = []
        for event in events:
            try:
                payload = parse_payload(event.type, event.payload)
                if isinstance(payload, AttemptWithdrawn):
                    if payload.attempt_key not in tally.withdrawn_keys:
                        tally.withdrawn_keys.append(payload.attempt_key)
                    continue
                if not isinstance(payload, GiftCardRedemption | VoucherRedemption | RedemptionVoid):
                    raise ValueError("not money")
                amount = Money.of(payload.amount_minor, payload.currency or currency)
                if amount.minor <= 0:
                    raise ValueError("no amount")
            except (ValueError, MoneyError):
                tally.others += 1
                continue
            if isinstance(payload, GiftCardRedemption):
                sales[payload.attempt_key or event.id] = (f"card {payload.card_id}", amount)
            elif isinstance(payload, VoucherRedemption):
                sales[payload.attempt_key or event.id] = (f"voucher {payload.voucher_id}", amount)
            else:
                voids.append((payload.attempt_key, (f"card {payload.card_id}", amount)))
        for attempt_key, void in voids:
            if sales.pop(attempt_key, None) is None:  # a sale the server had: not refused
                tally.given_back.append(void)
        tally.sales = list(sales.values())
        tally.total = sum(m.minor for _, m in tally.sales if m.currency.code == currency)
        return tally

    def words(self, till: str, business_id: str, currency: str, sent: int) -> str:
        count = len(self.sales)
        parts = [f"Till {till} was revoked, but it still sent what it did before it knew."]
        if count:
            total = Money.of(self.total, currency).format()
            parts.append(
                f"It had approved {count} {'sale' if count == 1 else 'sales'} offline, "
                f"{total} in all: {_listed(self.sales)}. The server refused them (a lost "
                "or stolen till could forge them), so the cards and vouchers were not "
                "charged, although the goods were handed over."
            )
        if self.given_back:
            parts.append(
                "It voided sales the server had recorded, giving the money back at the "
                f"counter; the server did not: {_listed(self.given_back)}."
            )
        if self.taken_online:
            listed = "; ".join(
                f"{what}: {amount.format()} was taken online and the till withdrew it: {todo}"
                for what, amount, todo in self.taken_online[:_LISTED]
            )
            rest = len(self.taken_online) - _LISTED
            parts.append(
                "It withdrew online sales whose answer it had lost (the cashier then took "
                "another payment), and the server, refusing the push, did not give them "
                f"back: {listed}{f'; and {rest} more' if rest > 0 else ''}."
            )
        if withdrawn := len(self.withdrawn_keys) - len(self.taken_online):
            parts.append(
                f"{withdrawn} other withdrawn online "
                f"{'attempt needs' if withdrawn == 1 else 'attempts need'} nothing from you "
                "(nothing was taken, or it was given back already)."
            )
        if self.others:
            parts.append(f"{self.others} other events (listing edits) were not applied.")
        if sent >= _FULL_PUSH:
            parts.append(f"A till sends {_FULL_PUSH} events at a time: it may hold more.")
        parts.append(
            "If the revocation was a mistake: pair the till again with a new code, then take "
            "these sales off the cards and vouchers yourself (POST /api/v1/businesses/"
            f"{business_id}/redemptions with each card_id and amount_minor, and "
            "…/voucher-redemptions with each voucher_id), and give back what was voided. If "
            "the till was lost or stolen, check each sale with the staff first: a sale "
            "nobody made was forged."
        )
        return " ".join(parts)


def _listed(items: list[tuple[str, Money]]) -> str:
    named = ", ".join(f"{what} {amount.format()}" for what, amount in items[:_LISTED])
    rest = len(items) - _LISTED
    return named + (f" and {rest} more" if rest > 0 else "")
