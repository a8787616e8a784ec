from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from sync.wire import Line

from .models import Role
from .passwords import MIN_LENGTH


class SignUp(BaseModel):
    email: EmailStr
    password: Line = Field(
        min_length=MIN_LENGTH, max_length=200, description=f"at least {MIN_LENGTH} characters"
    )
    role: Literal["customer", "vendor"] = Field(
        default="customer", description="`vendor` signs up a business owner"
    )


class StaffCreate(BaseModel):
    email: EmailStr
    password: Line = Field(min_length=MIN_LENGTH, max_length=200)


class Login(BaseModel):
    email: EmailStr
    password: Line = Field(max_length=200)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: str = Field(
        min_length=MIN_LENGTH, max_length=200, description=f"at least {MIN_LENGTH} characters"
    )


class RefreshRequest(BaseModel):
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
