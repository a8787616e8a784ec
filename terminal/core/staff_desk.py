"""The owner gives staff their till PINs from the terminal: signed in with the owner's
account (online), through the server's till-staff calls. Screens get typed rows and
OwnerError with the reason in words; never a REST path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.pins import pin_problem
from sync.wire import StaffPinSet, StaffRole, TillStaffPublic

from .session import OwnerError

if TYPE_CHECKING:
    from .session import TerminalSession

__all__ = ["StaffDesk", "role_problem"]


def role_problem(user_id: str, role: StaffRole, owner_id: str | None) -> str | None:
    """Why `role` cannot be `user_id`'s at the till, in words; None when it can. The owner
    role is the owner's account's alone, and that account is always owner (the server
    refuses anything else too: 422 owner-role-reserved)."""
    if owner_id is None:
        return None
    if user_id == owner_id and role is not StaffRole.OWNER:
        return (
            "you are the business's owner, and at the till the owner's role stays owner: type owner"
        )
    if user_id != owner_id and role is StaffRole.OWNER:
        return (
            "only the business's owner signs in as owner: give staff cashier, or manager "
            "to let them open the vendor screens"
        )
    return None


class StaffDesk:
    """The signed-in owner's PIN calls for this terminal's business."""

    def __init__(self, session: TerminalSession, token: str) -> None:
        self.session = session
        self.token = token

    def people(self) -> list[TillStaffPublic]:
        """The owner and each staff account, with their till role and whether a PIN is set."""
        return self.session.as_owner(
            lambda client, business: client.till_staff(business, self.token)
        )

    def set_pin(self, user_id: str, pin: str, role: StaffRole, name: str | None) -> None:
        """Set a person's PIN and role; refused here, in words, for a PIN or a role the
        server would refuse, without asking it."""
        problem = pin_problem(pin)
        if problem is None:
            owner = self.session.signed_in  # the owner, signed in with the account
            problem = role_problem(user_id, role, owner.id if owner is not None else None)
        if problem is not None:
            raise OwnerError(problem)
        body = StaffPinSet(pin=pin, role=role, name=name or None)
        self.session.as_owner(
            lambda client, business: client.set_till_pin(business, user_id, body, self.token)
        )

    def clear_pin(self, user_id: str) -> None:
        self.session.as_owner(
            lambda client, business: client.clear_till_pin(business, user_id, self.token)
        )
