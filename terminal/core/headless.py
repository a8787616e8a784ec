"""The till without a screen, for a shop's own POS: redeem, look up, void — through the same
session and till the screens use (online first, offline within the limits, the outbox).

Each call answers an `Answer`: one JSON-ready document, the same words in a sentence, and the
exit code `tillpoint redeem|balance|void` ends with. What cannot be asked at all (not a
Tillpoint code, a bad amount, an unknown reference, an unpaired terminal) raises a
`HeadlessError` carrying its own code. The CLI and the local POS API are thin layers over this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.money import Money, MoneyError
from sync.tokens import Kind, TokenError, decode, id_text
from sync.wire import MoneyPublic

from .kinds import CardStatus, Mode, RedemptionKind
from .presented import NotATokenError, Presented, present
from .session import TerminalSession
from .staff import Person, person_named
from .store import DamagedStoreError, damage_named
from .till import Verdict, VoidRefusedError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_DAMAGED",
    "EXIT_DECLINED",
    "EXIT_NOT_READY",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "Answer",
    "BadInputError",
    "DamagedError",
    "HeadlessError",
    "HeadlessTill",
    "NotReadyError",
    "damage_told",
]

EXIT_OK = 0  # approved, voided, or the balance is known
EXIT_DECLINED = 1  # the server said no (or policy refused the void): the reason says why
EXIT_BAD_INPUT = 2  # the request itself was wrong: fix it, do not retry as is
EXIT_UNREACHABLE = 3  # no server, and the till could not decide it offline (as `tillpoint sync`)
EXIT_NOT_READY = 5  # no terminal database there, or the terminal is not paired
EXIT_DAMAGED = 6  # the terminal database is damaged: restore it or pair again (as `sync`)


class HeadlessError(Exception):
    """The request could not be asked; `kind` and `exit_code` say which way."""

    kind = "error"
    exit_code = EXIT_BAD_INPUT

    def document(self) -> dict[str, Any]:
        return {"error": self.kind, "message": str(self)}


class BadInputError(HeadlessError):
    """Not a Tillpoint code, an amount that cannot be read, an unknown reference."""

    kind = "bad_input"
    exit_code = EXIT_BAD_INPUT


class NotReadyError(HeadlessError):
    """The terminal cannot work yet: no database there, or not paired."""

    kind = "not_ready"
    exit_code = EXIT_NOT_READY


class DamagedError(HeadlessError):
    """The terminal's database is damaged; the message says what to do."""

    kind = "damaged"
    exit_code = EXIT_DAMAGED


@contextmanager
def damage_told(path: Path) -> Iterator[None]:
    """SQLite's word that the database at `path` is damaged, as a DamagedError."""
    try:
        with damage_named(path):
            yield
    except DamagedStoreError as exc:
        raise DamagedError(str(exc)) from None


@dataclass(frozen=True)
class Answer:
    document: dict[str, Any]  # what --json prints and the POS API answers
    words: str  # the same, for a person
    exit_code: int


def last_sync(synced_at: str | None, now: datetime | None = None) -> str:
    """When this terminal last synced, for a person: in local time, without the date when
    it was today ("13:32 today", "30 Nov 18:05"), or "never"."""
    if not synced_at:
        return "never"
    at = datetime.fromisoformat(synced_at).astimezone()
    today = (now or datetime.now(UTC)).astimezone().date()
    return f"{at:%H:%M} today" if at.date() == today else f"{at.day} {at:%b %H:%M}"


def _money(money: Money | None) -> dict[str, Any] | None:
    return None if money is None else MoneyPublic.of(money).model_dump()


class HeadlessTill:
    """Redeem, look up and void by code and reference, over one `TerminalSession`."""

    def __init__(self, session: TerminalSession) -> None:
        self.session = session

    def _ready(self) -> None:
        if not self.session.store.paired():
            raise NotReadyError(
                f"{self.session.data} is not paired yet: run `tillpoint terminal pair` first"
            )

    def _presented(self, code: str) -> Presented:
        try:
            return present(code, self.session.store)
        except NotATokenError as exc:
            raise BadInputError(str(exc)) from None

    def _deal_title(self, token: str) -> str | None:
        try:
            claims = decode(token).tillpoint
        except TokenError:
            return None
        if claims is None or claims.deal_id is None:
            return None
        deal_id = id_text(claims.deal_id)
        return next((d.title for d in self.session.store.deals() if d.id == deal_id), None)

    def _cashier(self, cashier: str | None) -> Person | None:
        """The staff member a POS names (by name or id, as synced), or None: the till
        itself. No PIN: whoever runs the headless till holds the terminal's database and
        its device key already (docs/till-staff.md)."""
        if cashier is None or not cashier.strip():
            return None
        person = person_named(self.session.store, cashier)
        if person is None:
            names = ", ".join(s.name for s in self.session.store.staff()) or "none synced yet"
            raise BadInputError(
                f"no one called {cashier.strip()!r} has a PIN at this till (its staff: "
                f"{names}); leave out --cashier to redeem as the till"
            )
        return person

    # -- redeem -------------------------------------------------------------------------

    def redeem(self, code: str, amount: str | None = None, cashier: str | None = None) -> Answer:
        """A gift card takes `amount` (as typed: "4.20", "£4.20"); a voucher is used whole,
        with no amount. `cashier` names the staff member at the POS (else the till)."""
        self._ready()
        person = self._cashier(cashier)
        presented = self._presented(code)
        deal_title = None
        if presented.kind is Kind.GIFT_CARD:
            if amount is None or not amount.strip():
                raise BadInputError("a gift card needs an amount, e.g. --amount 4.20")
            try:
                money = Money.parse(amount, presented.currency)
            except MoneyError as exc:
                raise BadInputError(f"the amount {amount!r} cannot be read: {exc}") from None
            if money.minor <= 0:
                raise BadInputError("the amount must be more than nothing")
            verdict = self.session.redeem(presented.token, money.minor, person)
            charged: Money | None = money
        else:
            if amount is not None:
                worth = presented.face_value.format() if presented.face_value else "?"
                raise BadInputError(
                    f"a voucher is used whole: leave out the amount (it is worth {worth})"
                )
            deal_title = self._deal_title(presented.token)
            verdict = self.session.redeem_voucher(presented.token, person)
            charged = presented.face_value
        return self._verdict_answer(presented, verdict, charged, deal_title, person)

    def _verdict_answer(
        self,
        presented: Presented,
        verdict: Verdict,
        amount: Money | None,
        deal_title: str | None,
        cashier: Person | None,
    ) -> Answer:
        gift_card = presented.kind is Kind.GIFT_CARD
        document: dict[str, Any] = {
            "approved": verdict.approved,
            "mode": str(verdict.mode),
            "reason": verdict.reason,
            "kind": str(RedemptionKind.GIFT_CARD if gift_card else RedemptionKind.VOUCHER),
            "subject_id": presented.subject_id,
            "amount": _money(amount),
            "balance_after": _money(verdict.balance_after) if gift_card else None,
            "reference": verdict.reference,
            "cashier": None if cashier is None else cashier.name,
        }
        if not gift_card:
            document["deal_title"] = deal_title
        if verdict.approved:
            what = amount.format() if amount else ""
            if gift_card:
                after = verdict.balance_after
                left = after.format() if after is not None else "?"  # £0.00 is known
                words = f"APPROVED {what} ({verdict.mode}): {left} left on the card."
            else:
                hand_over = f": hand over {deal_title}" if deal_title else ""
                words = f"APPROVED voucher worth {what} ({verdict.mode}){hand_over}."
            words += f" {verdict.reason} Reference {verdict.reference}."
            return Answer(document, words, EXIT_OK)
        code = EXIT_UNREACHABLE if verdict.mode is Mode.OFFLINE else EXIT_DECLINED
        return Answer(document, f"DECLINED ({verdict.mode}): {verdict.reason}", code)

    # -- balance ------------------------------------------------------------------------

    def balance(self, code: str) -> Answer:
        """What a card holds or whether a voucher can be used: after a sync when the server
        answers (mode online), else as this terminal last heard (mode offline)."""
        self._ready()
        presented = self._presented(code)
        self.session.sync()
        online = self.session.status().online is True
        mode = Mode.ONLINE if online else Mode.OFFLINE
        store = self.session.store
        synced_at = store.synced_at()
        document: dict[str, Any] = {
            "kind": str(
                RedemptionKind.GIFT_CARD
                if presented.kind is Kind.GIFT_CARD
                else RedemptionKind.VOUCHER
            ),
            "subject_id": presented.subject_id,
            "mode": str(mode),
            "synced_at": synced_at,
        }
        as_of = "now" if online else f"as of the last sync ({last_sync(synced_at)})"
        if presented.kind is Kind.GIFT_CARD:
            card = store.card(presented.subject_id)
            if card is None:
                document.update(known=False, usable=False, balance=None, status=None)
                if online:
                    return Answer(
                        document, "This card is not one of this business's cards.", EXIT_DECLINED
                    )
                return Answer(
                    document,
                    "Offline, and this terminal has not seen this card yet.",
                    EXIT_UNREACHABLE,
                )
            balance = Money.of(card.balance_minor, card.currency)
            usable = card.status is CardStatus.ACTIVE and card.balance_minor > 0
            document.update(
                known=True, usable=usable, balance=_money(balance), status=str(card.status)
            )
            words = f"Gift card {presented.short_id}: {balance.format()} {as_of}"
            if card.status is not CardStatus.ACTIVE:
                words += f", but it is {card.status}"
            return Answer(document, words + ".", EXIT_OK if usable else EXIT_DECLINED)
        used = store.voucher_used(presented.subject_id)
        title = self._deal_title(presented.token)
        face = presented.face_value
        document.update(
            known=True, usable=not used, face_value=_money(face), used=used, deal_title=title
        )
        worth = face.format() if face else "?"
        words = f"Voucher {presented.short_id} worth {worth}"
        words += f" for {title}" if title else ""
        words += f": already used ({as_of})." if used else f": not used yet ({as_of})."
        return Answer(document, words, EXIT_DECLINED if used else EXIT_OK)

    # -- void ---------------------------------------------------------------------------

    def void(self, reference: str) -> Answer:
        """Take back a gift-card redemption made here, named by its reference; queued in the
        outbox (it works offline) and pushed at once when the server answers."""
        self._ready()
        store = self.session.store
        entry = store.journal_entry(reference.strip())
        if entry is None:
            raise BadInputError(
                f"no redemption with reference {reference.strip()!r} was made at this terminal"
            )
        document: dict[str, Any] = {
            "voided": False,
            "reference": entry.attempt_key,
            "kind": str(entry.kind),
            "subject_id": entry.subject_id,
            "amount": _money(entry.amount),
            "balance_after": None,
            "synced": False,
            "reason": "",
        }
        try:
            amount = self.session.void(entry)
        except VoidRefusedError as exc:
            document["reason"] = str(exc)
            return Answer(document, f"NOT VOIDED: {exc}", EXIT_DECLINED)
        synced = self.session.sync() is not None
        card = store.card(entry.subject_id)
        after = None if card is None else Money.of(card.balance_minor, card.currency)
        reason = (
            "Voided; the server has it."
            if synced
            else "Voided here; it will sync when the connection is back."
        )
        document.update(voided=True, balance_after=_money(after), synced=synced, reason=reason)
        left = f" {after.format()} on the card." if after else ""
        return Answer(document, f"VOIDED {amount.format()} back.{left} {reason}", EXIT_OK)
