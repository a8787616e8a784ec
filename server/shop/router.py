"""The shop's pages (HTML only: parse the form, call a service, render a template).

Public: no sign-in. Every form carries the shop's CSRF token; the buying form also carries
a one-time token, the purchase's idempotency key, so a form sent twice (a double click, a
reload) buys once and shows the same confirmation."""

from __future__ import annotations

import secrets
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from sync.money import Money

from ..accounts import repository as accounts
from ..accounts.jwt_tokens import CONSOLE_LIFETIME, TokenSigner
from ..accounts.models import AccountSession, Role, User
from ..db import SessionDep
from ..deps import SalesDep, in_purchase_lane
from ..directory.models import Business
from ..errors import DomainError, IdempotencyKeyReused, ShopSignInRefused
from ..fraud.client import client_of
from ..gifts import service as gifts
from ..gifts.models import Gift
from ..payments.gateway import TEST_CARDS
from ..problems import Problem
from ..routing import include_flat
from ..wallet.idempotency import Outcome, idempotent
from ..web import signin as web_signin
from ..web.cookies import Csrf, set_cookie
from ..web.forms import RAW_MAX, sign_in_problem
from ..web.pages import PAGE_HEADERS, see_other, templates_in
from . import service, signin

__all__ = ["install_shop", "router"]

PATH = "/shop"
CSRF = Csrf("tillpoint_shop_csrf", PATH, int(timedelta(days=1).total_seconds()))
_HERE = FilePath(__file__).parent
templates = templates_in(_HERE / "templates")
router = APIRouter(prefix=PATH, include_in_schema=False)

# Text as typed: the service checks it as the API's text (`service.order_of`), so a field it
# refuses brings the form back saying why, with what was typed.
Field = Annotated[str, Form(max_length=RAW_MAX)]


SESSION_COOKIE = "tillpoint_shop"
SESSION_KIND = "shop"


class StaleForm(Exception):
    """A form POST without this browser's CSRF token."""


class SignInNeeded(Exception):
    """No customer's shop session, or one that is over: the sign-in page."""


def _now() -> datetime:
    return datetime.now(UTC)


def _page(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    token = CSRF.token(request)
    response = templates.TemplateResponse(
        request, name, {"csrf": token, **(context or {})}, status_code=status, headers=PAGE_HEADERS
    )
    CSRF.keep(request, response, token)
    return response


def csrf_checked(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> None:
    if not CSRF.matches(request, csrf):
        raise StaleForm


CsrfChecked = Depends(csrf_checked)


def shop_customer(request: Request, session: SessionDep) -> User:
    """The customer whose open shop session the cookie names."""
    signer: TokenSigner = request.app.state.token_signer
    token = request.cookies.get(SESSION_COOKIE)
    claims = signer.read_console_session(token, SESSION_KIND) if token else None
    if claims is None:
        raise SignInNeeded
    user = session.get(User, claims.user_id)
    opened = session.get(AccountSession, claims.session_id)
    if (
        user is None
        or user.role is not Role.CUSTOMER
        or user.deleted_at is not None
        or opened is None
        or opened.user_id != user.id
        or opened.ended_at is not None
    ):
        raise SignInNeeded
    request.state.shop_session = claims.session_id
    return user


ShopCustomer = Annotated[User, Depends(shop_customer)]


def _closed(request: Request) -> HTMLResponse:
    return _page(request, "closed.html", status=404)


def _test_cards(request: Request) -> list[tuple[str, str]]:
    """The gateway's test card numbers and what each does, when the server takes no real
    payments (the simulated gateway: the demo, a sandbox)."""
    if request.app.state.settings.payment_gateway.strip() != "simulated":
        return []
    return [
        (number, "pays" if outcome is None else outcome[1])
        for number, outcome in TEST_CARDS.items()
    ]


def _shop_page(
    request: Request,
    business: Business,
    form: service.ShopForm | None = None,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "business": business,
        "form": form or service.ShopForm("", "", "", "me", "", "", "", "", ""),
        "fields": service.FIELDS,
        "error": error,
        "once": secrets.token_urlsafe(24),  # a new one-time token: a new purchase
        "test_cards": _test_cards(request),
        "today": _now().date().isoformat(),
    }
    return _page(request, "shop.html", context, status=status)


@router.get("/sign-in")
def sign_in_page(request: Request) -> HTMLResponse:
    return _page(request, "sign_in.html", {"email": "", "error": None})


@router.post("/sign-in", dependencies=[CsrfChecked])
def sign_in(
    request: Request,
    session: SessionDep,
    email: Field = "",
    password: Field = "",
    code: Field = "",
) -> Response:
    problem = sign_in_problem(email, password, code)
    if problem is not None:
        return _page(request, "sign_in.html", {"email": email, "error": problem}, status=422)
    form = web_signin.SignInForm(email, password, code)
    outcome = web_signin.sign_in(request, session, form, signin.check_customer, ShopSignInRefused)
    if isinstance(outcome, web_signin.Refusal):
        context = {"email": email, "error": outcome.error}
        return _page(request, "sign_in.html", context, status=outcome.status)
    signer: TokenSigner = request.app.state.token_signer
    response = see_other(f"{PATH}/my-cards")
    lifetime = int(CONSOLE_LIFETIME.total_seconds())
    token = signer.console_session(outcome.user.id, outcome.session_id, SESSION_KIND)
    set_cookie(request, response, SESSION_COOKIE, token, path=PATH, max_age=lifetime)
    CSRF.renew(request, response)  # none chosen before sign-in outlives it
    return response


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request, customer: ShopCustomer, session: SessionDep) -> Response:
    accounts.revoke_family(session, request.state.shop_session, _now())
    session.commit()
    response = see_other(f"{PATH}/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=PATH, httponly=True, samesite="strict")
    return response


@router.get("/my-cards")
def my_cards(request: Request, customer: ShopCustomer, session: SessionDep) -> HTMLResponse:
    found = service.cards_of(session, customer.id)
    return _page(request, "my_cards.html", {"customer": customer, "cards": found})


def _balance_page(
    request: Request,
    code: str = "",
    found: service.Balance | None = None,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {"code": code, "found": found, "error": error, "most": service.MAX_CODE}
    return _page(request, "balance.html", context, status=status)


@router.get("/balance")
def balance_page(request: Request) -> HTMLResponse:
    return _balance_page(request)


@router.post("/balance", dependencies=[CsrfChecked])
def balance(request: Request, session: SessionDep, code: Field = "") -> HTMLResponse:
    try:
        request.app.state.code_limiter.hit(f"shop-balance:{client_of(request).address}", "code")
    except Problem as exc:
        return _balance_page(request, error=exc.detail, status=429)
    problem = service.code_problem(code)
    if problem is not None:
        return _balance_page(request, code, error=problem, status=422)
    found = service.card_balance_by_code(session, code)
    error = None
    if found is None:
        error = (
            "No card has that code. Check it against your gift email (it looks like "
            "ABCD-EFGH-JKMN) and try again."
        )
    return _balance_page(request, code, found, error=error, status=200 if found else 404)


@router.get("/{business_id}")
def shop(request: Request, session: SessionDep, business_id: str) -> HTMLResponse:
    business = service.open_shop(session, business_id)
    if business is None:
        return _closed(request)
    return _shop_page(request, business)


@router.post("/{business_id}", dependencies=[CsrfChecked])
async def buy(
    request: Request,
    sales: SalesDep,
    business_id: str,
    once: Annotated[str, Form(max_length=100)] = "",
    amount: Field = "",
    email: Field = "",
    name: Field = "",
    for_whom: Field = "me",
    recipient_name: Field = "",
    recipient_email: Field = "",
    message: Field = "",
    deliver_on: Field = "",
    card_number: Field = "",
) -> Response:
    if len(once) < 16:  # not the form the shop page gave
        raise StaleForm
    form = service.ShopForm(
        amount, email, name, for_whom, recipient_name, recipient_email, message, deliver_on, ""
    )

    def work(session: Session) -> Response:
        business = service.open_shop(session, business_id)
        if business is None:
            return _closed(request)
        try:
            buyer, order = service.order_of(
                business, replace(form, card_number=card_number), _now()
            )
        except service.FormProblem as exc:
            return _shop_page(request, business, form, error=str(exc), status=422)

        def operation() -> Outcome:
            gift = gifts.buy_gift(
                session,
                sales,
                buyer,
                order,
                payment_key=f"shop:{once}",
                address=client_of(request).address,
                now=_now(),
            )
            return 201, {"gift_id": gift.id}

        # What was asked, as the stored answer's fingerprint (without the card number).
        asked = {
            "path": request.url.path,
            "buyer": asdict(buyer),
            **asdict(order),
            "card_number": "",
        }
        try:
            status, answer = idempotent(session, "shop", once, asked, operation)
        except DomainError as exc:
            session.rollback()
            said = service.ALREADY_SENT if isinstance(exc, IdempotencyKeyReused) else exc.detail
            return _shop_page(request, business, form, error=said, status=exc.status)
        if status != 201:
            said = service.refusal_words(answer, business.currency)
            return _shop_page(request, business, form, error=said, status=status)
        return see_other(f"{PATH}/{business.id}/bought/{answer['gift_id']}")

    # It waits on the payment provider: in the purchases' lane, not the shared pool.
    return await in_purchase_lane(request, work)


@router.get("/{business_id}/bought/{gift_id}")
def bought(request: Request, session: SessionDep, business_id: str, gift_id: str) -> HTMLResponse:
    gift = session.get(Gift, gift_id)
    if gift is None or gift.business_id != business_id:
        return _page(request, "not_found.html", status=404)
    business = session.get_one(Business, business_id)
    context = {
        "business": business,
        "gift": gift,
        "amount": Money.of(gift.amount_minor, gift.currency),
        "for_me": gift.recipient_email == gift.buyer_email,
        "later": gift.deliver_at > gift.created_at + timedelta(minutes=1),
    }
    return _page(request, "bought.html", context)


def install_shop(app: FastAPI) -> None:
    """The shop's pages at /shop, its style sheet, and the stale-form answer."""

    async def stale_form(request: Request, _exc: Exception) -> Response:
        return _page(request, "stale_form.html", status=403)

    async def to_sign_in(request: Request, _exc: Exception) -> Response:
        response = see_other(f"{PATH}/sign-in")
        response.delete_cookie(SESSION_COOKIE, path=PATH, httponly=True, samesite="strict")
        return response

    app.add_exception_handler(StaleForm, stale_form)
    app.add_exception_handler(SignInNeeded, to_sign_in)
    app.mount(f"{PATH}/static", StaticFiles(directory=_HERE / "static"), name="shop")
    include_flat(app, router)
