"""Accounts' rules beyond reading: a new account, a new cashier, sessions and the devices
they come from. An email has one account, even when two sign-ups for it arrive at once (the
unique index decides; the loser is told)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..billing.subscriptions import require_open
from ..errors import DeviceNotFound, EmailTaken, FieldInvalid, SessionNotFound
from ..fraud import service as fraud
from ..fraud.service import Client
from ..ids import make_id
from ..notifications import templates
from ..notifications.models import NotificationKind
from ..notifications.outbox import Outbox
from . import repository
from .models import AccountSession, Role, User
from .passwords import MIN_LENGTH, Passwords

__all__ = [
    "add_cashier",
    "end_session",
    "forget_device",
    "open_signed_in_session",
    "sign_up",
    "start_session",
]


def _taken(email: str) -> EmailTaken:
    return EmailTaken(f"{email} already has an account: sign in, or use another email.")


def sign_up(session: Session, email: str, password: str, role: Role, passwords: Passwords) -> User:
    """A new account; EmailTaken when the email has one (or gets one meanwhile)."""
    if repository.find_user_by_email(session, email) is not None:
        raise _taken(email)  # before hashing: that is the slow part
    password_hash = passwords.hash(password)
    try:
        with session.begin_nested():
            return repository.add_user(session, email, password_hash, role)
    except IntegrityError:
        raise _taken(email) from None


def add_cashier(
    session: Session, business_id: str, email: str, password: str | None, passwords: Passwords
) -> tuple[User, bool]:
    """A cashier working for the business, and whether the account is new. An email with no
    account gets a new one (`password` needed); a staff account that works for no business
    any more is added back as it is, its password untouched (`password` is not used). Any
    other account is refused (`EmailTaken`), in the same words whoever's it is: no owner
    takes over a customer's, an owner's or another business's staff account, or learns
    which it is. A closed business takes no one (`BusinessClosed`)."""
    require_open(session, business_id, "it takes on no new staff.")
    found = repository.find_user_by_email(session, email)
    if found is not None:
        _add_back(session, found, business_id, email)
        return found, False
    if password is None:
        raise FieldInvalid(
            "body.password",
            f"{email} has no account yet: send a password for it (at least {MIN_LENGTH} "
            "characters), which the new staff member can change once signed in.",
        )
    cashier = sign_up(session, email, password, Role.VENDOR_STAFF, passwords)
    repository.add_staff(session, cashier, business_id)
    return cashier, True


def _add_back(session: Session, user: User, business_id: str, email: str) -> None:
    """Attach a staff account that works for no business (removed from one) to this one."""
    if user.role is not Role.VENDOR_STAFF or user.deleted_at is not None:
        raise _not_hirable(email)
    works_for = repository.staff_business_id(session, user)
    if works_for == business_id:
        raise EmailTaken(
            f"{email} already works for this business: see GET /businesses/{{id}}/staff."
        )
    if works_for is not None:
        raise _not_hirable(email)
    try:
        with session.begin_nested():  # another business may add them back at the same time
            repository.add_staff(session, user, business_id)
    except IntegrityError:
        raise _not_hirable(email) from None


def _not_hirable(email: str) -> EmailTaken:
    return EmailTaken(
        f"{email} already has an account that cannot work for your business: add them with "
        "another email. (Only a staff account that works for no business any more can be "
        "added back with its email.)"
    )


# -- sessions and devices ------------------------------------------------------------------------


def start_session(
    session: Session, user: User, client: Client, device_id: str, now: datetime
) -> tuple[str, bool]:
    """Record a new sign-in (before fraud notes its device); its session id (the refresh
    family) and whether the device is new to an account that has used others."""
    known = repository.client_device_keys(session, user.id)
    family_id = make_id()
    repository.add_account_session(
        session,
        AccountSession(
            id=family_id,
            user_id=user.id,
            device_id=device_id,
            device_key=client.device_key,
            user_agent=client.user_agent,
            address=client.address,
            created_at=now,
            last_used_at=now,
        ),
    )
    return family_id, bool(known) and client.device_key not in known


def open_signed_in_session(
    session: Session, user: User, client: Client, device_id: str, now: datetime, outbox: Outbox
) -> str:
    """Both steps of a sign-in passed (the API's or the web console's): record the session,
    screen the sign-in and note its device (`FraudBlocked` if a rule blocks it), and send a
    security message when the device is new to the account. The session's id."""
    family_id, new_device = start_session(session, user, client, device_id, now)
    fraud.signed_in(session, user, client, now)
    if new_device:
        message = templates.new_device(client.user_agent or "no user agent", client.address, now)
        outbox.write(session, user, NotificationKind.NEW_DEVICE, family_id, message)
    return family_id


def end_session(session: Session, user: User, family_id: str, now: datetime) -> None:
    row = repository.account_session(session, user.id, family_id)
    if row is None or row.ended_at is not None:
        raise SessionNotFound("You have no open session with that id: see GET /me/sessions.")
    repository.revoke_family(session, family_id, now)


def forget_device(session: Session, user: User, device_id: int, now: datetime) -> list[str]:
    """End every session signed in from the device, stop its device tokens making it known,
    and forget it (its next sign-in is a new device's); the sessions ended."""
    device = repository.client_device(session, user.id, device_id)
    if device is None:
        raise DeviceNotFound("You have no device with that id: see GET /me/devices.")
    families = []
    for row in repository.sessions_of_device(session, user.id, device.device_key):
        repository.revoke_family(session, row.id, now)
        repository.revoke_device_token(session, user.id, row.device_id, now)
        families.append(row.id)
    repository.forget_client_device(session, device)
    return families
