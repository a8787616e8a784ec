"""The shop's pages (HTML only: parse the form, call a service, render a template).

Public: no sign-in. Every form carries the shop's CSRF token; the buying form also carries
a one-time token, the purchase's idempotency key, so a form sent twice (a double click, a
reload) buys once and shows the same confirmation.

The browser's Back button fetches the shop page again (it is never cached), with a new
one-time token, and browsers restore what was typed into it. So the card number's field has
a name new on each page load, which no browser restores, and the page says what this
browser bought a moment ago (`BOUGHT_COOKIE`): pressing Pay again charges nothing, and a
second card takes typing the card number again."""

from __future__ import annotations

import secrets
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated
from urllib.parse import urlencode

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
from ..errors import (
    PROBLEM_BASE,
    DomainError,
    GiftCodeNotValid,
    IdempotencyKeyReused,
    PaymentDeclined,
    ShopSignInRefused,
)
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
from ..web.pages import Pages, StaleForm, see_other, templates_in, to_sign_in
from ..web.problem_pages import Surface, install_problem_pages, rendered_by
from . import service, signin

__all__ = ["install_shop", "router"]

PATH = "/shop"
CSRF = Csrf("tillpoint_shop_csrf", PATH, int(timedelta(days=1).total_seconds()))
_HERE = FilePath(__file__).parent
PAGES = Pages(templates_in(_HERE / "templates"), CSRF)
# No home page (each business has its own shop page): the header's links go on from any page.
SURFACE = Surface(PATH, "the shop", home=None, again="Go back and reload the page.")
router = APIRouter(prefix=PATH, include_in_schema=False)

# Text as typed: the service checks it as the API's text (`service.order_of`), so a field it
# refuses brings the form back saying why, with what was typed.
Field = Annotated[str, Form(max_length=RAW_MAX)]


SESSION_COOKIE = "tillpoint_shop"
SESSION_KIND = "shop"
# The purchase this browser made last (its gift's id), shown on the shop page for an hour.
BOUGHT_COOKIE = "tillpoint_shop_bought"
BOUGHT_SHOWN = timedelta(hours=1)
CLAIM_PATH = f"{PATH}/claim-gift"


class SignInNeeded(Exception):
    """No customer's shop session, or one that is over: the sign-in page."""


def _now() -> datetime:
    return datetime.now(UTC)


_page = PAGES.page
CsrfChecked = Depends(PAGES.csrf_checked)


def signed_in_customer(request: Request, session: Session) -> User | None:
    """The customer whose open shop session the cookie names; None when there is none."""
    signer: TokenSigner = request.app.state.token_signer
    token = request.cookies.get(SESSION_COOKIE)
    claims = signer.read_console_session(token, SESSION_KIND) if token else None
    if claims is None:
        return None
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
        return None
    request.state.shop_session = claims.session_id
    return user


def shop_customer(request: Request, session: SessionDep) -> User:
    """The customer whose open shop session the cookie names, or the sign-in page."""
    user = signed_in_customer(request, session)
    if user is None:
        raise SignInNeeded
    return user


ShopCustomer = Annotated[User, Depends(shop_customer)]


def _closed(request: Request) -> HTMLResponse:
    return _page(request, "closed.html", status=404)


def _nothing_here(request: Request) -> HTMLResponse:
    return _page(request, "nowhere.html", status=404)


def _just_bought(request: Request, session: Session, business: Business) -> Gift | None:
    """The card this browser bought at this shop within the hour, if any (its cookie)."""
    gift_id = request.cookies.get(BOUGHT_COOKIE, "")
    gift = session.get(Gift, gift_id) if 0 < len(gift_id) <= 40 else None
    if gift is None or gift.business_id != business.id:
        return None
    return gift if gift.created_at > _now() - BOUGHT_SHOWN else None


def _test_cards(request: Request) -> list[tuple[str, str]]:
    """The gateway's test card numbers and what each does, when the server takes no real
    payments (the simulated gateway: the demo, a sandbox)."""
    if request.app.state.settings.payment_gateway.strip() != "simulated":
        return []
    return [(number, _test_card_does(outcome)) for number, outcome in TEST_CARDS.items()]


def _test_card_does(outcome: tuple[str, str] | None) -> str:
    if outcome is None:
        return "pays"
    code, words = outcome  # said as the form would say it
    refused = {"type": PROBLEM_BASE + PaymentDeclined.code, "decline_code": code, "detail": words}
    return str(service.refusal_of(refused, "GBP"))


def _card_field(once: str) -> str:
    """The card number's field name in the form of this one-time token: new on each page
    load, so no browser restores a card number typed into an earlier one (Back)."""
    return f"card_{once}"


def _shop_page(
    request: Request,
    session: Session,
    business: Business,
    form: service.ShopForm | None = None,
    *,
    problem: service.FormProblem | None = None,
    status: int = 200,
) -> HTMLResponse:
    once = secrets.token_urlsafe(24)  # a new one-time token: a new purchase
    just = _just_bought(request, session, business)
    context = {
        "business": business,
        "form": form or service.ShopForm("", "", "", "me", "", "", "", "", ""),
        "fields": service.FIELDS,
        "problems": {} if problem is None else problem.problems,
        "once": once,
        "card_field": _card_field(once),
        "test_cards": _test_cards(request),
        "today": _now().date().isoformat(),
        "latest": service.latest_day(_now()).isoformat(),
        "just_bought": just,
        "just_paid": None if just is None else Money.of(just.amount_minor, just.currency),
    }
    return _page(request, "shop.html", context, status=status)


def _claim_url(code: str) -> str:
    return f"{CLAIM_PATH}?{urlencode({'code': code})}"


def _sign_in_page(
    request: Request,
    email: str = "",
    claim: str = "",
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The sign-in form; `claim`: a gift's code to claim once signed in (its page)."""
    context = {"email": email, "error": error, "claim": claim, "code": claim, "customer": None}
    return _page(request, "claim.html" if claim else "sign_in.html", context, status=status)


@router.get("/sign-in")
def sign_in_page(request: Request) -> HTMLResponse:
    return _sign_in_page(request)


@router.post("/sign-in", dependencies=[CsrfChecked])
def sign_in(
    request: Request,
    session: SessionDep,
    email: Field = "",
    password: Field = "",
    code: Field = "",
    claim: Field = "",
) -> Response:
    claim = claim if service.claim_code_problem(claim) is None else ""
    problem = sign_in_problem(email, password, code)
    if problem is not None:
        return _sign_in_page(request, email, claim, error=problem, status=422)
    form = web_signin.SignInForm(email, password, code)
    outcome = web_signin.sign_in(request, session, form, signin.check_customer, ShopSignInRefused)
    if isinstance(outcome, web_signin.Refusal):
        return _sign_in_page(request, email, claim, error=outcome.error, status=outcome.status)
    signer: TokenSigner = request.app.state.token_signer
    response = see_other(_claim_url(claim) if claim else f"{PATH}/my-cards")
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
def my_cards(
    request: Request, customer: ShopCustomer, session: SessionDep, claimed: str = ""
) -> HTMLResponse:
    found = service.cards_of(session, customer.id)
    gift = session.get(Gift, claimed) if 0 < len(claimed) <= 40 else None
    if gift is not None and gift.recipient_id != customer.id:
        gift = None  # only a gift this account claimed is named
    context = {"customer": customer, "cards": found, "claimed": gift}
    if gift is not None:
        context["claimed_business"] = session.get_one(Business, gift.business_id).name
    return _page(request, "my_cards.html", context)


def _claim_page(
    request: Request,
    customer: User | None,
    code: str = "",
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {"customer": customer, "code": code, "error": error, "claim": code, "email": ""}
    return _page(request, "claim.html", context, status=status)


@router.get("/claim-gift")
def claim_page(request: Request, session: SessionDep, code: str = "") -> HTMLResponse:
    """Where a gift email's link leads (when no app address is set): sign in, then claim
    the gift into the account. Opening it claims nothing; the button does."""
    code = code if service.claim_code_problem(code) is None else ""
    return _claim_page(request, signed_in_customer(request, session), code)


@router.post("/claim-gift", dependencies=[CsrfChecked])
def claim(
    request: Request, customer: ShopCustomer, session: SessionDep, code: Field = ""
) -> Response:
    problem = service.claim_code_problem(code)
    if problem is not None:
        return _claim_page(request, customer, code, error=problem, status=422)
    try:
        request.app.state.code_limiter.hit(f"gift:{client_of(request).address}", "code")
        gift = gifts.claim_gift(session, customer, code.strip(), _now())
    except Problem as exc:
        return _claim_page(request, customer, code, error=exc.detail, status=429)
    except GiftCodeNotValid as exc:
        session.rollback()
        return _claim_page(request, customer, code, error=exc.detail, status=exc.status)
    session.commit()
    return see_other(f"{PATH}/my-cards?{urlencode({'claimed': gift.id})}")


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


@router.get("")
@router.get("/")
def no_shop(request: Request) -> HTMLResponse:
    return _nothing_here(request)


@router.get("/{business_id}")
def shop(request: Request, session: SessionDep, business_id: str) -> HTMLResponse:
    business = service.open_shop(session, business_id)
    if business is None:
        return _closed(request)
    return _shop_page(request, session, business)


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
) -> Response:
    if len(once) < 16:  # not the form the shop page gave
        raise StaleForm(PAGES)
    # Parsed once, kept. A script may name the field plainly: no page has a field of that
    # name for a browser to restore.
    sent = await request.form()
    typed = sent.get(_card_field(once)) or sent.get("card_number", "")
    card_number = typed if isinstance(typed, str) else ""
    form = service.ShopForm(
        amount, email, name, for_whom, recipient_name, recipient_email, message, deliver_on, ""
    )

    def work(session: Session) -> Response:
        business = service.open_shop(session, business_id)
        if business is None:
            return _closed(request)
        try:
            most = request.app.state.settings.max_card_balance_minor
            buyer, order = service.order_of(
                business, replace(form, card_number=card_number), _now(), card_most_minor=most
            )
        except service.FormProblem as exc:
            return _shop_page(request, session, business, form, problem=exc, status=422)
        customer = signed_in_customer(request, session)
        keep = service.keeps_it(customer, form)
        if customer is not None and not keep:
            # Bought by the account: its receipt, and the gift in its list to cancel.
            buyer = replace(buyer, user_id=customer.id)

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
            if keep and customer is not None:  # signed in, for oneself: into the account
                gifts.claim_gift(session, customer, gift.code, _now())
            return 201, {"gift_id": gift.id}

        # What was asked, as the stored answer's fingerprint (without the card number).
        asked = {
            "path": request.url.path,
            "buyer": asdict(buyer),
            **asdict(order),
            "card_number": "",
            "keep": keep,
        }
        try:
            status, answer = idempotent(session, "shop", once, asked, operation)
        except DomainError as exc:
            session.rollback()
            said = service.ALREADY_SENT if isinstance(exc, IdempotencyKeyReused) else exc.detail
            problem = service.FormProblem({"": said})
            return _shop_page(request, session, business, form, problem=problem, status=exc.status)
        if status != 201:
            problem = service.refusal_of(answer, business.currency)
            return _shop_page(request, session, business, form, problem=problem, status=status)
        response = see_other(f"{PATH}/{business.id}/bought/{answer['gift_id']}")
        shown = int(BOUGHT_SHOWN.total_seconds())
        set_cookie(request, response, BOUGHT_COOKIE, answer["gift_id"], path=PATH, max_age=shown)
        return response

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
        "for_me": gift.for_its_buyer,
        # Signed in, for oneself: claimed into the account as it was bought.
        "in_account": gift.for_its_buyer and gift.recipient_id is not None,
        "later": gift.deliver_at > gift.created_at + timedelta(minutes=1),
        "receipt": service.receipt_of(session, gift),
    }
    return _page(request, "bought.html", context)


@router.api_route("/{rest:path}", methods=["GET", "HEAD", "POST"])
def nowhere(request: Request, rest: str) -> HTMLResponse:
    """Any other address under /shop: a page in words, never the API's JSON."""
    return _nothing_here(request)


def install_shop(app: FastAPI) -> None:
    """The shop's pages at /shop, its style sheet, the stale-form and sign-in answers, and
    its pages for what the API's machinery refuses there (`server.web.problem_pages`)."""

    PAGES.install(app)
    app.add_exception_handler(SignInNeeded, to_sign_in(PATH, SESSION_COOKIE))
    install_problem_pages(app, SURFACE, rendered_by(PAGES))
    app.mount(f"{PATH}/static", StaticFiles(directory=_HERE / "static"), name="shop")
    include_flat(app, router)
