"""The owner's view of the business's staff accounts, and a change of role."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sync.wire import StaffRole, TillStaffPublic

from ..pages import Page
from ..patches import Body


class StaffPublic(BaseModel):
    """A staff account of the business."""

    id: str
    email: str
    role: StaffRole = Field(description="cashier, or manager (also manages listings and lists)")
    has_pin: bool = Field(description="can sign in at the tills (PUT …/till-staff/{id})")


class StaffPage(Page[StaffPublic]):
    """One page of the business's staff."""


class StaffRoleChange(Body):
    role: Literal[StaffRole.CASHIER, StaffRole.MANAGER] = Field(
        description="cashier or manager; the owner's role is the owner's alone"
    )


class TillStaffPage(Page[TillStaffPublic]):
    """One page of the people who can work the tills: the owner first, then staff by email."""
