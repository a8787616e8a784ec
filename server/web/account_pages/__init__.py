"""The pages the account emails' links open when the server has no app address
(`TILLPOINT_APP_URL`): confirm an email, set a new password with a reset code. In any
browser, without JavaScript, at `/account`."""

from __future__ import annotations

from .router import install_account_pages

__all__ = ["install_account_pages"]
