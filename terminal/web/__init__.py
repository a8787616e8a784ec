"""The terminal served to a browser (`tillpoint terminal --serve`), behind a sign-in."""

from .server import COOKIE, DEFAULT_PORT, WebTerminal
from .sign_in import (
    ACCESS_CODE_SETTING,
    AccessCodeError,
    SignIn,
    TooManyTriesError,
    checked_access_code,
    new_access_code,
)

__all__ = [
    "ACCESS_CODE_SETTING",
    "COOKIE",
    "DEFAULT_PORT",
    "AccessCodeError",
    "SignIn",
    "TooManyTriesError",
    "WebTerminal",
    "checked_access_code",
    "new_access_code",
]
