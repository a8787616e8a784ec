"""The account pages (HTML only: parse the form, call the accounts' service, render a
template), for whoever holds an emailed code: no sign-in.

Opening a link changes nothing — mail scanners open links — the page's button does. Each
button does what the API's call does, through the same service: `POST /auth/verify-email`
(`verification.verify_email`) and `POST /auth/password-reset/confirm`
(`verification.reset_password`), counted in the same limit of code tries per network address
(`code_limiter`), ending the same sessions. Every form carries the pages' CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from ...accounts import verification
from ...accounts.passwords import MIN_LENGTH
from ...db import SessionDep
from ...errors import CodeNotValid
from ...fraud.client import client_of
from ...problems import Problem
from ...routing import include_flat
from ..cookies import Csrf
from ..forms import RAW_MAX
from ..pages import Pages, see_other, templates_in
from ..problem_pages import Surface, install_problem_pages, rendered_by
from . import forms

__all__ = ["install_account_pages", "router"]

PATH = verification.PAGES_PATH
CSRF = Csrf("tillpoint_account_csrf", PATH, int(timedelta(days=1).total_seconds()))
CONFIRMED_PATH = f"{PATH}/email-confirmed"
CHANGED_PATH = f"{PATH}/password-changed"
_HERE = FilePath(__file__).parent
# Every page may say how long the emails' codes last.
PAGES = Pages(
    templates_in(_HERE / "templates"),
    CSRF,
    {
        "verify_hours": int(verification.VERIFY_LIFETIME.total_seconds() // 3600),
        "reset_minutes": int(verification.RESET_LIFETIME.total_seconds() // 60),
    },
)
# No home page: the emails' links are the way in.
SURFACE = Surface(PATH, "Tillpoint account", home=None, again="Open the link from the email again.")
router = APIRouter(prefix=PATH, include_in_schema=False)

# Text as typed: checked here (`forms`), so a field refused is said on the page.
Field = Annotated[str, Form(max_length=RAW_MAX)]


def _now() -> datetime:
    return datetime.now(UTC)


_page = PAGES.page
CsrfChecked = Depends(PAGES.csrf_checked)


def _count_try(request: Request) -> None:
    """One code tried from this network address: the API's count (Problem 429 past it)."""
    request.app.state.code_limiter.hit(client_of(request).address, "code")


# -- confirming an email ----------------------------------------------------------------------


def _verify_page(
    request: Request, code: str, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    return _page(request, "verify_email.html", {"code": code, "error": error}, status=status)


@router.get(f"/{verification.VERIFY_PAGE}")
def verify_page(request: Request, code: str = "") -> HTMLResponse:
    """Where the confirmation email's link leads: a button that confirms (opening it does
    not)."""
    if not forms.code_is_whole(code):
        return _page(request, "verify_link_broken.html", {"whole": False}, status=400)
    return _verify_page(request, code)


@router.post(f"/{verification.VERIFY_PAGE}", dependencies=[CsrfChecked])
def verify(request: Request, session: SessionDep, code: Field = "") -> Response:
    if not forms.code_is_whole(code):
        return _page(request, "verify_link_broken.html", {"whole": False}, status=400)
    try:
        _count_try(request)
        verification.verify_email(session, code, _now())
    except Problem as exc:  # too many tries from this address
        return _verify_page(request, code, error=exc.detail, status=exc.status)
    except CodeNotValid as exc:
        session.rollback()
        return _page(request, "verify_link_broken.html", {"whole": True}, status=exc.status)
    session.commit()
    return see_other(CONFIRMED_PATH)


@router.get("/email-confirmed")
def email_confirmed(request: Request) -> HTMLResponse:
    return _page(request, "email_confirmed.html")


# -- resetting a password ---------------------------------------------------------------------


def _reset_page(
    request: Request,
    code: str,
    *,
    problems: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "code": code,
        "problems": problems or {},
        "error": error,
        "min_length": MIN_LENGTH,
        "max_length": forms.MAX_PASSWORD,
    }
    return _page(request, "reset_password.html", context, status=status)


@router.get(f"/{verification.RESET_PAGE}")
def reset_page(request: Request, code: str = "") -> HTMLResponse:
    """Where the reset email's link leads: the new password's form (opening it uses
    nothing up)."""
    if not forms.code_is_whole(code):
        return _page(request, "reset_link_broken.html", {"whole": False}, status=400)
    return _reset_page(request, code)


@router.post(f"/{verification.RESET_PAGE}", dependencies=[CsrfChecked])
def reset(
    request: Request,
    session: SessionDep,
    code: Field = "",
    password: Field = "",
    again: Field = "",
) -> Response:
    if not forms.code_is_whole(code):
        return _page(request, "reset_link_broken.html", {"whole": False}, status=400)
    problems = forms.new_password_problems(password, again)
    if problems:  # as the API's 422: refused before any code is tried
        return _reset_page(request, code, problems=problems, status=422)
    try:
        _count_try(request)
        done = _reset(request, session, code, password)
    except Problem as exc:
        return _reset_page(request, code, error=exc.detail, status=exc.status)
    except CodeNotValid as exc:
        session.rollback()
        return _page(request, "reset_link_broken.html", {"whole": True}, status=exc.status)
    session.commit()
    # As the API does once committed: the ended sessions' access tokens stop at once, and
    # the account's wrong sign-in tries are forgotten.
    request.app.state.deny_list.end_sessions(*done.ended)
    request.app.state.login_throttle.succeeded(f"account:{done.user.email}")
    return see_other(CHANGED_PATH)


def _reset(
    request: Request, session: Session, code: str, password: str
) -> verification.PasswordReset:
    state = request.app.state
    return verification.reset_password(
        session, code, password, state.passwords, state.outbox, _now()
    )


@router.get("/password-changed")
def password_changed(request: Request) -> HTMLResponse:
    return _page(request, "password_changed.html")


# -- anything else ----------------------------------------------------------------------------


@router.get("")
def no_page(request: Request) -> HTMLResponse:
    return _page(request, "nowhere.html", status=404)


@router.api_route("/{rest:path}", methods=["GET", "HEAD", "POST"])
def nowhere(request: Request, rest: str) -> HTMLResponse:
    """Any other address under /account: a page in words, never the API's JSON."""
    return _page(request, "nowhere.html", status=404)


def install_account_pages(app: FastAPI) -> None:
    """The account pages at /account, their style sheet, the stale-form answer, and their
    pages for what the API's machinery refuses there (`server.web.problem_pages`)."""
    PAGES.install(app)
    install_problem_pages(app, SURFACE, rendered_by(PAGES))
    app.mount(f"{PATH}/static", StaticFiles(directory=_HERE / "static"), name="account")
    include_flat(app, router)
