from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

from ..db import SessionDep
from ..deps import CurrentSession, CurrentUser, OptionalClaims, business_for
from ..fraud import service as fraud
from ..fraud.client import client_of
from ..ids import make_id
from ..problems import Problem
from ..ratelimit import too_many
from . import repository, service
from .jwt_tokens import ACCESS_LIFETIME, REFRESH_LIFETIME, TokenSigner, hash_refresh_token
from .models import Role, User
from .passwords import Passwords
from .schemas import (
    Login,
    PasswordChange,
    RefreshRequest,
    SignUp,
    StaffCreate,
    TokenPair,
    UserPublic,
)
from .sessions import DenyList, LoginThrottle, Throttled

router = APIRouter(tags=["accounts"])


def _public(session: SessionDep, user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        role=user.role,
        businesses=repository.business_ids_of(session, user),
    )


def _issue_pair(
    request: Request,
    session: SessionDep,
    user: User,
    family_id: str,
    device_token: str | None = None,
) -> TokenPair:
    signer: TokenSigner = request.app.state.token_signer
    refresh = signer.new_refresh_token()
    expires = datetime.now(UTC) + REFRESH_LIFETIME
    repository.add_refresh_token(session, user, hash_refresh_token(refresh), expires, family_id)
    session.commit()
    return TokenPair(
        access_token=signer.access_token(user.id, user.role, family_id),
        refresh_token=refresh,
        expires_in=int(ACCESS_LIFETIME.total_seconds()),
        device_token=device_token,
    )


def _invalid_credentials() -> Problem:
    return Problem(
        401,
        "invalid-credentials",
        "Wrong email or password",
        "The email or password is wrong: check both and try again.",
    )


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, summary="Create an account")
def signup(body: SignUp, request: Request, session: SessionDep) -> UserPublic:
    role = Role.VENDOR_OWNER if body.role == "vendor" else Role.CUSTOMER
    passwords: Passwords = request.app.state.passwords
    user = service.sign_up(session, body.email, body.password, role, passwords)
    session.commit()
    return _public(session, user)


DeviceToken = Annotated[
    str | None,
    Header(
        alias="X-Device-Token",
        max_length=1000,
        description="the `device_token` an earlier sign-in to this account gave this device: "
        "a known device is not held up by wrong passwords tried from elsewhere",
    ),
]


@router.post(
    "/auth/login",
    summary="Sign in: an access token and a refresh token",
    description="Wrong passwords are throttled per account and per address: after "
    "`TILLPOINT_LOGIN_FREE_FAILURES` of them, the next try waits 1, 2, 4… seconds (429 with "
    "Retry-After). A device that sends the `X-Device-Token` an earlier sign-in to this "
    "account gave it is throttled on its own instead, so others' guesses cannot lock the "
    "owner out.",
)
def login(
    body: Login, request: Request, session: SessionDep, device_token: DeviceToken = None
) -> TokenPair:
    address = request.client.host if request.client else "unknown"
    signer: TokenSigner = request.app.state.token_signer
    throttle: LoginThrottle = request.app.state.login_throttle
    user = repository.find_user_by_email(session, body.email)
    device = signer.read_device(device_token) if device_token else None
    if device is not None and (user is None or device.user_id != user.id):
        device = None  # another account's device is no one's device here
    if device is not None:
        keys: tuple[str, ...] = (f"device:{device.device_id}",)
    else:
        keys = (f"account:{body.email.lower()}", f"address:{address}")
    try:
        throttle.check(*keys)
    except Throttled as exc:
        raise too_many(
            "sign-in",
            exc.retry_seconds,
            " A device that signed in to this account before is not held up: sign in from it.",
        ) from None
    passwords: Passwords = request.app.state.passwords
    if not passwords.verify(user.password_hash if user else None, body.password) or not user:
        throttle.failed(*keys)
        raise _invalid_credentials()
    throttle.succeeded(*keys)
    fraud.signed_in(session, user, client_of(request))  # screened, and its device noted
    known = device_token if device is not None else signer.device_token(user.id, make_id())
    return _issue_pair(request, session, user, make_id(), device_token=known)


def _invalid_refresh_token() -> Problem:
    return Problem(
        401,
        "invalid-refresh-token",
        "Sign in again",
        "That refresh token is expired, used or revoked: sign in again.",
    )


@router.post(
    "/auth/refresh",
    summary="Swap a refresh token for a new pair",
    description="Each refresh token works once. Presenting one that was already used ends "
    "its whole session: every refresh token of the family, the newest too, and the access "
    "tokens issued in it.",
)
def refresh(body: RefreshRequest, request: Request, session: SessionDep) -> TokenPair:
    now = datetime.now(UTC)
    use = repository.take_refresh_token(session, hash_refresh_token(body.refresh_token), now)
    if use.user is None or use.family_id is None:
        if use.reused and use.family_id is not None:
            # A used token coming back means it was copied: whoever holds the newer one may
            # be the thief, so the session ends for both.
            repository.revoke_family(session, use.family_id, now)
            session.commit()
            request.app.state.deny_list.end_sessions(use.family_id)
        else:
            session.rollback()
        raise _invalid_refresh_token()
    return _issue_pair(request, session, use.user, use.family_id)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End a session: its refresh tokens and access tokens stop working",
    description="Send the refresh token, and the access token as the bearer if you have it: "
    "both stop working at once, on every worker and host.",
)
def logout(
    body: RefreshRequest, request: Request, session: SessionDep, claims: OptionalClaims
) -> Response:
    now = datetime.now(UTC)
    use = repository.take_refresh_token(session, hash_refresh_token(body.refresh_token), now)
    families = {use.family_id} if use.family_id is not None else set()
    deny: DenyList = request.app.state.deny_list
    if claims is not None:
        deny.deny_token(claims)
        families.add(claims.session_id)
    for family_id in families:
        repository.revoke_family(session, family_id, now)
    session.commit()
    deny.end_sessions(*families)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change your password: every session of the account ends",
    description="Every refresh token and access token of the account stops working, this "
    "one's too: sign in again with the new password.",
)
def change_password(
    body: PasswordChange, request: Request, signed: CurrentSession, session: SessionDep
) -> Response:
    user = signed.user
    passwords: Passwords = request.app.state.passwords
    throttle: LoginThrottle = request.app.state.login_throttle
    keys = (f"account:{user.email}",)
    try:
        throttle.check(*keys)
    except Throttled as exc:
        raise too_many("password", exc.retry_seconds) from None
    if not passwords.verify(user.password_hash, body.current_password):
        throttle.failed(*keys)
        raise Problem(
            403,
            "wrong-password",
            "Wrong password",
            "The current password is wrong: the password was not changed.",
        )
    user.password_hash = passwords.hash(body.new_password)
    families = repository.revoke_user_families(session, user.id, datetime.now(UTC))
    session.commit()
    deny: DenyList = request.app.state.deny_list
    deny.deny_token(signed.claims)
    deny.end_sessions(signed.claims.session_id, *families)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", summary="The signed-in account")
def me(user: CurrentUser, session: SessionDep) -> UserPublic:
    return _public(session, user)


@router.post(
    "/businesses/{business_id}/staff",
    status_code=status.HTTP_201_CREATED,
    summary="Add a cashier account to your business",
)
def add_staff(
    business_id: str, body: StaffCreate, request: Request, user: CurrentUser, session: SessionDep
) -> UserPublic:
    business = business_for(session, user, business_id, staff=False)
    passwords: Passwords = request.app.state.passwords
    cashier = service.add_cashier(session, business.id, body.email, body.password, passwords)
    session.commit()
    return _public(session, cashier)
