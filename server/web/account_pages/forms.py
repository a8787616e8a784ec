"""The account pages' form text, checked by the API's rules and said in words: the emailed
code as `EmailCode` and `ResetConfirm` take it, a new password as `ResetConfirm` does."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from ...accounts.passwords import MIN_LENGTH
from ...accounts.schemas import AccountCodeText
from ..forms import field_problem

__all__ = ["MAX_PASSWORD", "code_is_whole", "new_password_problems"]

MAX_PASSWORD = 200  # `ResetConfirm.new_password`'s most
_CODE = TypeAdapter(AccountCodeText)


def code_is_whole(code: str) -> bool:
    """Whether `code` is an emailed code as the API takes it (not whether it works)."""
    try:
        _CODE.validate_python(code)
    except ValidationError:
        return False
    return True


def new_password_problems(password: str, again: str) -> dict[str, str]:
    """What is wrong with a new password and its repeat, by field (`password`, `again`), in
    words that never quote them; empty when nothing is."""
    problem = field_problem("New password", password, MAX_PASSWORD, quoted=False)
    if problem is None and len(password) < MIN_LENGTH:
        problem = f"New password: make it at least {MIN_LENGTH} characters long" + (
            f" (it has {len(password)})." if password else "."
        )
    if problem is not None:
        return {"password": problem}
    if again != password:
        return {"again": "New password again: type the same password as above (the two differ)."}
    return {}
