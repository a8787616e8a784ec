"""The owner's work at the terminal, signed in and online: the business's paired terminals,
the incidents sync flagged, the offline limits, the plan and its invoices.

Screens get typed objects from here and never see a REST path or the server's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sync.money import Money
from sync.wire import OfflineLimitsBody

from .kinds import SubscriptionStatus
from .session import OwnerError

if TYPE_CHECKING:
    from .session import TerminalSession

__all__ = [
    "Billing",
    "Device",
    "Incident",
    "Invoice",
    "InvoiceKind",
    "InvoiceStatus",
    "OwnerDesk",
    "OwnerOverview",
]


class InvoiceKind(StrEnum):
    PERIOD = "period"  # the month ahead
    CHANGES = "changes"  # a day's changes


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    VOID = "void"

    @property
    def unpaid(self) -> bool:
        return self in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)


@dataclass(frozen=True)
class Device:
    name: str
    paired_at: datetime
    last_seen_at: datetime | None
    revoked: bool


@dataclass(frozen=True)
class Incident:
    id: str
    kind: str  # the server's kind, e.g. offline_overspend
    amount: Money
    detail: str


@dataclass(frozen=True)
class Invoice:
    id: str
    kind: InvoiceKind
    status: InvoiceStatus
    issued_on: date
    total: Money


@dataclass(frozen=True)
class Billing:
    plan: str
    monthly: Money
    products: int
    max_products: int | None  # None: unlimited
    status: SubscriptionStatus
    hibernating: bool
    invoices: list[Invoice]  # newest first

    @property
    def unpaid(self) -> list[Invoice]:
        """Invoices waiting for payment, oldest first."""
        return [i for i in reversed(self.invoices) if i.status.unpaid]


@dataclass(frozen=True)
class OwnerOverview:
    devices: list[Device]
    open_incidents: list[Incident]
    limits: OfflineLimitsBody
    billing: Billing | None  # None: the business has no subscription


class OwnerDesk:
    """The signed-in owner's calls; each raises OwnerError with the reason in words."""

    def __init__(self, session: TerminalSession, token: str) -> None:
        self.session = session
        self.token = token

    @classmethod
    def sign_in(cls, session: TerminalSession, email: str, password: str) -> OwnerDesk:
        return cls(session, session.sign_in_owner(email, password))

    def overview(self) -> OwnerOverview:
        devices = [_device(d) for d in self._call("GET", "/devices")]
        incidents = self._call("GET", "/incidents")
        return OwnerOverview(
            devices,
            [_incident(i) for i in incidents if i.get("resolved_at") is None],
            _limits(self._call("GET", "/offline-limits")),
            self._billing(),
        )

    def resolve_incident(self, incident_id: str, resolution: str) -> None:
        self._call("POST", f"/incidents/{incident_id}/resolve", {"resolution": resolution})

    def pay_invoice(self, invoice_id: str, card_number: str) -> None:
        self._call("POST", f"/invoices/{invoice_id}/pay", {"card_number": card_number})

    def set_offline_limits(self, limits: OfflineLimitsBody) -> None:
        self._call("PUT", "/offline-limits", limits.model_dump())

    def _billing(self) -> Billing | None:
        try:
            subscription = self._call("GET", "/subscription")
        except OwnerError:
            return None  # no subscription to show
        invoices = self._call("GET", "/invoices")
        try:
            return Billing(
                plan=str(subscription["plan"]["name"]),
                monthly=_money(subscription["monthly"]),
                products=int(subscription["products"]),
                max_products=subscription["plan"]["max_products"],
                status=SubscriptionStatus(subscription["status"]),
                hibernating=bool(subscription["hibernating"]),
                invoices=[_invoice(i) for i in invoices],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _unreadable(exc) from None

    def _call(self, method: str, path: str, body: dict[str, object] | None = None) -> Any:
        return self.session.owner_call(method, path, self.token, body)


def _unreadable(exc: Exception) -> OwnerError:
    return OwnerError(f"the server's answer could not be read ({exc!r}): update this terminal")


def _limits(document: dict[str, Any]) -> OfflineLimitsBody:
    try:
        return OfflineLimitsBody.model_validate(document)
    except ValidationError as exc:
        raise _unreadable(exc) from None


def _money(document: dict[str, Any]) -> Money:
    return Money.of(int(document["minor"]), str(document["currency"]))


def _device(document: dict[str, Any]) -> Device:
    try:
        seen = document["last_seen_at"]
        return Device(
            str(document["name"]),
            datetime.fromisoformat(document["created_at"]),
            None if seen is None else datetime.fromisoformat(seen),
            bool(document["revoked"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _unreadable(exc) from None


def _incident(document: dict[str, Any]) -> Incident:
    try:
        return Incident(
            str(document["id"]),
            str(document["kind"]),
            Money.of(int(document["amount_minor"]), str(document["currency"])),
            str(document["detail"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _unreadable(exc) from None


def _invoice(document: dict[str, Any]) -> Invoice:
    return Invoice(
        str(document["id"]),
        InvoiceKind(document["kind"]),
        InvoiceStatus(document["status"]),
        date.fromisoformat(document["issued_on"]),
        _money(document["total"]),
    )
