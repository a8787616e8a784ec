"""The owner sets and clears till PINs; the terminals get them through their pull."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from sync.wire import StaffPinSet, StaffRole, TillStaffPublic

from ..db import SessionDep
from ..deps import ManagedBusiness, OwnedBusiness
from ..pages import Paging
from . import service
from .schemas import StaffPage, StaffPublic, StaffRoleChange, TillStaffPage

router = APIRouter(tags=["terminals"])


@router.get(
    "/businesses/{business_id}/till-staff",
    summary="Who can sign in at your tills: you and each staff account, with role and PIN set",
)
def list_till_staff(business: OwnedBusiness, session: SessionDep, paging: Paging) -> TillStaffPage:
    return TillStaffPage.cut(service.people(session, business), paging)  # a short list


@router.put(
    "/businesses/{business_id}/till-staff/{user_id}",
    summary="Set a staff member's till PIN and role (cashier, manager, owner)",
    description="The PIN (4 to 8 digits, not a run or one repeated digit) is kept only as a "
    "slow salted hash, which the business's terminals pull and check offline. A cashier "
    "scans and sees the history; a manager and the owner also open the vendor screens.",
)
def set_till_pin(
    business: OwnedBusiness, user_id: str, body: StaffPinSet, session: SessionDep
) -> TillStaffPublic:
    person = service.set_pin(session, business, user_id, body)
    session.commit()
    return person


@router.delete(
    "/businesses/{business_id}/till-staff/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Clear a staff member's till PIN: no till lets them sign in after its next pull",
)
def clear_till_pin(business: OwnedBusiness, user_id: str, session: SessionDep) -> Response:
    service.clear_pin(session, business, user_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/businesses/{business_id}/staff",
    summary="Your staff accounts, with their role and whether a till PIN is set",
    description="By email; `role` keeps one role (cashier or manager). Add one with "
    "POST /businesses/{id}/staff.",
)
def list_staff(
    business: ManagedBusiness,
    session: SessionDep,
    paging: Paging,
    role: Annotated[StaffRole | None, Query()] = None,
) -> StaffPage:
    people, total = service.staff_page(session, business, role, paging.offset, paging.limit)
    return StaffPage.of(people, total, paging.offset, paging.limit)


@router.patch(
    "/businesses/{business_id}/staff/{user_id}",
    summary="Make a staff account a cashier or a manager",
    description="A manager also manages the business's branches, products and deals and "
    "reads its lists, in the API and at the till; a cashier sells and redeems.",
)
def change_staff_role(
    business: OwnedBusiness, user_id: str, body: StaffRoleChange, session: SessionDep
) -> StaffPublic:
    person = service.change_role(session, business, user_id, body.role)
    session.commit()
    return person


@router.delete(
    "/businesses/{business_id}/staff/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a staff account from your business",
    description="They can do nothing for the business from now on, their sessions end, and "
    "no till lets them sign in after its next pull. Their past sales keep their name.",
)
def remove_staff(
    business: OwnedBusiness, user_id: str, request: Request, session: SessionDep
) -> Response:
    ended = service.remove_staff(session, business, user_id, datetime.now(UTC))
    session.commit()
    request.app.state.deny_list.end_sessions(*ended)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
