"""The owner's work at the terminal, signed in and online: the business's paired terminals,
the incidents sync flagged, the offline limits, the plan and its invoices.

Screens get typed objects from here and never see a REST path or the server's JSON. A kind
or status a newer server added (a `NewerValue`) comes through as it was sent:
`kinds.in_words` puts any of them in plain words."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from sync.client import SyncClient
from sync.money import Money
from sync.wire import (
    BusinessReport,
    DevicePublic,
    IncidentKind,
    IncidentPublic,
    InvoiceKind,
    InvoicePublic,
    InvoiceStatus,
    NewerValue,
    OfflineLimitsBody,
    PairingCodePublic,
    SubscriptionPublic,
    SubscriptionStatus,
)

from .session import OwnerError

if TYPE_CHECKING:
    from .session import TerminalSession

__all__ = [
    "HOURS_NAME",
    "LIMIT_NAMES",
    "ONLINE_WITHIN",
    "Billing",
    "Device",
    "Incident",
    "Invoice",
    "LimitsError",
    "OwnerDesk",
    "OwnerOverview",
    "PairingCode",
    "Takings",
    "business_time_zone",
    "limits_text",
    "till_time_zone",
    "typed_limits",
]

T = TypeVar("T")

# A till syncs every few seconds and the server notes it at most once a minute: one not
# seen for longer than this is taken for offline (or switched off).
ONLINE_WITHIN = timedelta(minutes=3)


@dataclass(frozen=True)
class Device:
    name: str
    paired_at: datetime
    last_seen_at: datetime | None
    revoked: bool
    id: str = ""
    branch_id: str | None = None  # the branch it serves, when its pairing code named one

    @classmethod
    def of(cls, device: DevicePublic) -> Device:
        return cls(
            device.name,
            device.created_at,
            device.last_seen_at,
            device.revoked,
            device.id,
            device.branch_id,
        )

    def online(self, now: datetime) -> bool:
        """Seen by the server lately, and still allowed to sync."""
        seen = self.last_seen_at
        return not self.revoked and seen is not None and now - seen <= ONLINE_WITHIN


@dataclass(frozen=True)
class PairingCode:
    """A one-time code a new till pairs with: typed, or scanned from `qr_text`."""

    code: str
    qr_text: str
    expires_at: datetime
    branch_id: str | None

    @classmethod
    def of(cls, code: PairingCodePublic) -> PairingCode:
        return cls(code.code, code.qr_text, code.expires_at, code.branch_id)


@dataclass(frozen=True)
class Incident:
    id: str
    kind: IncidentKind | NewerValue
    amount: Money
    detail: str

    @classmethod
    def of(cls, incident: IncidentPublic) -> Incident:
        amount = Money.of(incident.amount_minor, incident.currency)
        return cls(incident.id, incident.kind, amount, incident.detail)


@dataclass(frozen=True)
class Invoice:
    id: str
    kind: InvoiceKind | NewerValue
    status: InvoiceStatus | NewerValue
    issued_on: date
    total: Money

    @classmethod
    def of(cls, invoice: InvoicePublic) -> Invoice:
        return cls(
            invoice.id, invoice.kind, invoice.status, invoice.issued_on, invoice.total.money()
        )


@dataclass(frozen=True)
class Billing:
    plan: str
    monthly: Money
    products: int
    max_products: int | None  # None: unlimited
    status: SubscriptionStatus | NewerValue
    hibernating: bool
    invoices: list[Invoice]  # newest first

    @classmethod
    def of(cls, subscription: SubscriptionPublic, invoices: list[InvoicePublic]) -> Billing:
        return cls(
            plan=subscription.plan.name,
            monthly=subscription.monthly.money(),
            products=subscription.products,
            max_products=subscription.plan.max_products,
            status=subscription.status,
            hibernating=subscription.hibernating,
            invoices=[Invoice.of(i) for i in invoices],
        )

    @property
    def unpaid(self) -> list[Invoice]:
        """Invoices waiting for payment, oldest first. One in a status this till does not
        know is shown, not offered for payment: whether it can be paid is for a till that
        knows the status to say."""
        return [
            i
            for i in reversed(self.invoices)
            if isinstance(i.status, InvoiceStatus) and i.status.unpaid
        ]


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, "Europe"
        return False
    return True


def till_time_zone() -> str:
    """The till's time zone as an IANA name: $TZ, else the zone /etc/localtime points at,
    else UTC."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    candidates.append(os.path.realpath("/etc/localtime").partition("/zoneinfo/")[2])
    return next((name for name in candidates if name and _known_zone(name)), "UTC")


def business_time_zone(synced: str | None) -> str:
    """The zone "today" runs in at the business's tills: the business's own, as last synced
    from the server, so every till and the reports agree on the shop's day; the till's own
    (`till_time_zone`) before a server sends it, or when this till's time zone data lacks
    it."""
    return synced if synced and _known_zone(synced) else till_time_zone()


@dataclass(frozen=True)
class Takings:
    """Today's takings at the business, all its tills together, from the server's report:
    what redemptions brought in, less voids and refunds. When the server could not be
    asked, `amount` is None and `why` says so."""

    day: date
    amount: Money | None
    redemptions: int = 0
    why: str = ""
    offline: bool = False

    @classmethod
    def of(cls, report: BusinessReport) -> Takings:
        totals = report.totals
        count = totals.redeemed_online.count + totals.redeemed_offline.count
        return cls(report.from_date, totals.takings.money(), count)

    def line(self) -> str:
        day = f"{self.day:%a %d %b}"
        if self.offline:
            return (
                f"Today's takings ({day}): not shown, this till is offline (the server "
                "cannot be reached). They show again once it is back."
            )
        if self.amount is None:
            return f"Today's takings ({day}): not shown, {self.why}."
        plural = "" if self.redemptions == 1 else "s"
        return (
            f"Today's takings ({day}, all tills): {self.amount.format()} from "
            f"{self.redemptions} redemption{plural}, less voids and refunds."
        )


# The offline limits as the Owner tab names its fields; the hours field is the server's
# `max_cache_age_seconds`, typed in hours.
LIMIT_NAMES = {
    "max_single_minor": "one redemption",
    "max_per_card_minor": "one card",
    "max_unsynced_minor": "all unsynced",
    "stale_cache_max_minor": "when stale",
}
HOURS_NAME = "stale after (hours)"
_PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")  # no sign, exponent, nan or inf


class LimitsError(ValueError):
    """Offline limits as typed that cannot be saved; the message says why, in the words of
    the fields the owner typed in."""


def _bounds(field: str) -> tuple[int, int]:
    """The least and the most the server's schema (`OfflineLimitsBody`) takes for `field`."""
    low, high = 0, 0
    for rule in OfflineLimitsBody.model_fields[field].metadata:
        low = getattr(rule, "ge", low)
        high = getattr(rule, "le", high)
    return low, high


def _duration(seconds: int) -> str:
    """`seconds` in the largest whole unit: 1 minute, 720 hours."""
    if seconds % 3600 == 0:
        number, unit = seconds // 3600, "hour"
    elif seconds % 60 == 0:
        number, unit = seconds // 60, "minute"
    else:
        number, unit = seconds, "second"
    return f"{number} {unit}{'' if number == 1 else 's'}"


def _hours(seconds: int) -> str:
    hours = seconds / 3600
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


def _seconds(typed: str) -> int:
    """The hours typed, in whole seconds: a plain number (24, 0.5) within the schema's
    bounds; LimitsError otherwise (nan, inf, 1e3, -5 and words among them)."""
    text = typed.strip()
    if not _PLAIN_NUMBER.fullmatch(text):
        raise LimitsError(f"{HOURS_NAME}: type hours as a number, e.g. 24")
    low, high = _bounds("max_cache_age_seconds")
    seconds = (Decimal(text) * 3600).to_integral_value(rounding=ROUND_HALF_UP)
    if not low <= seconds <= high:
        raise LimitsError(f"{HOURS_NAME} must be between {_duration(low)} and {_duration(high)}")
    return int(seconds)


def typed_limits(amounts: Mapping[str, str], hours: str, currency: str) -> OfflineLimitsBody:
    """The offline limits as the owner typed them: `amounts` by field (`LIMIT_NAMES`), in
    `currency`, and the hours after which the cache is stale. LimitsError, in words, for
    anything the server's schema would refuse, and for limits that contradict each other
    (one redemption above one card's, one card's above all unsynced)."""
    values: dict[str, int] = {}
    for field, name in LIMIT_NAMES.items():
        try:
            amount = Money.parse(amounts.get(field, ""), currency)
        except ValueError:  # MoneyError, or more digits than Python turns into a number
            raise LimitsError(f"{name}: type an amount, e.g. 50.00 (0 for none)") from None
        low, high = _bounds(field)
        if amount.minor > high:
            raise LimitsError(f"{name} can be at most {Money.of(high, currency).format()}")
        if amount.minor < low:
            raise LimitsError(f"{name} must be at least {Money.of(low, currency).format()}")
        values[field] = amount.minor
    for smaller, larger in OfflineLimitsBody.NESTED:
        if values[smaller] > values[larger]:
            raise LimitsError(
                f"{LIMIT_NAMES[smaller]} ({Money.of(values[smaller], currency).format()}) "
                f"cannot be more than {LIMIT_NAMES[larger]} "
                f"({Money.of(values[larger], currency).format()})"
            )
    values["max_cache_age_seconds"] = _seconds(hours)
    try:
        return OfflineLimitsBody(**values)
    except ValidationError as exc:  # the checks above should leave nothing for this
        field = str(exc.errors()[0]["loc"][0])
        raise LimitsError(f"{LIMIT_NAMES.get(field, HOURS_NAME)} is out of range") from None


def limits_text(limits: OfflineLimitsBody, currency: str) -> str:
    """The limits in a line, by the names of the Owner tab's fields."""
    shown = [
        f"{name} {Money.of(getattr(limits, field), currency).format()}"
        for field, name in LIMIT_NAMES.items()
    ]
    return " · ".join([*shown, f"stale after {_hours(limits.max_cache_age_seconds)}"])


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
        return OwnerOverview(
            [Device.of(d) for d in self._ask(SyncClient.devices)],
            [Incident.of(i) for i in self._ask(SyncClient.incidents) if i.resolved_at is None],
            self._ask(SyncClient.offline_limits),
            self._billing(),
        )

    def takings(self) -> Takings:
        """Today's takings (the shop's day, in the business's time zone); when the server
        cannot be asked or refuses, a `Takings` saying so rather than an error."""
        zone = business_time_zone(self.session.store.business_time_zone())
        today = self.session.clock().astimezone(ZoneInfo(zone)).date()
        try:
            report = self._ask(
                lambda client, business, token: client.report(business, today, zone, token)
            )
        except OwnerError as exc:
            return Takings(today, None, why=str(exc), offline=exc.unreachable)
        return Takings.of(report)

    def devices(self) -> list[Device]:
        """The business's tills, oldest first, revoked ones too."""
        return [Device.of(d) for d in self._ask(SyncClient.devices)]

    def pairing_code(self, branch_id: str | None) -> PairingCode:
        """A new one-time code for pairing another till (for `branch_id`, when given)."""
        return PairingCode.of(
            self._ask(
                lambda client, business, token: client.pairing_code(business, token, branch_id)
            )
        )

    def revoke(self, device_id: str) -> None:
        """Stop a till from syncing, for good (it pairs again with a new code)."""
        self._ask(lambda client, business, token: client.revoke_device(business, device_id, token))

    def resolve_incident(self, incident_id: str, resolution: str) -> None:
        self._ask(
            lambda client, business, token: client.resolve_incident(
                business, incident_id, resolution, token
            )
        )

    def pay_invoice(self, invoice_id: str, card_number: str) -> None:
        self._ask(
            lambda client, business, token: client.pay_invoice(
                business, invoice_id, card_number, token
            )
        )

    def set_offline_limits(self, limits: OfflineLimitsBody) -> None:
        self._ask(
            lambda client, business, token: client.set_offline_limits(business, limits, token)
        )

    def _billing(self) -> Billing | None:
        try:
            subscription = self._ask(SyncClient.subscription)
        except OwnerError:
            return None  # no subscription to show
        return Billing.of(subscription, self._ask(SyncClient.invoices))

    def _ask(self, call: Callable[[SyncClient, str, str], T]) -> T:
        """`call(client, business_id, token)` as this owner."""
        return self.session.as_owner(lambda client, business: call(client, business, self.token))
