"""The states and kinds that cross the wire, one StrEnum each. The server stores these
values in its tables and the terminal in its own; both import the enums from here.

The server adds values to some of these sets in later versions (a new incident kind, a new
plan status), and a till built before them must still read the page. A field that may carry
such a value is typed `OrNewer[TheEnum]`: read with `READING_ANSWERS` as the validation
context (as `sync.client` reads every answer), a value this build does not know arrives as a
`NewerValue` instead of failing the whole answer. Without that context (the server building
its answers, or checking what it is sent) the field takes known values only.
docs/sync-protocol.md, "Values newer than the till", says which fields are open."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, StrEnum
from typing import Annotated, Any, Final, TypeVar, get_args

from pydantic import GetCoreSchemaHandler, ValidationError, ValidationInfo
from pydantic_core import CoreSchema, core_schema

__all__ = [
    "READING_ANSWERS",
    "CardStatus",
    "IncidentKind",
    "InvoiceKind",
    "InvoiceStatus",
    "NewerValue",
    "OrNewer",
    "PriceKind",
    "SubscriptionStatus",
    "VoucherStatus",
    "or_newer",
]

E = TypeVar("E", bound=Enum)

# The validation context under which an `OrNewer` field keeps a value it does not know.
READING_ANSWERS: Final[Mapping[str, bool]] = {"newer_values": True}


class NewerValue(str):
    """A value of an open set (`OrNewer`) that this build does not know: a newer server
    sent it. It is the text as sent; `words` is that text for a person."""

    __slots__ = ()

    @property
    def words(self) -> str:
        """`revoked_till_sales` as "revoked till sales"."""
        return " ".join(self.replace("_", " ").split())

    def __repr__(self) -> str:
        return f"NewerValue({str(self)!r})"


def or_newer(enum: type[E], value: str) -> E | NewerValue:
    """`value` as a member of `enum`, or a NewerValue when it is none: for what a till
    stored as a newer server sent it."""
    try:
        return enum(value)
    except ValueError:
        return NewerValue(value)


class _KeepsNewerValues:
    """The schema of `OrNewer[X]`: X's own (what the server's OpenAPI shows, and all the
    server takes), except that a string X does not know, read under `READING_ANSWERS`,
    becomes a NewerValue."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        (enum,) = [t for t in get_args(source) if isinstance(t, type) and issubclass(t, Enum)]
        known = handler.generate_schema(enum)

        def validate(value: Any, known_value: Any, info: ValidationInfo) -> Any:
            try:
                return known_value(value)
            except ValidationError:
                context = info.context
                if isinstance(value, str) and context and context.get("newer_values"):
                    return NewerValue(value)
                raise

        def dump(value: Any, info: Any) -> Any:
            if isinstance(value, enum):
                return value.value if info.mode_is_json() else value
            return str(value)

        return core_schema.with_info_wrap_validator_function(
            validate,
            known,
            serialization=core_schema.plain_serializer_function_ser_schema(dump, info_arg=True),
        )


OrNewer = Annotated[E | NewerValue, _KeepsNewerValues()]
"""A field of an open set: the server sends only the enum's values, a till takes newer ones
too (as `NewerValue`) and shows them in words."""


class CardStatus(StrEnum):
    """A gift card's state."""

    ACTIVE = "active"
    BLOCKED = "blocked"  # held for review (e.g. overspent offline)
    EXPIRED = "expired"


class VoucherStatus(StrEnum):
    """A deal voucher's state."""

    ISSUED = "issued"
    REDEEMED = "redeemed"


class IncidentKind(StrEnum):
    """What reconciliation flagged for the owner to look at."""

    OFFLINE_OVERSPEND = "offline_overspend"  # tills together spent more than a card held
    VOUCHER_REUSED = "voucher_reused"  # a voucher redeemed again offline (or after its deal)
    EDIT_CONFLICT = "edit_conflict"  # a listing edit made on an older version, not applied
    FRAUD_FLAGGED = "fraud_flagged"  # a fraud rule would have blocked a pushed redemption
    # A revoked till pushed what it had approved offline before it knew: refused, unrecorded
    REVOKED_TILL_SALES = "revoked_till_sales"
    # A till withdrew an online attempt it could not tell had gone through, and the server
    # had applied it: given back onto the card (a voucher: the owner is asked to check it)
    ATTEMPT_WITHDRAWN = "attempt_withdrawn"


class PriceKind(StrEnum):
    PLAN = "plan"  # a tier, with the products it allows
    ADDON = "addon"  # priced per unit on top of the plan (extra branch, hibernation)


class SubscriptionStatus(StrEnum):
    """How a business's plan stands."""

    ACTIVE = "active"
    PAST_DUE = "past_due"  # retrying a failed payment
    GRACE = "grace"  # retries over: suspended when the grace period ends
    SUSPENDED = "suspended"  # hidden, selling nothing new, until an invoice is paid
    # Its owner closed the business: nothing new is invoiced, nothing changes. Shown, not
    # stored: the stored state goes on collecting what was invoiced before.
    CLOSED = "closed"


class InvoiceKind(StrEnum):
    PERIOD = "period"  # the month ahead: plan and branches
    CHANGES = "changes"  # a day's prorated changes that add up to a charge


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"  # the business was suspended over it; still payable
    VOID = "void"

    @property
    def unpaid(self) -> bool:
        """Still to be paid: only these can be paid (or voided)."""
        return self in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
