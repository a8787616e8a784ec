"""Argon2id password hashes."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MIN_LENGTH", "Passwords"]

MIN_LENGTH = 10


class Passwords:
    """Hash and check passwords. The cost comes from settings: production keeps argon2's
    recommended parameters; the test suite turns them down to run quickly."""

    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Checked when the account does not exist, so a wrong email takes as long as a
        # wrong password and sign-in does not reveal who has an account.
        self._dummy = self._hasher.hash("not a real password, never matches")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and bool(stored_hash)
        except (VerificationError, InvalidHashError):
            return False
