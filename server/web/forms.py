"""Text typed into the server's own pages' forms (the console's, the shop's), checked by the
API's text rules (`sync.wire`: no control characters, at most so many characters) and said
in words for the person at the form.

A page takes its fields as plain text, up to `RAW_MAX` characters, and checks them itself:
refused before the page saw them, they would be answered as the API's JSON problem, and
the person would lose what they typed. The inputs' `maxlength` says each field's limit, so
a browser does not let a person type more."""

from __future__ import annotations

from sync.wire import text_problem

__all__ = ["RAW_MAX", "field_problem", "lines", "sign_in_problem"]

RAW_MAX = 10_000  # characters in one field: far more than any input takes


def lines(text: str) -> str:
    """A text area's text with its lines ended by newlines: browsers send them as CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def field_problem(
    label: str, value: str, most: int, *, multiline: bool = False, quoted: bool = True
) -> str | None:
    """What is wrong with `value` typed into the field `label`, in words; None when nothing
    is. `quoted` False: the words never quote the value (a password)."""
    at = _refused_at(value, multiline)
    if at is not None:
        where = _where(value, at) if quoted else ""
        return f"{label}: remove the invisible character{where} (pasted text can bring one in)."
    if len(value) > most:
        return f"{label}: shorten it to at most {most} characters (it has {len(value)})."
    return None


def sign_in_problem(email: str, password: str, code: str) -> str | None:
    """What is wrong with a sign-in form's text (the console's, the shop's), in words, the
    password never quoted back; None when nothing is. No account has such an email or
    password: a form refused here is not a wrong try."""
    return (
        field_problem("Email", email, 254)
        or field_problem("Password", password, 200, quoted=False)
        or field_problem("Code", code, 40)
    )


def _refused_at(value: str, multiline: bool) -> int | None:
    """Where the first character the text rules refuse is, if any."""
    if text_problem(value, multiline=multiline) is None:
        return None
    return next(i for i, char in enumerate(value) if text_problem(char, multiline=multiline))


def _where(value: str, at: int) -> str:
    """Where a character is, by the words before it (people do not count characters)."""
    before = " ".join(value[:at].split()[-3:])[-30:]
    return f" after “{before}”" if before else " at its start"
