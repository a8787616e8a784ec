"""Fraud rules (admins for the platform's, owners for their business's own), decisions
(admins), reviews (vendors for their business, admins for the platform), and the devices and
new-device notices of the signed-in account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..db import SessionDep
from ..deps import CurrentAdmin, CurrentUser, OwnedBusiness
from ..pages import PageRequest, Paging
from . import service
from .models import FraudRule, ReviewStatus
from .schemas import (
    ClientDevicePage,
    ClientDevicePublic,
    FraudDecisionPage,
    FraudDecisionPublic,
    FraudReviewPage,
    FraudReviewPublic,
    FraudRuleCreate,
    FraudRulePage,
    FraudRulePublic,
    FraudRuleUpdate,
    ReviewResolve,
    SignInNoticePage,
    SignInNoticePublic,
)

router = APIRouter(tags=["fraud"])

StatusQuery = Annotated[ReviewStatus | None, Query(description="only reviews in this state")]


def _rule(rule: FraudRule) -> FraudRulePublic:
    return FraudRulePublic.model_validate(rule, from_attributes=True)


def _rule_page(session: SessionDep, business_id: str | None, paging: PageRequest) -> FraudRulePage:
    """One page of the platform's rules (None), or of a business's own."""
    found, total = service.rules(session, business_id, paging)
    return FraudRulePage.of([_rule(r) for r in found], total, paging.offset, paging.limit)


@router.get("/admin/fraud/rules", summary="The platform's fraud rules (admins)")
def list_rules(user: CurrentAdmin, session: SessionDep, paging: Paging) -> FraudRulePage:
    return _rule_page(session, None, paging)


@router.post(
    "/admin/fraud/rules", status_code=201, summary="Add a fraud rule for the platform (admins)"
)
def create_rule(body: FraudRuleCreate, user: CurrentAdmin, session: SessionDep) -> FraudRulePublic:
    rule = service.create_rule(session, None, **body.model_dump())
    session.commit()
    return _rule(rule)


@router.patch("/admin/fraud/rules/{rule_id}", summary="Change a platform fraud rule (admins)")
def update_rule(
    rule_id: str, body: FraudRuleUpdate, user: CurrentAdmin, session: SessionDep
) -> FraudRulePublic:
    rule = service.update_rule(session, None, rule_id, **body.model_dump(exclude_unset=True))
    session.commit()
    return _rule(rule)


@router.get(
    "/businesses/{business_id}/fraud/rules", summary="Your business's own fraud rules (owners)"
)
def list_business_rules(
    business: OwnedBusiness, session: SessionDep, paging: Paging
) -> FraudRulePage:
    return _rule_page(session, business.id, paging)


@router.post(
    "/businesses/{business_id}/fraud/rules",
    status_code=201,
    summary="Add a fraud rule for your business: it counts and applies to activity there",
)
def create_business_rule(
    business: OwnedBusiness, body: FraudRuleCreate, session: SessionDep
) -> FraudRulePublic:
    rule = service.create_rule(session, business.id, **body.model_dump())
    session.commit()
    return _rule(rule)


@router.patch(
    "/businesses/{business_id}/fraud/rules/{rule_id}",
    summary="Change one of your business's fraud rules",
)
def update_business_rule(
    business: OwnedBusiness,
    rule_id: str,
    body: FraudRuleUpdate,
    session: SessionDep,
) -> FraudRulePublic:
    changes = body.model_dump(exclude_unset=True)
    rule = service.update_rule(session, business.id, rule_id, **changes)
    session.commit()
    return _rule(rule)


@router.get("/admin/fraud/decisions", summary="What the rules decided, latest first (admins)")
def list_decisions(
    user: CurrentAdmin,
    session: SessionDep,
    paging: Paging,
    rule_id: Annotated[str | None, Query(max_length=40)] = None,
    flagged: Annotated[bool, Query(description="only those that did not allow")] = False,
) -> FraudDecisionPage:
    found, total = service.decisions(session, paging, rule_id=rule_id, flagged_only=flagged)
    items = [FraudDecisionPublic.model_validate(d, from_attributes=True) for d in found]
    return FraudDecisionPage.of(items, total, paging.offset, paging.limit)


def _review_page(
    session: SessionDep, business_id: str | None, status: ReviewStatus | None, paging: PageRequest
) -> FraudReviewPage:
    """One page of a business's reviews, or (None) of the platform's."""
    found, total = service.reviews(session, business_id, status, paging)
    items = [FraudReviewPublic.model_validate(r, from_attributes=True) for r in found]
    return FraudReviewPage.of(items, total, paging.offset, paging.limit)


@router.get("/admin/fraud/reviews", summary="Every review on the platform (admins)")
def list_all_reviews(
    user: CurrentAdmin, session: SessionDep, paging: Paging, status: StatusQuery = None
) -> FraudReviewPage:
    return _review_page(session, None, status, paging)


@router.post("/admin/fraud/reviews/{review_id}/resolve", summary="Resolve any review (admins)")
def resolve_any_review(
    review_id: str, body: ReviewResolve, user: CurrentAdmin, session: SessionDep
) -> FraudReviewPublic:
    review = service.review_of(session, None, review_id)
    service.resolve_review(session, review, user, body.status, body.resolution)
    session.commit()
    return FraudReviewPublic.model_validate(review, from_attributes=True)


@router.get(
    "/businesses/{business_id}/fraud/reviews",
    summary="What the fraud rules flagged at your business",
)
def list_reviews(
    business: OwnedBusiness,
    session: SessionDep,
    paging: Paging,
    status: StatusQuery = None,
) -> FraudReviewPage:
    return _review_page(session, business.id, status, paging)


@router.post(
    "/businesses/{business_id}/fraud/reviews/{review_id}/resolve",
    summary="Resolve a review at your business, saying what was done",
)
def resolve_review(
    business: OwnedBusiness,
    review_id: str,
    body: ReviewResolve,
    user: CurrentUser,
    session: SessionDep,
) -> FraudReviewPublic:
    review = service.review_of(session, business.id, review_id)
    service.resolve_review(session, review, user, body.status, body.resolution)
    session.commit()
    return FraudReviewPublic.model_validate(review, from_attributes=True)


@router.get("/me/devices", summary="The devices your account signed in from")
def my_devices(user: CurrentUser, session: SessionDep, paging: Paging) -> ClientDevicePage:
    found, total = service.devices_of(session, user, paging)
    items = [ClientDevicePublic.model_validate(d, from_attributes=True) for d in found]
    return ClientDevicePage.of(items, total, paging.offset, paging.limit)


@router.get("/me/sign-in-notices", summary="Sign-ins from new devices (vendor owners)")
def my_sign_in_notices(user: CurrentUser, session: SessionDep, paging: Paging) -> SignInNoticePage:
    found, total = service.notices_of(session, user, paging)
    items = [SignInNoticePublic.model_validate(n, from_attributes=True) for n in found]
    return SignInNoticePage.of(items, total, paging.offset, paging.limit)
