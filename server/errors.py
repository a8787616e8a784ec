"""Every way the server's business rules refuse, one typed error each.

Services raise these, never HTTP problems; callers catch `DomainError` for all of them, or a
branch (`NotFound`, `Conflict`, `Invalid`) or a leaf (`VoucherUsed`) for one. `code` is the
stable machine name: the API answers with it as the problem `type`
(``https://tillpoint.dev/problems/<code>``), with `status` and `title`; `detail` says in plain
words what is wrong and what to do next. One handler (`server.problems`) turns them into
problem+json.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

__all__ = [
    "PROBLEM_BASE",
    "AccountOwnsBusinesses",
    "AdminNeedsOwnAccount",
    "AlreadyHibernating",
    "AmountAboveHold",
    "AttemptWithdrawn",
    "BranchNotFound",
    "BusinessAlreadySuspended",
    "BusinessClosed",
    "BusinessLiabilityLimit",
    "BusinessNotFound",
    "BusinessNotSelling",
    "BusinessNotSuspended",
    "BusinessSuspended",
    "CardBalanceLimit",
    "CardBlocked",
    "CardDonationsOff",
    "CardExpired",
    "CardNotFound",
    "ClubFundShort",
    "CodeNotValid",
    "Conflict",
    "ConsoleSignInRefused",
    "DealChanged",
    "DealInThePast",
    "DealNotFound",
    "DealNotOnSale",
    "DealSoldOut",
    "DeviceNotFound",
    "DifferentBusiness",
    "DisplayNameTaken",
    "DomainError",
    "DonationNotFound",
    "DonationNotRefundable",
    "EmailAlreadyVerified",
    "EmailNotVerified",
    "EmailTaken",
    "FieldInvalid",
    "FraudBlocked",
    "FraudReviewClosed",
    "FraudReviewNotFound",
    "FraudRuleNameTaken",
    "FraudRuleNeverFires",
    "FraudRuleNotFound",
    "GiftCodeNotValid",
    "GiftDeliveryTime",
    "GiftNotCancellable",
    "GiftNotFound",
    "HoldClosed",
    "HoldNotFound",
    "HoldingHandedOver",
    "HoldingNotFound",
    "IdempotencyKeyInvalid",
    "IdempotencyKeyMissing",
    "IdempotencyKeyReused",
    "IfMatchInvalid",
    "InboxItemNotFound",
    "InsufficientBalance",
    "Invalid",
    "InvalidDeviceKey",
    "InvalidPairingCode",
    "InvalidRate",
    "InvalidToken",
    "InvoiceNotPayable",
    "InvoiceNotVoidable",
    "LimitReached",
    "MfaAlreadyOn",
    "MfaCodeWrong",
    "MfaNotStarted",
    "MfaRequired",
    "NoSubscription",
    "NotAGiftCard",
    "NotAManager",
    "NotAVoucher",
    "NotFound",
    "NotHibernating",
    "NotificationRequired",
    "OfferedBranchNotFound",
    "OwnerRoleReserved",
    "PaymentCardDailyLimit",
    "PaymentDeclined",
    "PlanTooSmall",
    "PreconditionFailed",
    "ProductNotFound",
    "ReasonRequired",
    "RedeemedOffline",
    "RedemptionNotFound",
    "RefundAboveRedemption",
    "ReportRangeInvalid",
    "SameCard",
    "SessionNotFound",
    "ShopSignInRefused",
    "StaffNotFound",
    "UnknownCurrency",
    "UnknownEventType",
    "UnknownPlan",
    "UnknownTimeZone",
    "VoucherExpired",
    "VoucherNotFound",
    "VoucherUsed",
    "WeakPin",
    "WebhookDeliveryNotFound",
    "WebhookEndpointDisabled",
    "WebhookEndpointNotFound",
    "WebhookUrlRefused",
    "WrongCurrency",
]

PROBLEM_BASE = "https://tillpoint.dev/problems/"


class DomainError(Exception):
    """Base of every refusal by the server's rules."""

    code: ClassVar[str] = "refused"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request refused"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        # Rows that outlive the refusal although the request's changes roll back: its own
        # record (such as the fraud decision that made it). Whoever rolls back writes them.
        self.kept: list[object] = []
        # What to do once the refusal and its rows are committed as the request's answer
        # (`wallet.idempotency`), given the session: a refund owed by a refused purchase.
        self.then: list[Callable[[Any], object]] = []
        super().__init__(detail)

    @property
    def type(self) -> str:
        """The stable problem type URI."""
        return PROBLEM_BASE + self.code

    def extra(self) -> dict[str, Any]:
        """Members a client can act on beside the detail (such as the balance left)."""
        return {}

    def body(self) -> dict[str, Any]:
        """The RFC 9457 problem document."""
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra(),
        }


# -- not found (404) -------------------------------------------------------------------------


class NotFound(DomainError):
    code = "not-found"
    status = 404
    title = "Not found"


class BusinessNotFound(NotFound):
    code = "business-not-found"
    title = "No such business"


class CardNotFound(NotFound):
    code = "card-not-found"
    title = "No such card"


class GiftNotFound(NotFound):
    code = "gift-not-found"
    title = "No such gift"


class HoldNotFound(NotFound):
    code = "hold-not-found"
    title = "No such hold"


class DealNotFound(NotFound):
    code = "deal-not-found"
    title = "No such deal"


class VoucherNotFound(NotFound):
    code = "voucher-not-found"
    title = "No such voucher"


class BranchNotFound(NotFound):
    code = "branch-not-found"
    title = "No such branch"


class OfferedBranchNotFound(BranchNotFound):
    """A deal names a branch the business does not have (another business's, or none)."""

    def __init__(self, detail: str, *, branch_ids: list[str]) -> None:
        super().__init__(detail)
        self.branch_ids = branch_ids

    def extra(self) -> dict[str, Any]:
        return {"branch_ids": self.branch_ids}


class ProductNotFound(NotFound):
    code = "product-not-found"
    title = "No such product"


class StaffNotFound(NotFound):
    code = "staff-not-found"
    title = "Not one of this business's people"


class FraudRuleNotFound(NotFound):
    code = "fraud-rule-not-found"
    title = "No such fraud rule"


class FraudReviewNotFound(NotFound):
    code = "fraud-review-not-found"
    title = "No such review"


class NoSubscription(NotFound):
    code = "no-subscription"
    title = "No subscription"


class ClubNotFound(NotFound):
    code = "club-not-found"
    title = "No such club"


class MemberNotFound(NotFound):
    code = "member-not-found"
    title = "Not a member"


class DonationNotFound(NotFound):
    code = "donation-not-found"
    title = "No such donation"


class HoldingNotFound(NotFound):
    """A gift card or voucher the club does not hold (or another club's)."""

    code = "holding-not-found"
    title = "The club holds no such item"


class InboxItemNotFound(NotFound):
    code = "inbox-item-not-found"
    title = "No such inbox item"


class WebhookEndpointNotFound(NotFound):
    code = "webhook-endpoint-not-found"
    title = "No such webhook endpoint"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook-delivery-not-found"
    title = "No such webhook delivery"


class RedemptionNotFound(NotFound):
    code = "redemption-not-found"
    title = "No such redemption"


class SessionNotFound(NotFound):
    code = "session-not-found"
    title = "No such session"


class DeviceNotFound(NotFound):
    code = "device-not-found"
    title = "No such device"


# -- the state forbids it (409) --------------------------------------------------------------


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Not possible now"


class AdminNeedsOwnAccount(Conflict):
    """`create-admin` will not make this account an admin."""

    code = "admin-needs-own-account"
    title = "Not an account an admin can use"


class BusinessAlreadySuspended(Conflict):
    code = "business-already-suspended"
    title = "The business is suspended already"


class BusinessNotSuspended(Conflict):
    code = "business-not-suspended"
    title = "The business is not suspended by an operator"


class FraudReviewClosed(Conflict):
    code = "fraud-review-closed"
    title = "The review is closed already"


class CardBlocked(Conflict):
    code = "card-blocked"
    title = "Card blocked"


class CardExpired(Conflict):
    code = "card-expired"
    title = "Card expired"


class InsufficientBalance(Conflict):
    code = "insufficient-balance"
    title = "Not enough on the card"

    def __init__(self, detail: str, *, balance_minor: int) -> None:
        super().__init__(detail)
        self.balance_minor = balance_minor

    def extra(self) -> dict[str, Any]:
        return {"balance_minor": self.balance_minor}


class RedeemedOffline(Conflict):
    """A terminal's online attempt arrived after it recorded the same sale offline."""

    code = "redeemed-offline"
    title = "Already recorded offline"

    def __init__(self, detail: str, *, event_id: str | None) -> None:
        super().__init__(detail)
        self.event_id = event_id

    def extra(self) -> dict[str, Any]:
        return {"event_id": self.event_id}


class AttemptWithdrawn(Conflict):
    """A terminal's online attempt arrived after the terminal withdrew it: its answer had
    been lost, the till did not approve it offline, and the cashier took another payment."""

    code = "attempt-withdrawn"
    title = "Withdrawn by the terminal"

    def __init__(self, detail: str, *, event_id: str | None) -> None:
        super().__init__(detail)
        self.event_id = event_id

    def extra(self) -> dict[str, Any]:
        return {"event_id": self.event_id}


class GiftNotCancellable(Conflict):
    code = "gift-not-cancellable"
    title = "Gift can no longer be cancelled"


class HoldClosed(Conflict):
    code = "hold-closed"
    title = "Hold already closed"


class DealNotOnSale(Conflict):
    code = "deal-not-on-sale"
    title = "Deal not on sale"


class DealSoldOut(Conflict):
    code = "deal-sold-out"
    title = "Sold out"


class VoucherUsed(Conflict):
    code = "voucher-used"
    title = "Voucher already used"


class VoucherExpired(Conflict):
    code = "voucher-expired"
    title = "Voucher expired"


class DealClosed(Conflict):
    code = "deal-closed"
    title = "The deal is over"


class BusinessNotSelling(Conflict):
    code = "business-not-selling"
    title = "Not selling right now"


class BusinessSuspended(Conflict):
    code = "business-suspended"
    title = "Listing edits are paused"


class PlanTooSmall(Conflict):
    code = "plan-too-small"
    title = "Too many products for that plan"


class AlreadyHibernating(Conflict):
    code = "already-hibernating"
    title = "Already hibernating"


class NotHibernating(Conflict):
    code = "not-hibernating"
    title = "Not hibernating"


class BusinessClosed(Conflict):
    """Its owner closed the business: its subscription changes no more (billing.md, Closing)."""

    code = "business-closed"
    title = "The business is closed"


class InvoiceNotPayable(Conflict):
    code = "invoice-not-payable"
    title = "This invoice cannot be paid"


class InvoiceNotVoidable(Conflict):
    code = "invoice-not-voidable"
    title = "This invoice cannot be voided"


class TestClockBackwards(Conflict):
    code = "test-clock-backwards"
    title = "A test clock only moves forward"
    __test__ = False


class ClubClosed(Conflict):
    """Joining needs what the club asks for (an invitation), or the member's state forbids
    the change (a founder leaving a club with members)."""

    code = "club-closed"
    title = "Not possible in this club"


class DisplayNameTaken(Conflict):
    """Another active member of the club goes by that display name (case and spaces aside):
    members know each other by display name only, so no two may share one."""

    code = "display-name-taken"
    title = "Another member has that name"


class ClubFundShort(Conflict):
    """The club's fund holds less than a purchase or a refund needs."""

    code = "club-fund-short"
    title = "The club's fund holds too little"


class DonationNotRefundable(Conflict):
    """A donation already refunded, or past the refund window."""

    code = "donation-not-refundable"
    title = "This donation cannot be refunded"


class HoldingHandedOver(Conflict):
    code = "holding-handed-over"
    title = "Already handed to a member"


class FraudRuleNameTaken(Conflict):
    code = "fraud-rule-name-taken"
    title = "A rule has that name"


class NotificationRequired(Conflict):
    """Receipts (and, later, security messages) cannot be turned off."""

    code = "notification-required"
    title = "This notification cannot be turned off"


class WebhookEndpointDisabled(Conflict):
    code = "webhook-endpoint-disabled"
    title = "The webhook endpoint is disabled"


class EmailTaken(Conflict):
    code = "email-taken"
    title = "Email already registered"


class EmailAlreadyVerified(Conflict):
    code = "email-already-verified"
    title = "Email already confirmed"


class EmailNotVerified(Conflict):
    """What an account may do only once its email is confirmed."""

    code = "email-not-verified"
    status = 403
    title = "Confirm your email first"


class MfaAlreadyOn(Conflict):
    code = "mfa-already-on"
    title = "Two-step sign-in is already on"


class MfaNotStarted(Conflict):
    code = "mfa-not-started"
    title = "Two-step sign-in is not set up"


class MfaRequired(Conflict):
    """Admins cannot turn two-step sign-in off."""

    code = "mfa-required"
    title = "Two-step sign-in is required"


class AccountOwnsBusinesses(Conflict):
    code = "account-owns-businesses"
    title = "The account owns businesses"


class IdempotencyKeyReused(Conflict):
    code = "idempotency-key-reused"
    title = "Idempotency key already used"


class LimitReached(Conflict):
    """A money limit (a setting) would be passed; `limit_minor` is the limit and
    `available_minor` what is still allowed under it (0 when nothing is)."""

    def __init__(self, detail: str, *, limit_minor: int, available_minor: int) -> None:
        super().__init__(detail)
        self.limit_minor, self.available_minor = limit_minor, max(available_minor, 0)

    def extra(self) -> dict[str, Any]:
        return {"limit_minor": self.limit_minor, "available_minor": self.available_minor}


class CardBalanceLimit(LimitReached):
    code = "card-balance-limit"
    title = "A card may not hold that much"


class PaymentCardDailyLimit(LimitReached):
    code = "payment-card-daily-limit"
    title = "Daily limit of this payment card reached"


class BusinessLiabilityLimit(LimitReached):
    code = "business-liability-limit"
    title = "The business's gift cards hold their limit"


class RefundAboveRedemption(LimitReached):
    """A refund asks for more than what is left to refund of its redemption."""

    code = "refund-above-redemption"
    title = "More than the redemption took"


# -- the input cannot be used (422) ----------------------------------------------------------


class Invalid(DomainError):
    code = "invalid-request"
    status = 422
    title = "The request is not valid"


class FieldInvalid(Invalid):
    """A field the schema leaves optional but this request needs (or may not have), or one
    that contradicts another: named as a schema's refusal names it, in `errors`."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field

    def extra(self) -> dict[str, Any]:
        return {"errors": [{"field": self.field, "message": self.detail}]}


class FraudRuleNeverFires(FieldInvalid):
    """A fraud rule whose event never carries what it counts, per whom or in what currency:
    it could never fire. The field named is the one that does not fit the event."""

    code = "fraud-rule-never-fires"
    title = "The rule could never fire"


class ReasonRequired(Invalid):
    """An admin's action in the console says why, for the audit log."""

    code = "reason-required"
    title = "Say why"


class ShopSignInRefused(DomainError):
    """The gift-card shop's sign-in failed: a wrong email, password or code, or not a
    customer's account."""

    code = "shop-sign-in-refused"
    status = 401
    title = "Not signed in"


class ConsoleSignInRefused(DomainError):
    """The web console's sign-in failed: a wrong email, password or code, or not an admin."""

    code = "console-sign-in-refused"
    status = 401
    title = "Not signed in"


class InvalidToken(Invalid):
    """A presented code failed verification; `error` is the token error's own code."""

    code = "invalid-token"
    title = "The code was refused"

    def __init__(self, detail: str, *, error: str) -> None:
        super().__init__(detail)
        self.error = error

    def extra(self) -> dict[str, Any]:
        return {"error": self.error}


class NotAGiftCard(Invalid):
    code = "not-a-gift-card"
    title = "Not a gift card"


class NotAVoucher(Invalid):
    code = "not-a-voucher"
    title = "Not a voucher"


class AmountAboveHold(Invalid):
    code = "amount-above-hold"
    title = "More than was held"


class DifferentBusiness(Invalid):
    code = "different-business"
    title = "Cards of different businesses"


class SameCard(Invalid):
    code = "same-card"
    title = "Same card"


class UnknownPlan(Invalid):
    code = "unknown-plan"
    title = "No such plan"


class InvalidRate(Invalid):
    code = "invalid-rate"
    title = "Rate not stored"


class ReportRangeInvalid(Invalid):
    code = "report-range-invalid"
    title = "The report's range cannot be used"


class UnknownCurrency(Invalid):
    code = "invalid-currency"
    title = "Unknown currency"


class UnknownTimeZone(Invalid):
    code = "invalid-time-zone"
    title = "Unknown time zone"


class DealInThePast(Invalid):
    code = "deal-in-the-past"
    title = "Deal already over"


class InvalidDealTerms(Invalid):
    code = "invalid-deal-terms"
    title = "The deal's terms do not hold together"


class QuantityBelowSold(Invalid):
    code = "quantity-below-sold"
    title = "Fewer than already sold"


class WebhookUrlRefused(Invalid):
    code = "webhook-url-refused"
    title = "This URL cannot take webhooks"


class UnknownEventType(Invalid):
    code = "unknown-event-type"
    title = "No such event type"


class InvalidDeviceKey(Invalid):
    code = "invalid-device-key"
    title = "Not a device key"


class InvalidInvitation(Invalid):
    code = "invalid-invitation"
    title = "Invitation not valid"


class WrongCurrency(Invalid):
    code = "wrong-currency"
    title = "Not in the right currency"


class DonationTooLarge(Invalid):
    code = "donation-too-large"
    title = "Too large a donation"


class InvalidPairingCode(Invalid):
    code = "invalid-pairing-code"
    title = "Pairing code not valid"


class CodeNotValid(Invalid):
    """An emailed one-time code that is wrong, used, expired or for something else."""

    code = "code-not-valid"
    status = 400
    title = "That code does not work"


class GiftDeliveryTime(Invalid):
    code = "gift-delivery-time"
    title = "Delivery time not possible"


class GiftCodeNotValid(Invalid):
    """A gift's claim code that is wrong, already used, or of a cancelled gift."""

    code = "gift-code-not-valid"
    status = 400
    title = "That gift code does not work"


class MfaCodeWrong(Invalid):
    """A two-step sign-in code (or recovery code) that is wrong or used."""

    code = "mfa-code-wrong"
    status = 400
    title = "Wrong code"


class WeakPin(Invalid):
    code = "weak-pin"
    title = "PIN not accepted"


class OwnerRoleReserved(Invalid):
    code = "owner-role-reserved"
    title = "Only the owner is owner"


# -- the request cannot be run as sent (400) -------------------------------------------------


class IdempotencyKeyMissing(DomainError):
    code = "idempotency-key-missing"
    title = "Idempotency-Key needed"


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency-key-invalid"
    title = "Idempotency-Key too long"


class IfMatchInvalid(DomainError):
    code = "if-match-invalid"
    title = "If-Match cannot be read"


# -- changed since the client read it (412) --------------------------------------------------


class PreconditionFailed(DomainError):
    """`If-Match` named a version that is no longer current: nothing changed."""

    code = "precondition-failed"
    status = 412
    title = "Changed since you read it"


class DealChanged(PreconditionFailed):
    code = "deal-changed"
    title = "The deal changed since you read it"


# -- stopped by a fraud rule (403) ---------------------------------------------------------


class FraudBlocked(DomainError):
    """An enforced fraud rule stopped the request. The detail never names the rule: a
    customer learns that it was stopped and what to do, support finds it by `reference`."""

    code = "fraud-blocked"
    status = 403
    title = "Stopped by our fraud checks"

    def __init__(self, detail: str, *, reference: str) -> None:
        super().__init__(detail)
        self.reference = reference

    def extra(self) -> dict[str, Any]:
        return {"reference": self.reference}


class SandboxOnly(DomainError):
    """A sandbox's tool (a test clock) asked of a server that holds real money."""

    code = "sandbox-only"
    status = 403
    title = "Only on a sandbox server"


class NotAMember(DomainError):
    """What only a club's members see."""

    code = "not-a-member"
    status = 403
    title = "Only the club's members see this"


class CardDonationsOff(DomainError):
    """The gift card's business does not let its cards' balances be given to clubs."""

    code = "card-donations-off"
    status = 403
    title = "This business's gift cards cannot be donated"


class NotOrganiser(DomainError):
    """Only the club's organisers (or its founder) may do this."""

    code = "not-organiser"
    status = 403
    title = "Only the club's organisers may do this"


class NotAManager(DomainError):
    """What only the business's owner and its managers see (a cashier does not)."""

    code = "not-a-manager"
    status = 403
    title = "Only the owner and managers see this"


# -- payment (402) ---------------------------------------------------------------------------


class PaymentDeclined(DomainError):
    """The gateway declined the card; `decline_code` is the gateway's reason, when it gave one."""

    code = "payment-declined"
    status = 402
    title = "Payment declined"

    def __init__(self, detail: str, *, decline_code: str | None = None) -> None:
        super().__init__(detail)
        self.decline_code = decline_code

    def extra(self) -> dict[str, Any]:
        return {} if self.decline_code is None else {"decline_code": self.decline_code}
