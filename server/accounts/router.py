from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status

from ..db import SessionDep
from ..deps import CurrentUser, business_for
from ..problems import Problem
from . import repository, service
from .jwt_tokens import ACCESS_LIFETIME, REFRESH_LIFETIME, TokenSigner, hash_refresh_token
from .models import Role, User
from .passwords import Passwords
from .schemas import Login, RefreshRequest, SignUp, StaffCreate, TokenPair, UserPublic

router = APIRouter(tags=["accounts"])


def _public(session: SessionDep, user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        role=user.role,
        businesses=repository.business_ids_of(session, user),
    )


def _issue_pair(request: Request, session: SessionDep, user: User) -> TokenPair:
    signer: TokenSigner = request.app.state.token_signer
    refresh = signer.new_refresh_token()
    expires = datetime.now(UTC) + REFRESH_LIFETIME
    repository.add_refresh_token(session, user, hash_refresh_token(refresh), expires)
    session.commit()
    return TokenPair(
        access_token=signer.access_token(user.id, user.role),
        refresh_token=refresh,
        expires_in=int(ACCESS_LIFETIME.total_seconds()),
    )


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, summary="Create an account")
def signup(body: SignUp, request: Request, session: SessionDep) -> UserPublic:
    role = Role.VENDOR_OWNER if body.role == "vendor" else Role.CUSTOMER
    passwords: Passwords = request.app.state.passwords
    user = service.sign_up(session, body.email, body.password, role, passwords)
    session.commit()
    return _public(session, user)


@router.post("/auth/login", summary="Sign in: an access token and a refresh token")
def login(body: Login, request: Request, session: SessionDep) -> TokenPair:
    address = request.client.host if request.client else "unknown"
    limiter = request.app.state.login_limiter
    limiter.hit(f"email:{body.email.lower()}", "sign-in")
    limiter.hit(f"address:{address}", "sign-in")
    user = repository.find_user_by_email(session, body.email)
    passwords: Passwords = request.app.state.passwords
    if not passwords.verify(user.password_hash if user else None, body.password) or not user:
        raise Problem(
            401,
            "invalid-credentials",
            "Wrong email or password",
            "The email or password is wrong: check both and try again.",
        )
    return _issue_pair(request, session, user)


@router.post("/auth/refresh", summary="Swap a refresh token for a new pair")
def refresh(body: RefreshRequest, request: Request, session: SessionDep) -> TokenPair:
    user = repository.take_refresh_token(
        session, hash_refresh_token(body.refresh_token), datetime.now(UTC)
    )
    if user is None:
        session.rollback()
        raise Problem(
            401,
            "invalid-refresh-token",
            "Sign in again",
            "That refresh token is expired, used or revoked: sign in again.",
        )
    return _issue_pair(request, session, user)


@router.post(
    "/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a refresh token"
)
def logout(body: RefreshRequest, session: SessionDep) -> Response:
    repository.take_refresh_token(
        session, hash_refresh_token(body.refresh_token), datetime.now(UTC)
    )
    session.commit()
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
