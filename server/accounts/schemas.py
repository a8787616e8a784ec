from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints, model_validator

from sync.wire import Line, MoneyPublic

from ..pages import Page
from ..patches import Body
from .models import Role
from .passwords import MIN_LENGTH


class SignUp(Body):
    email: EmailStr
    password: Line = Field(
        min_length=MIN_LENGTH, max_length=200, description=f"at least {MIN_LENGTH} characters"
    )
    role: Literal["customer", "vendor"] = Field(
        default="customer", description="`vendor` signs up a business owner"
    )


class StaffCreate(Body):
    email: EmailStr
    password: Line | None = Field(
        default=None,
        min_length=MIN_LENGTH,
        max_length=200,
        description=f"a new account's first password (at least {MIN_LENGTH} characters); "
        "not used when the email's staff account works for no business (it keeps its own)",
    )


class Login(Body):
    email: EmailStr
    password: Line = Field(max_length=200)


class PasswordChange(Body):
    current_password: str = Field(max_length=200)
    new_password: str = Field(
        min_length=MIN_LENGTH, max_length=200, description=f"at least {MIN_LENGTH} characters"
    )


class RefreshRequest(Body):
    refresh_token: Line = Field(max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_in: int = Field(description="seconds until the access token expires")
    device_token: str | None = Field(
        default=None,
        description="(sign-in only) keep it and send it as `X-Device-Token` when signing in "
        "again: this device then gets in while the account is throttled by others' guesses",
    )


class UserPublic(BaseModel):
    id: str
    email: str
    role: Role
    businesses: list[str] = Field(description="ids of the businesses this user works for")
    email_verified: bool = Field(
        description="the email is confirmed; until then only account mail is sent to it"
    )
    mfa_enabled: bool = Field(description="two-step sign-in is on")


# What people type: a one-time code from an email, a TOTP code, a recovery code.
AccountCodeText = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 -]+$")
]
TotpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
RecoveryCodeText = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 -]+$")
]


class CodeOrRecovery(Body):
    """A code from the authenticator app, or one of the recovery codes: exactly one."""

    code: TotpCode | None = Field(default=None, description="6 digits from the app")
    recovery_code: RecoveryCodeText | None = Field(
        default=None, description="one of the recovery codes (each works once)"
    )

    @model_validator(mode="after")
    def _one(self) -> CodeOrRecovery:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send either `code` (from the app) or `recovery_code`, not both")
        return self


class MfaLogin(CodeOrRecovery):
    mfa_ticket: str = Field(max_length=1000, description="the `mfa_ticket` sign-in answered")


class ResetRequest(Body):
    email: EmailStr


class ResetConfirm(Body):
    code: AccountCodeText = Field(description="the code from the email (dashes optional)")
    new_password: Line = Field(
        min_length=MIN_LENGTH, max_length=200, description=f"at least {MIN_LENGTH} characters"
    )


class EmailCode(Body):
    code: AccountCodeText = Field(description="the code from the email (dashes optional)")


class Accepted(BaseModel):
    detail: str


class MfaStatus(BaseModel):
    enabled: bool
    pending: bool = Field(description="set up started, waiting for a code to confirm it")
    required: bool = Field(description="admins must use it")
    recovery_codes_left: int


class MfaEnrolment(BaseModel):
    secret: str = Field(description="base32, for typing into the app")
    otpauth_uri: str = Field(description="the same as an otpauth:// URI: show it as a QR code")


class MfaConfirm(Body):
    code: TotpCode


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(
        description="shown once: keep them somewhere safe; each works once instead of a code"
    )


class SessionPublic(BaseModel):
    id: str
    current: bool = Field(description="the session of the token this request came with")
    user_agent: str
    address: str
    created_at: datetime
    last_used_at: datetime


class SessionPage(Page[SessionPublic]):
    """One page of your open sessions."""


class SessionsEnded(BaseModel):
    ended: int


class AccountDeletion(Body):
    password: str = Field(max_length=200)
    code: TotpCode | None = Field(default=None, description="with two-step sign-in on")
    recovery_code: RecoveryCodeText | None = None


class KeptCardPublic(BaseModel):
    id: str
    business: str
    balance: MoneyPublic
    code: str = Field(description="the card's QR code text: still spendable at the till")


class KeptVoucherPublic(BaseModel):
    id: str
    business: str
    code: str = Field(description="the voucher's QR code text: still redeemable")


class AccountDeleted(BaseModel):
    detail: str
    cards: list[KeptCardPublic]
    vouchers: list[KeptVoucherPublic]
