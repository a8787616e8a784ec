"""What the fraud API takes and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from sync.wire import Flag, Name, Prose

from ..pages import Page
from ..patches import Body, Patch
from .models import Counting, FraudAction, FraudEvent, FraudSubject, ReviewStatus, RuleMode

__all__ = [
    "ClientDevicePage",
    "ClientDevicePublic",
    "FraudDecisionPublic",
    "FraudReviewPage",
    "FraudReviewPublic",
    "FraudRuleCreate",
    "FraudRulePage",
    "FraudRulePublic",
    "FraudRuleUpdate",
    "ReviewResolve",
    "SignInNoticePage",
    "SignInNoticePublic",
]

_WINDOW = Field(ge=1, le=31 * 86_400, description="seconds")
_COUNT = Field(default=None, ge=0, le=1_000_000)
_AMOUNT = Field(default=None, strict=True, ge=0, le=10**12, description="minor units of `currency`")
_CURRENCY = Field(default=None, pattern="^[A-Z]{3}$")


def _limits_make_sense(rule: Any) -> None:
    if rule.max_count is None and rule.max_amount_minor is None:
        raise ValueError("give max_count, max_amount_minor or both")
    if rule.max_amount_minor is not None and rule.currency is None:
        raise ValueError("max_amount_minor needs its currency")
    if rule.counting is Counting.DISTINCT_PAYMENT_CARDS and rule.max_count is None:
        raise ValueError("counting distinct_payment_cards needs max_count")


class FraudRuleCreate(Body):
    name: Name = Field(max_length=80)
    subject: FraudSubject
    event: FraudEvent
    counting: Counting = Counting.ATTEMPTS
    window_seconds: int = _WINDOW
    max_count: int | None = _COUNT
    max_amount_minor: int | None = _AMOUNT
    currency: str | None = _CURRENCY
    action: FraudAction
    mode: RuleMode = RuleMode.SHADOW
    enabled: Flag = True

    @model_validator(mode="after")
    def _limits(self) -> Self:
        _limits_make_sense(self)
        return self


class FraudRuleUpdate(Patch):
    """Only what is sent changes; the rule's subject, event and counting stay (make a new
    rule), and are refused with any field a rule does not have. A limit may be cleared
    (null) while the other one stays."""

    NULLABLE = frozenset({"max_count", "max_amount_minor", "currency"})

    name: Name | None = Field(default=None, max_length=80)
    window_seconds: int | None = Field(default=None, ge=1, le=31 * 86_400)
    max_count: int | None = _COUNT
    max_amount_minor: int | None = _AMOUNT
    currency: str | None = _CURRENCY
    action: FraudAction | None = None
    mode: RuleMode | None = None
    enabled: Flag | None = None


class FraudRulePublic(FraudRuleCreate):
    id: str
    business_id: str | None = Field(
        description="the business whose own rule this is; null: the platform's"
    )
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _limits(self) -> Self:  # stored rules are shown as they are
        return self


class FraudDecisionPublic(BaseModel):
    reference: str
    rule_id: str
    event: FraudEvent
    subject: FraudSubject
    subject_key: str
    business_id: str | None
    inputs: dict[str, Any]
    action: FraudAction
    mode: RuleMode
    at: datetime


class FraudReviewPublic(BaseModel):
    id: str
    business_id: str | None
    rule_id: str
    decision_reference: str
    event: FraudEvent
    subject: FraudSubject
    subject_key: str
    reason: str
    hits: int
    status: ReviewStatus
    resolution: str
    resolved_by: str | None
    created_at: datetime
    resolved_at: datetime | None


class ReviewResolve(Body):
    status: ReviewStatus = Field(description="cleared (nothing wrong) or confirmed (fraud)")
    resolution: Prose = Field(max_length=2000, description="what was found, and what was done")

    @field_validator("resolution")
    @classmethod
    def _says_something(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say what was found and what was done (it stays with the review)")
        return value.strip()

    @model_validator(mode="after")
    def _closing(self) -> Self:
        if self.status is ReviewStatus.OPEN:
            raise ValueError("resolve as cleared or confirmed")
        return self


class ClientDevicePublic(BaseModel):
    id: int
    install_id: str | None
    user_agent: str
    address: str
    sign_ins: int
    first_seen_at: datetime
    last_seen_at: datetime


class SignInNoticePublic(BaseModel):
    id: str
    device_id: int
    detail: str
    created_at: datetime


class FraudRulePage(Page[FraudRulePublic]):
    """One page of fraud rules, by name."""


class FraudDecisionPage(Page[FraudDecisionPublic]):
    """One page of the rules' decisions, the latest first."""


class FraudReviewPage(Page[FraudReviewPublic]):
    """One page of fraud reviews, oldest first."""


class ClientDevicePage(Page[ClientDevicePublic]):
    """One page of the devices your account signed in from, latest seen first."""


class SignInNoticePage(Page[SignInNoticePublic]):
    """One page of sign-ins from new devices, latest first."""
