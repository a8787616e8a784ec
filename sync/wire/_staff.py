"""Who works the till: each staff member's role and PIN hash, pulled by the terminals (which
check PINs offline), and the owner's messages that set them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from ._states import OrNewer
from ._text import Line, Name

__all__ = ["StaffPinSet", "StaffRole", "StaffState", "TillStaffPublic"]


class StaffRole(StrEnum):
    """What a person signed in at the till may do: a cashier scans and sees the history; a
    manager and the owner also open the vendor and owner screens."""

    CASHIER = "cashier"
    MANAGER = "manager"
    OWNER = "owner"

    @property
    def manages(self) -> bool:
        return self is not StaffRole.CASHIER


class StaffState(BaseModel):
    """A staff member who can sign in at the business's tills, as the terminals cache it."""

    id: str = Field(description="the staff member's account id")
    name: str = Field(description="how the till, its history and receipts name them")
    # Open: a role a newer server added is kept, and its person cannot sign in at a till
    # that does not know it (what they may open is never guessed); the rest of the page
    # goes through (docs/sync-protocol.md, "Values newer than the till").
    role: OrNewer[StaffRole]
    pin_hash: str = Field(description="scrypt of the PIN, salted (sync.pins); never the PIN")


class StaffPinSet(BaseModel):
    """The owner sets (or changes) a staff member's till PIN and role; what is left out
    stays as it is."""

    pin: Line = Field(max_length=40, description="4 to 8 digits (the server says what is wrong)")
    role: StaffRole | None = Field(
        default=None,
        description="left out: the person's role stays (a staff account's role, cashier for "
        "a new one; owner for the owner)",
    )
    name: Name | None = Field(
        default=None,
        max_length=40,
        description="how the till names them (default: their email before the @)",
    )


class TillStaffPublic(BaseModel):
    """One of the people who can work the business's tills: the owner and each staff
    account, with their till role and whether a PIN is set."""

    id: str
    email: str
    name: str
    role: OrNewer[StaffRole] | None = Field(
        description="their one role (the owner's is owner), PIN or not; null only from a "
        "server older than that, for no PIN yet"
    )
    has_pin: bool
