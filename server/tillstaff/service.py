"""Setting and clearing till PINs; the refusals are domain errors (`server.errors`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.pins import hash_pin, pin_problem
from sync.wire import StaffPinSet, StaffRole, StaffState, TillStaffPublic

from ..accounts.models import User
from ..accounts.repository import revoke_user_families
from ..db import count_of
from ..directory.models import Business, StaffMember
from ..errors import OwnerRoleReserved, StaffNotFound, WeakPin
from .models import TillStaff
from .schemas import StaffPublic

__all__ = [
    "change_role",
    "clear_pin",
    "people",
    "remove_staff",
    "set_pin",
    "staff_page",
    "staff_states",
]


def _people(session: Session, business: Business) -> list[User]:
    """The owner first, then the business's staff accounts by email."""
    staff = session.scalars(
        select(User)
        .join(StaffMember, StaffMember.user_id == User.id)
        .where(StaffMember.business_id == business.id)
        .order_by(User.email)
    )
    owner = session.get(User, business.owner_id) if business.owner_id else None
    return [*([owner] if owner else []), *staff]


def _public(user: User, row: TillStaff | None, role: StaffRole) -> TillStaffPublic:
    return TillStaffPublic(
        id=user.id,
        email=user.email,
        name=row.name if row else _default_name(user),
        role=role,  # one role, with a PIN or without
        has_pin=row is not None,
    )


def _default_name(user: User) -> str:
    return user.email.partition("@")[0][:40]


def _rows(session: Session, business_id: str) -> dict[str, TillStaff]:
    rows = session.scalars(select(TillStaff).where(TillStaff.business_id == business_id))
    return {row.user_id: row for row in rows}


def people(session: Session, business: Business) -> list[TillStaffPublic]:
    """Everyone who could work the business's tills, with their role (the owner's `owner`, a
    staff account's its one role) and whether a PIN is set."""
    rows = _rows(session, business.id)
    staff = select(StaffMember.user_id, StaffMember.role)
    found = session.execute(staff.where(StaffMember.business_id == business.id))
    roles = {row.user_id: row.role for row in found}
    return [
        _public(user, rows.get(user.id), roles.get(user.id, StaffRole.OWNER))
        for user in _people(session, business)
    ]


def _person(session: Session, business: Business, user_id: str) -> User:
    found = next((user for user in _people(session, business) if user.id == user_id), None)
    if found is None:
        raise StaffNotFound(
            f"{user_id!r} is neither the owner nor a staff account of this business: add the "
            "cashier first (POST /businesses/{id}/staff), then set their PIN."
        )
    return found


def set_pin(
    session: Session, business: Business, user_id: str, body: StaffPinSet
) -> TillStaffPublic:
    """Set a person's till PIN and role; the terminals learn of it with their next pull. A
    role left out stays as it is: the staff account's role (the one the API uses), the
    owner's `owner`. The owner role is the owner's account's alone, and that account keeps
    it."""
    user = _person(session, business, user_id)
    problem = pin_problem(body.pin)
    if problem is not None:
        raise WeakPin(f"That PIN will not do: {problem}. Choose another; nothing was changed.")
    is_owner = user.id == business.owner_id
    member = None if is_owner else session.get(StaffMember, user.id)
    # Left out, the role stays: `_person` found either the owner or one of the staff.
    role = body.role or (member.role if member is not None else StaffRole.OWNER)
    if role is StaffRole.OWNER and not is_owner:
        raise OwnerRoleReserved(
            "Only the business's owner signs in at the till as owner: give a staff member "
            "the manager role to let them open the vendor screens."
        )
    if is_owner and role is not StaffRole.OWNER:
        raise OwnerRoleReserved(
            "The business's owner is always owner at the till: set the owner's PIN with the "
            f"role owner (or no role), not {role}. Nothing was changed."
        )
    row = session.get(TillStaff, (business.id, user.id))
    name = body.name or (row.name if row else _default_name(user))
    if row is None:
        row = TillStaff(business_id=business.id, user_id=user.id)
        session.add(row)
    row.name, row.role, row.pin_hash = name, role, hash_pin(body.pin)
    if member is not None:  # `_person` found them among this business's staff
        member.role = role  # one role for the till and the API
    session.flush()
    return _public(user, row, role)


def clear_pin(session: Session, business: Business, user_id: str) -> None:
    """Take a person's PIN away: no till lets them sign in after its next pull."""
    user = _person(session, business, user_id)
    row = session.get(TillStaff, (business.id, user.id))
    if row is not None:
        session.delete(row)


def staff_states(
    session: Session, business_id: str, user_ids: list[str] | None = None
) -> list[StaffState]:
    """What the terminals cache: every PIN of the business, or those of `user_ids`."""
    query = select(TillStaff).where(TillStaff.business_id == business_id)
    if user_ids is not None:
        query = query.where(TillStaff.user_id.in_(user_ids))
    return [
        StaffState(id=row.user_id, name=row.name, role=row.role, pin_hash=row.pin_hash)
        for row in session.scalars(query.order_by(TillStaff.name))
    ]


def _member(session: Session, business: Business, user_id: str) -> tuple[StaffMember, User]:
    member = session.get(StaffMember, user_id)
    user = session.get(User, user_id) if member is not None else None
    if member is None or user is None or member.business_id != business.id:
        raise StaffNotFound(
            f"{user_id!r} is not a staff account of this business: list them with "
            "GET /businesses/{id}/staff."
        )
    return member, user


def _staff_public(member: StaffMember, user: User, has_pin: bool) -> StaffPublic:
    return StaffPublic(id=user.id, email=user.email, role=member.role, has_pin=has_pin)


def staff_page(
    session: Session, business: Business, role: StaffRole | None, offset: int, limit: int
) -> tuple[list[StaffPublic], int]:
    """The business's staff accounts (of one role), by email, with the total."""
    query = (
        select(StaffMember, User)
        .join(User, User.id == StaffMember.user_id)
        .where(StaffMember.business_id == business.id)
    )
    if role is not None:
        query = query.where(StaffMember.role == role)
    total = count_of(session, query)
    rows = session.execute(query.order_by(User.email).offset(offset).limit(limit)).all()
    pins = _rows(session, business.id)
    return [_staff_public(member, user, user.id in pins) for member, user in rows], total


def change_role(session: Session, business: Business, user_id: str, role: StaffRole) -> StaffPublic:
    """Make a staff account a cashier or a manager, at once in the API and, after their
    next pull, at the tills (where a PIN is set)."""
    member, user = _member(session, business, user_id)
    member.role = role
    row = session.get(TillStaff, (business.id, user.id))
    if row is not None:
        row.role = role  # recorded: the terminals pull it
    session.flush()
    return _staff_public(member, user, row is not None)


def remove_staff(session: Session, business: Business, user_id: str, now: datetime) -> list[str]:
    """Take a staff account off the business: it can do nothing for it from now on, no
    till lets it sign in after its next pull, and its sessions end. The account itself
    stays (its past sales name it). Returns the sessions ended, for the deny list."""
    member, user = _member(session, business, user_id)
    row = session.get(TillStaff, (business.id, user.id))
    if row is not None:
        session.delete(row)  # recorded: the terminals drop the PIN
    session.delete(member)
    session.flush()
    return revoke_user_families(session, user.id, now)
