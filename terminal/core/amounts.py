"""An amount typed at the till (the scan screen) or given to the headless till (`--amount`,
the POS API's `amount`): read, checked, and what is wrong with it in one short sentence that
says what to type. One place, so the screen and the command line say the same."""

from __future__ import annotations

import re
from decimal import Decimal

from sync.money import Money, MoneyError, currency
from sync.wire import MAX_AMOUNT

__all__ = [
    "MORE_THAN_ZERO",
    "AmountError",
    "TooMuchError",
    "amount_problem",
    "too_much",
    "typed_amount",
]

MORE_THAN_ZERO = "The amount must be more than zero"

# What is wrong with a typed amount, in one short sentence, by what `Money.parse` said
# (its words are for the API, with a hint of their own): the first that matches is said.
_AMOUNT_PROBLEMS = (
    ("no amount given", "Type the amount, e.g. {example}, then Enter"),
    ("is negative", MORE_THAN_ZERO),
    ("thousands marks", "Commas go between thousands (1,234.50), or leave them out"),
    ("too many decimals", "Type at most {places}, e.g. {example}"),
    ("ends in a decimal mark", "Type the {decimals} after the point, e.g. {example}"),
    ("more than one decimal mark", "Type one decimal point, e.g. {example}"),
)
_PLACES = {1: "one decimal", 2: "two decimals", 3: "three decimals"}
# 4,20: the decimals after a comma, as in much of Europe. Never taken as 4.20 (that is for
# the cashier to say): it is refused, saying what to type.
_DECIMAL_COMMA = re.compile(r"\d+,\d\d")


class AmountError(ValueError):
    """An amount that cannot be taken; the message is one sentence without a full stop,
    saying what to type (`amount_problem`, `MORE_THAN_ZERO`, `too_much`)."""


class TooMuchError(AmountError):
    """More than one redemption can be: a slip of the keys (no card holds that much)."""


def amount_problem(text: str, error: MoneyError, code: str) -> str:
    """What is wrong with the amount typed, in one short sentence with one example: not
    the money parser's hint and the screen's after it."""
    cur = currency(code)
    example = str(Decimal(1250).scaleb(-cur.exponent))  # 12.50 (1250 with no decimals)
    pounds = cur.code == "GBP"
    typed = text.strip()
    if _DECIMAL_COMMA.fullmatch(typed) and cur.exponent == 2:
        dotted = typed.replace(",", ".")
        return f"For {Money.parse(dotted, cur).format()} type {dotted}, with a point, not a comma"
    words = {
        "example": example,
        "places": _PLACES.get(cur.exponent, f"{cur.exponent} decimals"),
        "decimals": "pence" if pounds else "decimals",
    }
    said = str(error)
    if cur.exponent == 0 and ("decimals" in said or "decimal mark" in said):
        return f"Type a whole amount, with no decimals, e.g. {example}"
    for marker, sentence in _AMOUNT_PROBLEMS:
        if marker in said:
            return sentence.format(**words)
    return f"Type the amount in {'pounds and pence' if pounds else cur.code}, e.g. {example}"


def too_much(amount: Money) -> str:
    """Why `amount` is more than any redemption can be (no card holds that much)."""
    most = Money.of(MAX_AMOUNT, amount.currency.code).format()
    return f"{amount.format()} is more than one redemption can be (at most {most})"


def typed_amount(text: str, code: str) -> Money:
    """The amount `text` says, in the currency `code`, when one redemption can take it:
    more than zero and at most MAX_AMOUNT. AmountError says what to type otherwise."""
    try:
        amount = Money.parse(text, code)
    except MoneyError as exc:
        raise AmountError(amount_problem(text, exc, code)) from None
    if amount.minor <= 0:
        raise AmountError(MORE_THAN_ZERO)
    if amount.minor > MAX_AMOUNT:
        raise TooMuchError(too_much(amount))
    return amount
