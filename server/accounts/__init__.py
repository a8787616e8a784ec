"""Accounts: sign-up, login, JWT access tokens, refresh tokens, roles."""
