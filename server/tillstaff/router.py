"""The owner sets and clears till PINs; the terminals get them through their pull."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from sync.wire import StaffPinSet, TillStaffPublic

from ..db import SessionDep
from ..deps import CurrentUser, business_for
from . import service

router = APIRouter(tags=["terminals"])


@router.get(
    "/businesses/{business_id}/till-staff",
    summary="Who can sign in at your tills: you and each staff account, with role and PIN set",
)
def list_till_staff(
    business_id: str, user: CurrentUser, session: SessionDep
) -> list[TillStaffPublic]:
    business = business_for(session, user, business_id, staff=False)
    return service.people(session, business)


@router.put(
    "/businesses/{business_id}/till-staff/{user_id}",
    summary="Set a staff member's till PIN and role (cashier, manager, owner)",
    description="The PIN (4 to 8 digits, not a run or one repeated digit) is kept only as a "
    "slow salted hash, which the business's terminals pull and check offline. A cashier "
    "scans and sees the history; a manager and the owner also open the vendor screens.",
)
def set_till_pin(
    business_id: str, user_id: str, body: StaffPinSet, user: CurrentUser, session: SessionDep
) -> TillStaffPublic:
    business = business_for(session, user, business_id, staff=False)
    person = service.set_pin(session, business, user_id, body)
    session.commit()
    return person


@router.delete(
    "/businesses/{business_id}/till-staff/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Clear a staff member's till PIN: no till lets them sign in after its next pull",
)
def clear_till_pin(
    business_id: str, user_id: str, user: CurrentUser, session: SessionDep
) -> Response:
    business = business_for(session, user, business_id, staff=False)
    service.clear_pin(session, business, user_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
