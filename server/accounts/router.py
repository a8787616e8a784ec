from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Path, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sync.wire import MoneyPublic

from ..db import SessionDep
from ..deps import (
    PROBLEM_RESPONSES,
    CurrentSession,
    CurrentUser,
    OptionalClaims,
    OwnedBusiness,
    SignedIn,
)
from ..fraud.client import client_of
from ..ids import make_id
from ..notifications import templates
from ..notifications.models import NotificationKind
from ..notifications.outbox import Outbox
from ..pages import Paging
from ..problems import Problem
from ..ratelimit import RateLimiter, too_many
from ..sharedstate import SharedState
from . import erasure, export, mfa, repository, service, verification
from .jwt_tokens import (
    ACCESS_LIFETIME,
    MFA_TICKET_LIFETIME,
    REFRESH_LIFETIME,
    InvalidAccessToken,
    TokenSigner,
    hash_refresh_token,
)
from .models import Role, User
from .passwords import Passwords
from .schemas import (
    Accepted,
    AccountDeleted,
    AccountDeletion,
    CodeOrRecovery,
    EmailCode,
    KeptCardPublic,
    KeptVoucherPublic,
    Login,
    MfaConfirm,
    MfaEnrolment,
    MfaLogin,
    MfaStatus,
    PasswordChange,
    RecoveryCodes,
    RefreshRequest,
    ResetConfirm,
    ResetRequest,
    SessionPage,
    SessionPublic,
    SessionsEnded,
    SignUp,
    StaffCreate,
    TokenPair,
    UserPublic,
)
from .sessions import DenyList, LoginThrottle, Throttled

router = APIRouter(tags=["accounts"])

MFA_TRIES = 5  # codes one MFA ticket may try


def _now() -> datetime:
    return datetime.now(UTC)


def _public(session: SessionDep, user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        role=user.role,
        businesses=repository.business_ids_of(session, user),
        email_verified=user.email_verified_at is not None,
        mfa_enabled=user.mfa_enabled_at is not None,
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


def _outbox(request: Request) -> Outbox:
    outbox: Outbox = request.app.state.outbox
    return outbox


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limit(request: Request, limiter: str, key: str, what: str) -> None:
    found: RateLimiter = getattr(request.app.state, limiter)
    found.hit(key, what)


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account; a code to confirm the email is sent to it",
)
def signup(body: SignUp, request: Request, session: SessionDep) -> UserPublic:
    role = Role.VENDOR_OWNER if body.role == "vendor" else Role.CUSTOMER
    passwords: Passwords = request.app.state.passwords
    user = service.sign_up(session, body.email, body.password, role, passwords)
    verification.send_verification(session, user, _outbox(request), request.app.state.links, _now())
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


def _throttle_keys(request: Request, email: str, device_id: str | None) -> tuple[str, ...]:
    if device_id is not None:
        return (f"device:{device_id}",)
    return (f"account:{email.lower()}", f"address:{_address(request)}")


def _check_throttle(request: Request, keys: tuple[str, ...]) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    try:
        throttle.check(*keys)
    except Throttled as exc:
        raise too_many(
            "sign-in",
            exc.retry_seconds,
            " A device that signed in to this account before is not held up: sign in from it.",
        ) from None
    return throttle


def _signed_in(
    request: Request, session: SessionDep, user: User, device_id: str | None
) -> TokenPair:
    """Both steps passed: screen the sign-in, note its device (a security message when it
    is new to the account), start its session."""
    did = device_id or make_id()
    family_id = service.open_signed_in_session(
        session, user, client_of(request), did, _now(), _outbox(request)
    )
    signer: TokenSigner = request.app.state.token_signer
    return _issue_pair(request, session, user, family_id, signer.device_token(user.id, did))


@router.post(
    "/auth/login",
    summary="Sign in: an access token and a refresh token (or a second step)",
    description="Wrong passwords are throttled per account and per address: after "
    "`TILLPOINT_LOGIN_FREE_FAILURES` of them, the next try waits 1, 2, 4… seconds (429 with "
    "Retry-After). A device that sends the `X-Device-Token` an earlier sign-in to this "
    "account gave it is throttled on its own instead, so others' guesses cannot lock the "
    "owner out. With two-step sign-in on, a right password answers 401 `mfa-required` with "
    "an `mfa_ticket` for `POST /auth/login/mfa`. An admin without two-step sign-in gets 403 "
    "`mfa-enrolment-required` with an `enrolment_token` that can only set it up.",
    responses={
        401: {"description": "wrong email or password, or `mfa-required` (a second step)"},
        403: {"description": "`mfa-enrolment-required`: an admin must set up two-step sign-in"},
    },
)
def login(
    body: Login, request: Request, session: SessionDep, device_token: DeviceToken = None
) -> TokenPair:
    signer: TokenSigner = request.app.state.token_signer
    user = repository.find_user_by_email(session, body.email)
    device = signer.read_device(device_token) if device_token else None
    if device is not None and (
        user is None
        or device.user_id != user.id
        or repository.device_token_revoked(session, device.device_id)
    ):
        device = None  # another account's device, or one revoked, is no one's device here
    device_id = device.device_id if device is not None else None
    keys = _throttle_keys(request, body.email, device_id)
    throttle = _check_throttle(request, keys)
    passwords: Passwords = request.app.state.passwords
    if not passwords.verify(user.password_hash if user else None, body.password) or not user:
        throttle.failed(*keys)
        raise _invalid_credentials()
    if user.mfa_enabled_at is not None:
        # The throttle forgets nothing yet: wrong codes count with wrong passwords.
        raise Problem(
            401,
            "mfa-required",
            "Enter your two-step code",
            "The password is right. Now send the code from your authenticator app (or a "
            "recovery code) with this ticket to POST /api/v1/auth/login/mfa.",
            mfa_ticket=signer.mfa_ticket(user.id, device_id),
            expires_in=int(MFA_TICKET_LIFETIME.total_seconds()),
        )
    throttle.succeeded(*keys)
    if mfa.required(user):
        token = signer.access_token(user.id, user.role, make_id(), enrolment_only=True)
        raise Problem(
            403,
            "mfa-enrolment-required",
            "Set up two-step sign-in first",
            "Admins must use two-step sign-in. With this enrolment token as the bearer, "
            "POST /api/v1/me/mfa, add the secret to an authenticator app, POST "
            "/api/v1/me/mfa/confirm with its code, then sign in again.",
            enrolment_token=token,
            expires_in=int(ACCESS_LIFETIME.total_seconds()),
        )
    return _signed_in(request, session, user, device_id)


def _invalid_ticket(detail: str) -> Problem:
    return Problem(401, "invalid-mfa-ticket", "Sign in again", detail)


@router.post(
    "/auth/login/mfa",
    summary="Sign in, second step: the code from the authenticator app, or a recovery code",
    description=f"The `mfa_ticket` lasts {int(MFA_TICKET_LIFETIME.total_seconds() // 60)} "
    f"minutes and takes {MFA_TRIES} tries; each app code works once, each recovery code "
    "once. Wrong codes count with wrong passwords in the sign-in throttle.",
    responses={401: {"description": "`mfa-code-wrong`, or `invalid-mfa-ticket`"}},
)
def login_mfa(body: MfaLogin, request: Request, session: SessionDep) -> TokenPair:
    signer: TokenSigner = request.app.state.token_signer
    state: SharedState = request.app.state.shared_state
    ticket = signer.read_mfa_ticket(body.mfa_ticket)
    if ticket is None:
        raise _invalid_ticket("That ticket is not valid or has expired: sign in again.")
    ttl = MFA_TICKET_LIFETIME.total_seconds()
    if state.exists(f"mfa:done:{ticket.ticket_id}") or (
        state.incr(f"mfa:tries:{ticket.ticket_id}", ttl) > MFA_TRIES
    ):
        raise _invalid_ticket("That ticket is used up: sign in again.")
    user = session.get(User, ticket.user_id)
    if user is None or user.deleted_at is not None or user.mfa_enabled_at is None:
        raise _invalid_ticket("That ticket is no longer valid: sign in again.")
    keys = _throttle_keys(request, user.email, ticket.device_id)
    throttle = _check_throttle(request, keys)
    passed = mfa.check(session, user, _now(), code=body.code, recovery_code=body.recovery_code)
    if not passed or state.incr(f"mfa:done:{ticket.ticket_id}", ttl) != 1:
        session.rollback()
        throttle.failed(*keys)
        raise Problem(
            401,
            "mfa-code-wrong",
            "Wrong code",
            "That code is wrong or was used already: type the code the app shows now, or "
            "an unused recovery code.",
        )
    throttle.succeeded(*keys)
    return _signed_in(request, session, user, ticket.device_id)


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
    if mfa.required(use.user) and use.user.mfa_enabled_at is None:
        session.rollback()  # a session from before admins needed two-step sign-in
        raise _invalid_refresh_token()
    repository.touch_account_session(session, use.family_id, now)
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


def _password_changed(request: Request, session: SessionDep, user: User) -> None:
    message = templates.password_changed(_now())
    _outbox(request).write(session, user, NotificationKind.PASSWORD_CHANGED, make_id(), message)


@router.post(
    "/auth/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change your password: every other session of the account ends",
    description="This session goes on; every other session's refresh and access tokens "
    "stop working at once. The account is told (`password_changed`, which cannot be turned "
    "off).",
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
    keep = signed.claims.session_id
    families = repository.revoke_user_families(session, user.id, _now(), keep=keep)
    _password_changed(request, session, user)
    session.commit()
    request.app.state.deny_list.end_sessions(*families)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_RESET_SENT = (
    "If an account has this email, a reset code is on its way to it. It works once, for "
    f"{int(verification.RESET_LIFETIME.total_seconds() // 60)} minutes: enter it with a new "
    "password (POST /api/v1/auth/password-reset/confirm)."
)


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Forgot the password: email a one-time reset code",
    description="The same answer, as fast, whether or not the email has an account: the "
    "code is made and written after the answer is sent. Limited per email "
    "(`TILLPOINT_PASSWORD_RESETS_PER_HOUR`) and per network address, on every worker.",
)
def request_password_reset(
    body: ResetRequest, request: Request, background: BackgroundTasks
) -> Accepted:
    _limit(request, "reset_address_limiter", _address(request), "password reset")
    _limit(request, "reset_email_limiter", str(body.email).lower(), "password reset")
    # The work happens after the answer is sent: known email or not, the answer is the same
    # and takes as long.
    background.add_task(_send_reset, request.app.state, str(body.email))
    return Accepted(detail=_RESET_SENT)


def _send_reset(state: Any, email: str) -> None:
    with state.sessions() as session:
        verification.request_reset(session, email, state.outbox, state.links, _now())
        session.commit()


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the emailed code: every session ends",
    description="The code works once. Every session of the account ends; sign in with the "
    "new password (two-step sign-in, if on, stays on). The email counts as confirmed.",
    responses={400: {"description": "`code-not-valid`: wrong, used or expired"}},
)
def confirm_password_reset(body: ResetConfirm, request: Request, session: SessionDep) -> Response:
    _limit(request, "code_limiter", _address(request), "code")
    passwords: Passwords = request.app.state.passwords
    reset = verification.reset_password(
        session, body.code, body.new_password, passwords, _outbox(request), _now()
    )
    session.commit()
    request.app.state.deny_list.end_sessions(*reset.ended)
    request.app.state.login_throttle.succeeded(f"account:{reset.user.email}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/verify-email",
    summary="Confirm an email with the code sent to it",
    responses={400: {"description": "`code-not-valid`: wrong, used or expired"}},
)
def verify_email(body: EmailCode, request: Request, session: SessionDep) -> UserPublic:
    _limit(request, "code_limiter", _address(request), "code")
    user = verification.verify_email(session, body.code, _now())
    session.commit()
    return _public(session, user)


@router.post(
    "/me/email-verification",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a new code to confirm your email",
    responses={409: {"description": "`email-already-verified`"}},
)
def resend_verification(request: Request, user: CurrentUser, session: SessionDep) -> Accepted:
    _limit(request, "reset_email_limiter", f"verify:{user.id}", "confirmation email")
    verification.send_verification(session, user, _outbox(request), request.app.state.links, _now())
    session.commit()
    hours = int(verification.VERIFY_LIFETIME.total_seconds() // 3600)
    return Accepted(detail=f"A new code is on its way to {user.email}; it works for {hours} hours.")


@router.get("/me", summary="The signed-in account")
def me(user: CurrentUser, session: SessionDep) -> UserPublic:
    return _public(session, user)


@router.post(
    "/businesses/{business_id}/staff",
    status_code=status.HTTP_201_CREATED,
    summary="Add a cashier account to your business",
    description="A new account for an email that has none (201, with `password`), or a staff "
    "account that works for no business any more added back as it is (200: it keeps its "
    "own password; `password` is not used). Any other account's email is 409 `email-taken`.",
    responses={200: {"description": "a staff account added back", "model": UserPublic}},
)
def add_staff(
    business: OwnedBusiness,
    body: StaffCreate,
    request: Request,
    response: Response,
    session: SessionDep,
) -> UserPublic:
    passwords: Passwords = request.app.state.passwords
    cashier, new = service.add_cashier(session, business.id, body.email, body.password, passwords)
    if new:
        verification.send_verification(
            session, cashier, _outbox(request), request.app.state.links, _now()
        )
    else:
        response.status_code = status.HTTP_200_OK
    session.commit()
    return _public(session, cashier)


# -- two-step sign-in ------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="an access token, or an enrolment token")


def _not_signed_in(detail: str) -> Problem:
    return Problem(
        401, "unauthorized", "Not signed in", detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _enrolling(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SignedIn:
    """The signed-in caller, also with an admin's enrolment token (these routes alone take
    it)."""
    if credentials is None:
        raise _not_signed_in("Sign in first: send 'Authorization: Bearer <access token>'.")
    signer: TokenSigner = request.app.state.token_signer
    try:
        claims = signer.read(credentials.credentials, enrolment=True)
    except InvalidAccessToken as exc:
        raise _not_signed_in(str(exc).capitalize() + ".") from None
    user = session.get(User, claims.user_id)
    if request.app.state.deny_list.refuses(claims) or user is None:
        raise _not_signed_in("This session has ended: sign in again.")
    return SignedIn(user, claims)


Enrolling = Annotated[SignedIn, Depends(_enrolling)]


def _mfa_status(session: SessionDep, user: User) -> MfaStatus:
    return MfaStatus(
        enabled=user.mfa_enabled_at is not None,
        pending=user.mfa_enabled_at is None and user.mfa_secret is not None,
        required=mfa.required(user),
        recovery_codes_left=repository.recovery_codes_left(session, user.id),
    )


@router.get("/me/mfa", summary="Whether two-step sign-in is on")
def mfa_status(signed: Enrolling, session: SessionDep) -> MfaStatus:
    return _mfa_status(session, signed.user)


@router.post(
    "/me/mfa",
    status_code=status.HTTP_201_CREATED,
    summary="Start setting up two-step sign-in: a secret for the authenticator app",
    description="Needs a confirmed email. Add the secret to the app (scan `otpauth_uri` as "
    "a QR code), then confirm with a code it shows. An admin's enrolment token works here.",
    responses=PROBLEM_RESPONSES,
)
def mfa_start(signed: Enrolling, session: SessionDep) -> MfaEnrolment:
    enrolment = mfa.start(session, signed.user)
    session.commit()
    return MfaEnrolment(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@router.post(
    "/me/mfa/confirm",
    summary="Turn two-step sign-in on with a code from the app: the recovery codes",
    description="The recovery codes are shown this once. Other sessions go on.",
    responses=PROBLEM_RESPONSES,
)
def mfa_confirm(body: MfaConfirm, signed: Enrolling, session: SessionDep) -> RecoveryCodes:
    codes = mfa.confirm(session, signed.user, body.code, _now())
    session.commit()
    return RecoveryCodes(recovery_codes=codes)


@router.post(
    "/me/mfa/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Turn two-step sign-in off (not for admins)",
    responses=PROBLEM_RESPONSES,
)
def mfa_disable(body: CodeOrRecovery, user: CurrentUser, session: SessionDep) -> Response:
    mfa.turn_off(session, user, _now(), code=body.code, recovery_code=body.recovery_code)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/mfa/recovery-codes",
    summary="A new set of recovery codes; the old ones stop working",
    responses=PROBLEM_RESPONSES,
)
def mfa_recovery_codes(
    body: CodeOrRecovery, user: CurrentUser, session: SessionDep
) -> RecoveryCodes:
    codes = mfa.new_recovery_codes(
        session, user, _now(), code=body.code, recovery_code=body.recovery_code
    )
    session.commit()
    return RecoveryCodes(recovery_codes=codes)


# -- sessions and devices ------------------------------------------------------------------


@router.get("/me/sessions", summary="Your open sessions (sign-ins), latest used first")
def my_sessions(signed: CurrentSession, session: SessionDep, paging: Paging) -> SessionPage:
    rows = repository.live_account_sessions(session, signed.user.id, _now() - REFRESH_LIFETIME)
    every = [
        SessionPublic(
            id=row.id,
            current=row.id == signed.claims.session_id,
            user_agent=row.user_agent,
            address=row.address,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
        )
        for row in rows
    ]
    return SessionPage.cut(every, paging)


@router.delete(
    "/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End one of your sessions: its tokens stop working at once",
    responses=PROBLEM_RESPONSES,
)
def end_session(
    session_id: str, request: Request, signed: CurrentSession, session: SessionDep
) -> Response:
    service.end_session(session, signed.user, session_id, _now())
    session.commit()
    request.app.state.deny_list.end_sessions(session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/sessions/end-others",
    summary="Sign out everywhere else: every session but this one ends",
)
def end_other_sessions(
    request: Request, signed: CurrentSession, session: SessionDep
) -> SessionsEnded:
    keep = signed.claims.session_id
    families = repository.revoke_user_families(session, signed.user.id, _now(), keep=keep)
    session.commit()
    request.app.state.deny_list.end_sessions(*families)
    return SessionsEnded(ended=len(families))


@router.delete(
    "/me/devices/{device_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Forget a device: its sessions end and its device token no longer counts",
    description="Ids are those of GET /me/devices. A later sign-in from it is a new "
    "device's (and the account is told).",
    responses=PROBLEM_RESPONSES,
)
def forget_device(
    device_id: Annotated[int, Path(ge=1, le=2**53)],
    request: Request,
    signed: CurrentSession,
    session: SessionDep,
) -> Response:
    families = service.forget_device(session, signed.user, device_id, _now())
    session.commit()
    request.app.state.deny_list.end_sessions(*families)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- your data: export and deletion ----------------------------------------------------------


@router.get(
    "/me/export",
    summary="Everything held about you, as one JSON document",
    description="The account, sessions, devices, cards and vouchers (with their codes and "
    "history), businesses, notifications and what the fraud rules counted. No secrets: no "
    "password hash, two-step secret, codes or tokens.",
)
def export_me(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return export.export_account(session, user, _now())


@router.post(
    "/me/deletion",
    summary="Delete your account: your personal data is erased, your cards stay spendable",
    description="Send the password (and a two-step code when it is on). Cards with value "
    "left and unused vouchers stay spendable by their code: the answer lists them — keep "
    "those codes, no app will show them again. A vendor who still owns a business is "
    "refused (409 `account-owns-businesses`).",
    responses={
        403: {"description": "`wrong-password`, or `mfa-code-wrong`"},
        409: {"description": "`account-owns-businesses`"},
    },
)
def delete_me(
    body: AccountDeletion, request: Request, signed: CurrentSession, session: SessionDep
) -> AccountDeleted:
    user = signed.user
    passwords: Passwords = request.app.state.passwords
    keys = (f"account:{user.email}",)
    throttle: LoginThrottle = request.app.state.login_throttle
    try:
        throttle.check(*keys)
    except Throttled as exc:
        raise too_many("password", exc.retry_seconds) from None
    now = _now()
    if not passwords.verify(user.password_hash, body.password) or (
        user.mfa_enabled_at is not None
        and not mfa.check(session, user, now, code=body.code, recovery_code=body.recovery_code)
    ):
        session.rollback()
        throttle.failed(*keys)
        raise Problem(
            403,
            "wrong-password",
            "Wrong password or code",
            "The password (or the two-step code) is wrong: the account was not deleted.",
        )
    deleted = erasure.delete_account(session, user, now)
    session.commit()
    deny: DenyList = request.app.state.deny_list
    deny.deny_token(signed.claims)
    deny.end_sessions(signed.claims.session_id, *deleted.families)
    return AccountDeleted(
        detail="Your account is deleted and your personal data erased. The cards and "
        "vouchers below stay spendable by their codes at the till: keep them.",
        cards=[
            KeptCardPublic(
                id=c.id, business=c.business, balance=MoneyPublic.of(c.balance), code=c.code
            )
            for c in deleted.cards
        ],
        vouchers=[
            KeptVoucherPublic(id=v.id, business=v.business, code=v.code) for v in deleted.vouchers
        ],
    )
