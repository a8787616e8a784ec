"""The console's pages (HTML only: parse the form, call a service, render a template).

Every page but the sign-in needs an admin's console session (`ConsoleAdmin`); every form
POST carries the CSRF token (`CsrfChecked`). `install_console` adds the pages, their style
sheet, the two answers the dependencies raise for (back to sign-in, or a stale form), and
the console's pages for what the API's machinery refuses under /console
(`server.web.problem_pages`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from ..accounts import repository as accounts
from ..accounts.jwt_tokens import TokenSigner
from ..accounts.models import AccountSession, Role, User
from ..db import SessionDep
from ..errors import ConsoleSignInRefused, DomainError
from ..fraud.models import ReviewStatus
from ..routing import include_flat
from ..web import signin as web_signin
from ..web.forms import RAW_MAX, sign_in_problem
from ..web.pages import Pages, see_other, templates_in, to_sign_in
from ..web.problem_pages import Explained, Surface, install_problem_pages
from . import cookies, repository, service, signin
from .dashboards import BUSY_DAYS, DAYS, dashboard
from .lists import LISTS
from .repository import MAX_OFFSET, PAGE_SIZE

__all__ = ["install_console", "router"]

_HERE = FilePath(__file__).parent
# Every page has the menu when an admin is signed in (`admin`), and the lists' page size.
PAGES = Pages(
    templates_in(_HERE / "templates"), cookies.CSRF, {"admin": None, "page_size": PAGE_SIZE}
)
SURFACE = Surface(
    cookies.PATH,
    "the console",
    home=(f"{cookies.PATH}/", "Go to the console's home page"),
    again="Open the page again from the console's menu.",
    most_offset=MAX_OFFSET,
)

router = APIRouter(prefix=cookies.PATH, include_in_schema=False)

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
# Text as typed: checked by the page or its service, which says what is wrong on the page.
Search = Annotated[str, Query(max_length=RAW_MAX)]
Text = Annotated[str, Form(max_length=RAW_MAX)]
MAX_SEARCH = 100  # the search box's `maxlength`


class SignInNeeded(Exception):
    """No console session, or one that is over: the sign-in page."""


def _now() -> datetime:
    return datetime.now(UTC)


def _page(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    admin: User | None = None,
    status: int = 200,
) -> HTMLResponse:
    return PAGES.page(request, name, {"admin": admin, **(context or {})}, status=status)


def console_admin(request: Request, session: SessionDep) -> User:
    """The admin whose open console session the cookie names."""
    signer: TokenSigner = request.app.state.token_signer
    token = request.cookies.get(cookies.SESSION_COOKIE)
    claims = signer.read_console_session(token) if token else None
    if claims is None:
        raise SignInNeeded
    user = session.get(User, claims.user_id)
    opened = session.get(AccountSession, claims.session_id)
    if (
        user is None
        or user.role is not Role.ADMIN
        or user.deleted_at is not None
        or user.mfa_enabled_at is None
        or opened is None
        or opened.user_id != user.id
        or opened.ended_at is not None
    ):
        raise SignInNeeded
    request.state.console_session = claims.session_id
    return user


ConsoleAdmin = Annotated[User, Depends(console_admin)]
CsrfChecked = Depends(PAGES.csrf_checked)


# -- signing in and out ---------------------------------------------------------------------


@router.get("/sign-in")
def sign_in_page(request: Request) -> HTMLResponse:
    return _page(request, "sign_in.html", {"email": "", "error": None})


@router.post("/sign-in", dependencies=[CsrfChecked])
def sign_in(
    request: Request,
    session: SessionDep,
    email: Text = "",
    password: Text = "",
    code: Text = "",
) -> Response:
    problem = sign_in_problem(email, password, code)
    if problem is not None:
        return _page(request, "sign_in.html", {"email": email, "error": problem}, status=422)
    form = web_signin.SignInForm(email, password, code)
    outcome = web_signin.sign_in(request, session, form, signin.check_admin, ConsoleSignInRefused)
    if isinstance(outcome, web_signin.Refusal):
        context = {"email": email, "error": outcome.error}
        return _page(request, "sign_in.html", context, status=outcome.status)
    signer: TokenSigner = request.app.state.token_signer
    token = signer.console_session(outcome.user.id, outcome.session_id)
    if codes := outcome.recovery_codes:
        # No header (its sign-out form would carry the CSRF token this sign-in replaces).
        response: Response = _page(request, "recovery_codes.html", {"codes": codes})
    else:
        response = see_other(f"{cookies.PATH}/")
    cookies.start_session(request, response, token)
    return response


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request, admin: ConsoleAdmin, session: SessionDep) -> Response:
    accounts.revoke_family(session, request.state.console_session, _now())
    session.commit()
    response = see_other(f"{cookies.PATH}/sign-in")
    cookies.end_session(response)
    return response


# -- businesses ------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, admin: ConsoleAdmin, session: SessionDep) -> HTMLResponse:
    figures = dashboard(session, _now())
    context = {"board": figures, "days": DAYS, "busy_days": BUSY_DAYS}
    return _page(request, "home.html", context, admin=admin)


def _searched(q: str) -> tuple[str, str | None]:
    """What a search box's text looks for, and what to tell of it: a search longer than the
    box takes (a link, a script) looks for its first `MAX_SEARCH` characters."""
    if len(q.strip()) <= MAX_SEARCH:
        return q, None
    told = (
        f"A search looks for at most {MAX_SEARCH} characters: this one looked for its first "
        f"{MAX_SEARCH}."
    )
    return q.strip()[:MAX_SEARCH], told


@router.get("/businesses")
def businesses(
    request: Request, admin: ConsoleAdmin, session: SessionDep, q: Search = "", offset: Offset = 0
) -> HTMLResponse:
    text, told = _searched(q)
    found = repository.search_businesses(session, text, offset)
    context = {"q": text, "found": found, "told": told, "most": MAX_SEARCH}
    return _page(request, "businesses.html", context, admin=admin)


def _business_page(
    request: Request,
    admin: User,
    session: SessionDep,
    business_id: str,
    *,
    done: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    facts = repository.business_facts(session, business_id)
    if facts is None:
        return _page(
            request,
            "not_found.html",
            {"what": "business", "back": f"{cookies.PATH}/businesses"},
            admin=admin,
            status=404,
        )
    audit = repository.audit_log(session, 0, target_id=business_id)
    context = {"facts": facts, "audit": audit, "done": done, "error": error}
    return _page(request, "business.html", context, admin=admin, status=status)


@router.get("/businesses/{business_id}")
def business(
    request: Request,
    admin: ConsoleAdmin,
    session: SessionDep,
    business_id: str,
    done: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    return _business_page(request, admin, session, business_id, done=done)


def _act(
    request: Request,
    admin: User,
    session: SessionDep,
    business_id: str,
    reason: str,
    *,
    suspend: bool,
) -> Response:
    act = service.suspend_business if suspend else service.restore_business
    try:
        act(session, admin, business_id, reason, _now())
    except DomainError as exc:
        session.rollback()
        return _business_page(
            request, admin, session, business_id, error=exc.detail, status=exc.status
        )
    session.commit()
    done = "suspended" if suspend else "restored"
    return see_other(f"{cookies.PATH}/businesses/{business_id}?done={done}")


@router.post("/businesses/{business_id}/{action}", dependencies=[CsrfChecked])
def suspend_or_restore(
    request: Request,
    admin: ConsoleAdmin,
    session: SessionDep,
    business_id: str,
    action: str,
    reason: Text = "",
) -> Response:
    if action not in ("suspend", "restore"):
        raise HTTPException(404)  # the console's "No such page"
    return _act(request, admin, session, business_id, reason, suspend=action == "suspend")


# -- lists, and resolving fraud reviews -----------------------------------------------------


def _list_page(
    request: Request,
    admin: User,
    session: SessionDep,
    name: str,
    q: str,
    offset: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    table = LISTS[name]
    text, told = _searched(q)
    rows = table.rows(session, text, offset)
    context = {
        "name": name,
        "table": table,
        "rows": rows,
        "q": text,
        "error": error,
        "told": told,
        "most": MAX_SEARCH,
    }
    return _page(request, "list.html", context, admin=admin, status=status)


@router.get("/lists/{name}")
def list_of(
    request: Request,
    admin: ConsoleAdmin,
    session: SessionDep,
    name: str,
    q: Search = "",
    offset: Offset = 0,
) -> HTMLResponse:
    if name not in LISTS:
        raise HTTPException(404)  # the console's "No such page"
    return _list_page(request, admin, session, name, q, offset)


OUTCOMES = {ReviewStatus.CLEARED.value, ReviewStatus.CONFIRMED.value}


@router.post("/fraud-reviews/{review_id}/resolve", dependencies=[CsrfChecked])
def resolve_review(
    request: Request,
    admin: ConsoleAdmin,
    session: SessionDep,
    review_id: str,
    outcome: Text = "",
    reason: Text = "",
) -> Response:
    if outcome not in OUTCOMES:  # the form offers only these: a page edited by hand
        said = (
            "Outcome: choose “cleared” (nothing wrong) or “confirmed” (it was fraud) in the "
            "review's form: nothing changed."
        )
        return _list_page(request, admin, session, "fraud-reviews", "", 0, error=said, status=422)
    try:
        service.resolve_fraud_review(
            session, admin, review_id, ReviewStatus(outcome), reason, _now()
        )
    except DomainError as exc:
        session.rollback()
        return _list_page(
            request, admin, session, "fraud-reviews", "", 0, error=exc.detail, status=exc.status
        )
    session.commit()
    return see_other(f"{cookies.PATH}/lists/fraud-reviews")


# -- the audit log ---------------------------------------------------------------------------


@router.get("/audit")
def audit(
    request: Request, admin: ConsoleAdmin, session: SessionDep, offset: Offset = 0
) -> HTMLResponse:
    return _page(
        request, "audit.html", {"audit": repository.audit_log(session, offset)}, admin=admin
    )


def _signed_in(request: Request) -> User | None:
    """The admin whose console session the request carries, if any (for the menu)."""
    if cookies.SESSION_COOKIE not in request.cookies:
        return None
    with request.app.state.sessions() as session:
        try:
            return console_admin(request, session)
        except SignInNeeded:
            return None


async def _problem_page(request: Request, said: Explained, status: int) -> Response:
    admin = await run_in_threadpool(_signed_in, request)
    return _page(request, "problem.html", {"said": said}, admin=admin, status=status)


def install_console(app: FastAPI) -> None:
    """The console's pages at /console, its style sheet, its two redirections, and its
    pages for what the API's machinery refuses there (`server.web.problem_pages`)."""

    app.add_exception_handler(SignInNeeded, to_sign_in(cookies.PATH, cookies.SESSION_COOKIE))
    PAGES.install(app)
    install_problem_pages(app, SURFACE, _problem_page)
    app.mount(f"{cookies.PATH}/static", StaticFiles(directory=_HERE / "static"), name="console")
    include_flat(app, router)
