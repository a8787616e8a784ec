"""Clubs: the public directory and pages, founding and joining, organisers' powers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.orm import Session

from sync.money import Money

from ..accounts.models import User
from ..db import SessionDep
from ..deps import (
    PROBLEM_RESPONSES,
    BearerClaims,
    CurrentUser,
    IdempotencyKey,
    OwnedBusiness,
    in_purchase_lane,
    reply,
    user_of,
)
from ..directory.repository import Near
from ..directory.schemas import MoneyPublic
from ..fraud.client import client_of
from ..pages import PageRequest, Paging
from ..payments import PaymentGateway
from ..places import Latitude, Longitude, point
from ..wallet.idempotency import Outcome, idempotent
from . import donations, history, purchases, receipts, service
from .models import (
    Club,
    ClubHolding,
    ClubMember,
    ClubMovement,
    Donation,
    Membership,
    MovementKind,
)
from .schemas import (
    CardDonationCreate,
    CardDonationsPublic,
    CardDonationsSetting,
    ClubCardPurchase,
    ClubCreate,
    ClubFunds,
    ClubHistory,
    ClubJoin,
    ClubPage,
    ClubPublic,
    ClubVoucherPurchase,
    DonationCreate,
    DonationPublic,
    DonationReceipt,
    DonationReceiptPage,
    HandOver,
    HoldingPage,
    HoldingPublic,
    InvitationIssued,
    MemberManaged,
    MemberManagedPage,
    MemberPage,
    MemberPublic,
    MovementPublic,
    MyMembership,
    MyMembershipPage,
    Place,
    RoleChange,
)

router = APIRouter(tags=["community"])


def _public(club: Club, members: int, distance: float | None = None) -> ClubPublic:
    place = None
    if club.latitude is not None and club.longitude is not None:
        place = Place(latitude=club.latitude, longitude=club.longitude)
    return ClubPublic(
        id=club.id,
        name=club.name,
        description=club.description,
        place=place,
        home_business_id=club.home_business_id,
        join_policy=club.join_policy,
        currency=club.currency,
        members=members,
        distance_km=None if distance is None else round(distance, 3),
    )


def _count(session: SessionDep, club: Club) -> int:
    return service.member_count(session, club.id)


def _caller_as(
    check: Callable[[Session, Club, str], service.InClub],
) -> Callable[[str, User, Session], service.InClub]:
    """A dependency: the path's club and the caller's membership of it, as `check` finds
    them (one of `service.require_*`)."""

    def in_club(club_id: str, user: CurrentUser, session: SessionDep) -> service.InClub:
        return check(session, service.club(session, club_id), user.id)

    return in_club


# Who may act on a club, checked by a dependency (`server.deps`): FastAPI runs it once it
# has read the body, before it validates the path, query and body. 404 for no such club,
# then 403 `not-a-member` or `not-organiser`. The services take what it found, and do not
# check again.
AsMember = Annotated[service.InClub, Depends(_caller_as(service.require_member))]
AsOrganiser = Annotated[service.InClub, Depends(_caller_as(service.require_manager))]
AsFounder = Annotated[service.InClub, Depends(_caller_as(service.require_founder))]


@router.post("/clubs", status_code=status.HTTP_201_CREATED, summary="Found a club")
def found_club(body: ClubCreate, user: CurrentUser, session: SessionDep) -> ClubPublic:
    place = None if body.place is None else (body.place.latitude, body.place.longitude)
    club = service.found_club(
        session,
        user.id,
        name=body.name,
        description=body.description,
        place=place,
        home_business_id=body.home_business_id,
        join_policy=body.join_policy,
        display_name=body.display_name,
        currency_code=body.currency,
    )
    session.commit()
    return _public(club, 1)


@router.get("/clubs", summary="The club directory: by words, or near a point")
def list_clubs(
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=100, description="words in the name or description")
    ] = None,
    lat: Latitude = None,
    lon: Longitude = None,
    radius_km: Annotated[float, Query(gt=0, le=500)] = 10,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ClubPage:
    at = point(lat, lon, "for clubs anywhere")
    near = None if at is None else Near(*at, radius_km)
    found, total = service.search(session, q, near, offset, limit)
    items = [_public(f.club, f.members, f.distance_km) for f in found]
    return ClubPage.of(items, total, offset, limit)


@router.get("/clubs/{club_id}", summary="A club's page")
def get_club(club_id: str, session: SessionDep) -> ClubPublic:
    club = service.club(session, club_id)
    return _public(club, _count(session, club))


@router.get("/clubs/{club_id}/members", summary="A club's members, by display name only")
def list_members(club_id: str, session: SessionDep, paging: Paging) -> MemberPage:
    club = service.club(session, club_id)
    members, total = service.members(session, club.id, Membership.ACTIVE, paging)
    items = [
        MemberPublic(display_name=m.display_name, role=m.role, joined_at=m.joined_at)
        for m in members
    ]
    return MemberPage.of(items, total, paging.offset, paging.limit)


def _managed(member: ClubMember) -> MemberManaged:
    return MemberManaged(
        user_id=member.user_id,
        display_name=member.display_name,
        role=member.role,
        joined_at=member.joined_at,
        status=member.status,
    )


@router.get(
    "/clubs/{club_id}/requests",
    summary="Requests to join, for the club's organisers",
    responses=PROBLEM_RESPONSES,
)
def list_requests(organiser: AsOrganiser, session: SessionDep, paging: Paging) -> MemberManagedPage:
    return _managed_page(session, organiser.club, Membership.REQUESTED, paging)


def _managed_page(
    session: SessionDep, club: Club, status: Membership, paging: PageRequest
) -> MemberManagedPage:
    """One page of the club's members in `status`, for its organisers."""
    members, total = service.members(session, club.id, status, paging)
    return MemberManagedPage.of([_managed(m) for m in members], total, paging.offset, paging.limit)


@router.post(
    "/clubs/{club_id}/join",
    summary="Join (an open club, or with an invitation) or ask to (a club that approves)",
    responses=PROBLEM_RESPONSES,
)
def join_club(club_id: str, body: ClubJoin, user: CurrentUser, session: SessionDep) -> MyMembership:
    club = service.club(session, club_id)
    me = service.join(session, club, user.id, body.display_name, body.invitation, datetime.now(UTC))
    session.commit()
    return MyMembership(club=_public(club, _count(session, club)), role=me.role, status=me.status)


@router.post(
    "/clubs/{club_id}/leave",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Leave a club, or withdraw a request (a founder alone closes the club)",
    responses=PROBLEM_RESPONSES,
)
def leave_club(club_id: str, user: CurrentUser, session: SessionDep) -> Response:
    service.leave(session, service.club(session, club_id), user.id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/clubs/{club_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    summary="An invitation code, for organisers to hand out (single use, 14 days)",
    responses=PROBLEM_RESPONSES,
)
def invite(club_id: str, user: CurrentUser, session: SessionDep) -> InvitationIssued:
    code, expires = service.invite(
        session, service.club(session, club_id), user.id, datetime.now(UTC)
    )
    session.commit()
    return InvitationIssued(code=code, expires_at=expires)


@router.post(
    "/clubs/{club_id}/members/{user_id}/approve",
    summary="Let in someone who asked to join (organisers)",
    responses=PROBLEM_RESPONSES,
)
def approve(club_id: str, user_id: str, user: CurrentUser, session: SessionDep) -> MemberManaged:
    member = service.approve(session, service.club(session, club_id), user.id, user_id)
    session.commit()
    return _managed(member)


@router.delete(
    "/clubs/{club_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member, or turn a request down (organisers)",
    responses=PROBLEM_RESPONSES,
)
def remove(club_id: str, user_id: str, user: CurrentUser, session: SessionDep) -> Response:
    service.remove(session, service.club(session, club_id), user.id, user_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/clubs/{club_id}/members/{user_id}/role",
    summary="Name an organiser or a member; naming a founder hands the club on (founder)",
    responses=PROBLEM_RESPONSES,
)
def put_role(
    founder: AsFounder, user_id: str, body: RoleChange, session: SessionDep
) -> MemberManaged:
    member = service.set_role(session, founder, user_id, body.role)
    session.commit()
    return _managed(member)


@router.get("/me/clubs", summary="Your clubs, and your requests to join")
def my_clubs(user: CurrentUser, session: SessionDep, paging: Paging) -> MyMembershipPage:
    mine, total = service.my_clubs(session, user.id, paging)
    items = [
        MyMembership(club=_public(c, _count(session, c)), role=m.role, status=m.status)
        for c, m in mine
    ]
    return MyMembershipPage.of(items, total, paging.offset, paging.limit)


def _name(session: SessionDep, club_id: str, user_id: str, anonymous: bool = False) -> str:
    """Who someone is to a club's members: their display name there, never an account."""
    if anonymous:
        return "Anonymous"
    member = service.membership(session, club_id, user_id)
    if member is None or member.status is Membership.REMOVED:
        return "A friend of the club"
    return member.display_name


def _donation(session: SessionDep, donation: Donation) -> DonationPublic:
    return DonationPublic(
        id=donation.id,
        club_id=donation.club_id,
        amount=MoneyPublic.of(Money.of(donation.amount_minor, donation.currency)),
        donor=_name(session, donation.club_id, donation.donor_id, donation.anonymous),
        message=donation.message,
        created_at=donation.created_at,
        refunded_at=donation.refunded_at,
    )


def _receipt(session: SessionDep, donation: Donation) -> DonationReceipt:
    """The donor's own: named to them, anonymous or not (members see 'Anonymous')."""
    club = session.get_one(Club, donation.club_id)  # a closed club's too: receipts stay
    public = _donation(session, donation).model_dump()
    return DonationReceipt(
        **public | {"donor": _name(session, donation.club_id, donation.donor_id)},
        club_name=club.name,
        anonymous=donation.anonymous,
        payment_reference=donation.payment_reference,
        gift_card_id=donation.card_id,
    )


def _donor(request: Request, user: User, message: str, anonymous: bool) -> donations.Donor:
    return donations.Donor(user.id, client_of(request).address, message, anonymous)


@router.post(
    "/clubs/{club_id}/donations",
    status_code=status.HTTP_201_CREATED,
    response_model=DonationReceipt,
    responses={402: {"description": "the payment was declined"}, **PROBLEM_RESPONSES},
    summary="Donate to a club's fund, paid by card (an organiser may give it back)",
)
async def donate(
    club_id: str,
    body: DonationCreate,
    request: Request,
    claims: BearerClaims,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    gateway: PaymentGateway = request.app.state.gateway
    request_body = {"path": request.url.path, **body.model_dump()}

    def work(session: Session) -> Outcome:
        user = user_of(session, request, claims)
        club = service.club(session, club_id)

        def operation() -> Outcome:
            made = donations.give(
                session,
                gateway,
                request.app.state.money_limits,
                club,
                _donor(request, user, body.message, body.anonymous),
                Money.of(body.amount_minor, club.currency),
                body.payment.card_number,
                payment_key=f"{user.id}:{idempotency_key}",
            )
            receipts.donated(session, request.app.state.outbox, club, made)
            return 201, _receipt(session, made).model_dump(mode="json")

        return idempotent(session, user.id, idempotency_key, request_body, operation)

    # It waits on the payment provider: in the purchases' lane, not the shared pool.
    return reply(await in_purchase_lane(request, work))


@router.get(
    "/clubs/{club_id}/funds",
    summary="The club's fund and its donations (members)",
    responses=PROBLEM_RESPONSES,
)
def funds(member: AsMember, session: SessionDep, paging: Paging) -> ClubFunds:
    club = member.club
    given, total = donations.donations(session, paging, club_id=club.id)
    return ClubFunds.of(
        [_donation(session, d) for d in given],
        total,
        paging.offset,
        paging.limit,
        club_id=club.id,
        balance=MoneyPublic.of(donations.fund(session, club)),
    )


@router.get("/me/donations", summary="Your donations: receipts, newest first")
def my_donations(user: CurrentUser, session: SessionDep, paging: Paging) -> DonationReceiptPage:
    given, total = donations.donations(session, paging, donor_id=user.id)
    items = [_receipt(session, d) for d in given]
    return DonationReceiptPage.of(items, total, paging.offset, paging.limit)


@router.put(
    "/businesses/{business_id}/club-donations",
    summary="Let this business's gift cards be donated to clubs, or not (owners; off at first)",
    responses=PROBLEM_RESPONSES,
)
def set_card_donations(
    business: OwnedBusiness, body: CardDonationsSetting, session: SessionDep
) -> CardDonationsPublic:
    policy = donations.set_card_donations(session, business.id, body.allowed)
    session.commit()
    return CardDonationsPublic(business_id=business.id, allowed=policy.allowed)


@router.post(
    "/clubs/{club_id}/donations/from-card",
    status_code=status.HTTP_201_CREATED,
    response_model=DonationReceipt,
    responses=PROBLEM_RESPONSES,
    summary="Donate part of your gift card's balance, where its business allows it",
)
def donate_from_card(
    club_id: str,
    body: CardDonationCreate,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    club = service.club(session, club_id)

    def operation() -> Outcome:
        made = donations.give_from_card(
            session,
            request.app.state.keyring,
            club,
            _donor(request, user, body.message, body.anonymous),
            body.card_id,
            body.amount_minor,
        )
        receipts.donated(session, request.app.state.outbox, club, made)
        return 201, _receipt(session, made).model_dump(mode="json")

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))


@router.post(
    "/clubs/{club_id}/donations/{donation_id}/refund",
    response_model=DonationReceipt,
    responses=PROBLEM_RESPONSES,
    summary="Give a donation back where it came from (the donor or an organiser, 14 days)",
)
async def refund_donation(
    club_id: str,
    donation_id: str,
    request: Request,
    claims: BearerClaims,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    request_body = {"path": request.url.path}

    def work(session: Session) -> Outcome:
        user = user_of(session, request, claims)
        club = service.club(session, club_id)

        def operation() -> Outcome:
            given = donations.donation(session, club, donation_id)
            donations.refund(
                session,
                club,
                given,
                user.id,
                request.app.state.gateway,
                request.app.state.money_limits,
                datetime.now(UTC),
            )
            receipts.refunded(session, request.app.state.outbox, club, given)
            return 200, _receipt(session, given).model_dump(mode="json")

        return idempotent(session, user.id, idempotency_key, request_body, operation)

    # The refund waits on the payment provider: in the purchases' lane.
    return reply(await in_purchase_lane(request, work))


def _movement(session: SessionDep, line: ClubMovement) -> MovementPublic:
    # No one acted for a prize: the contest's organiser paid for it.
    won = line.kind is MovementKind.PRIZE_WON
    return MovementPublic(
        kind=line.kind,
        amount=MoneyPublic.of(Money.of(line.amount_minor, line.currency)),
        by=None if won else _name(session, line.club_id, line.actor_id, line.anonymous),
        about=line.subject_id,
        memo=line.memo,
        at=line.created_at,
    )


@router.get(
    "/clubs/{club_id}/history",
    summary="Every movement of the club's fund and of what it holds, newest first (members)",
    responses=PROBLEM_RESPONSES,
)
def club_history(
    member: AsMember,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ClubHistory:
    lines, total = history.page(session, member.club, offset, limit)
    return ClubHistory.of([_movement(session, line) for line in lines], total, offset, limit)


def _holding(session: SessionDep, held: ClubHolding) -> HoldingPublic:
    return HoldingPublic(
        id=held.id,
        kind=held.kind,
        item_id=held.item_id,
        business_id=held.business_id,
        paid=MoneyPublic.of(Money.of(held.amount_minor, held.currency)),
        bought_by=None if held.contest_id else _name(session, held.club_id, held.bought_by),
        bought_at=held.bought_at,
        won_in=held.contest_id,
        handed_to=None if held.handed_to is None else _name(session, held.club_id, held.handed_to),
        handed_at=held.handed_at,
    )


@router.post(
    "/clubs/{club_id}/purchases/gift-cards",
    status_code=status.HTTP_201_CREATED,
    response_model=HoldingPublic,
    responses=PROBLEM_RESPONSES,
    summary="Buy a gift card with the club's fund; the club holds it (organisers)",
)
def buy_club_card(
    organiser: AsOrganiser,
    body: ClubCardPurchase,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:

    def operation() -> Outcome:
        held = purchases.buy_card(
            session,
            request.app.state.keyring,
            organiser,
            client_of(request).address,
            body.business_id,
            body.amount_minor,
            datetime.now(UTC).date(),
            request.app.state.money_limits,
        )
        return 201, _holding(session, held).model_dump(mode="json")

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))


@router.post(
    "/clubs/{club_id}/purchases/vouchers",
    status_code=status.HTTP_201_CREATED,
    response_model=HoldingPublic,
    responses=PROBLEM_RESPONSES,
    summary="Buy a deal's voucher with the club's fund; the club holds it (organisers)",
)
def buy_club_voucher(
    organiser: AsOrganiser,
    body: ClubVoucherPurchase,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:

    def operation() -> Outcome:
        address = client_of(request).address
        keyring = request.app.state.keyring
        held = purchases.buy_voucher(session, keyring, organiser, address, body.deal_id)
        return 201, _holding(session, held).model_dump(mode="json")

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))


@router.get(
    "/clubs/{club_id}/holdings",
    summary="The gift cards and vouchers the club bought, held or handed over (members)",
    responses=PROBLEM_RESPONSES,
)
def club_holdings(member: AsMember, session: SessionDep, paging: Paging) -> HoldingPage:
    held, total = purchases.holdings(session, member.club, paging)
    items = [_holding(session, h) for h in held]
    return HoldingPage.of(items, total, paging.offset, paging.limit)


@router.post(
    "/clubs/{club_id}/holdings/{holding_id}/hand-over",
    response_model=HoldingPublic,
    responses=PROBLEM_RESPONSES,
    summary="Hand a held gift card or voucher to a member, into their account (organisers)",
)
def hand_over(
    organiser: AsOrganiser,
    holding_id: str,
    body: HandOver,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:

    def operation() -> Outcome:
        held = purchases.hand_over(session, organiser, holding_id, body.member_id)
        receipts.handed_out(session, request.app.state.outbox, organiser.club, held)
        return 200, _holding(session, held).model_dump(mode="json")

    request_body = {"path": request.url.path, **body.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))


@router.get(
    "/clubs/{club_id}/roster",
    summary="The club's active members with the ids organisers act on (organisers)",
    responses=PROBLEM_RESPONSES,
)
def roster(organiser: AsOrganiser, session: SessionDep, paging: Paging) -> MemberManagedPage:
    return _managed_page(session, organiser.club, Membership.ACTIVE, paging)
