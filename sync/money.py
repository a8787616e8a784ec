"""Money as integer minor units of one ISO 4217 currency.

No floats anywhere on a money path. Where a fraction of a minor unit must be
dropped (conversion, proration), rounding is **half-even** ("banker's"), named
once here as `ROUNDING` and used by every helper in this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction

__all__ = [
    "ROUNDING",
    "Currency",
    "CurrencyMismatchError",
    "InvalidAmountError",
    "Money",
    "MoneyError",
    "NumberFormat",
    "UnknownCurrencyError",
    "currency",
    "number_format",
    "total",
]

ROUNDING = ROUND_HALF_EVEN


class MoneyError(ValueError):
    """Base of every money error; the message says what to do."""


class UnknownCurrencyError(MoneyError):
    pass


class CurrencyMismatchError(MoneyError):
    pass


class InvalidAmountError(MoneyError):
    pass


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    exponent: int  # number of decimal places of the minor unit
    symbol: str

    def __str__(self) -> str:
        return self.code


# ISO 4217 codes a directory business is likely to trade in. The exponent is
# the standard's minor unit; currencies with 0 or 3 decimals are all here.
_CURRENCIES: dict[str, tuple[int, str]] = {
    "GBP": (2, "£"), "EUR": (2, "€"), "USD": (2, "$"), "CAD": (2, "CA$"), "AUD": (2, "A$"),
    "NZD": (2, "NZ$"), "CHF": (2, "CHF"), "SEK": (2, "kr"), "NOK": (2, "kr"), "DKK": (2, "kr"),
    "PLN": (2, "zł"), "CZK": (2, "Kč"), "HUF": (2, "Ft"), "RON": (2, "lei"), "TRY": (2, "₺"),
    "INR": (2, "₹"), "CNY": (2, "CN¥"), "HKD": (2, "HK$"), "SGD": (2, "S$"), "MXN": (2, "MX$"),
    "BRL": (2, "R$"), "ZAR": (2, "R"), "AED": (2, "AED"), "SAR": (2, "SAR"), "ILS": (2, "₪"),
    "THB": (2, "฿"), "MYR": (2, "RM"), "PHP": (2, "₱"), "IDR": (2, "Rp"), "NGN": (2, "₦"),
    "KES": (2, "KSh"), "EGP": (2, "E£"),
    "JPY": (0, "¥"), "KRW": (0, "₩"), "ISK": (0, "kr"), "CLP": (0, "CLP"), "VND": (0, "₫"),
    "XAF": (0, "FCFA"), "XOF": (0, "CFA"), "UGX": (0, "USh"), "PYG": (0, "₲"), "RWF": (0, "RF"),
    "BHD": (3, "BHD"), "KWD": (3, "KWD"), "OMR": (3, "OMR"), "JOD": (3, "JOD"), "TND": (3, "TND"),
    "LYD": (3, "LYD"), "IQD": (3, "IQD"),
}  # fmt: skip


def currency(code: str) -> Currency:
    """The currency for an ISO 4217 code, e.g. ``currency("GBP")``."""
    upper = code.strip().upper()
    try:
        exponent, symbol = _CURRENCIES[upper]
    except KeyError:
        raise UnknownCurrencyError(
            f"unknown currency {code!r}: use an ISO 4217 code such as GBP, EUR or JPY"
        ) from None
    return Currency(upper, exponent, symbol)


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """How a locale writes numbers: the decimal mark and the thousands group mark."""

    decimal: str = "."
    group: str = ","


# Locales by language, then by full tag where a country differs from its language.
_COMMA_DECIMAL_LANGUAGES = {
    "de", "fr", "es", "it", "nl", "pt", "pl", "cs", "sk", "sv", "nb", "no", "da", "fi",
    "ru", "uk", "tr", "ro", "hu", "el", "bg", "hr", "sl", "lt", "lv", "et", "id", "vi",
}  # fmt: skip
_SPACE_GROUP_LANGUAGES = {"fr", "pl", "cs", "sk", "sv", "nb", "no", "fi", "ru", "uk", "hu", "et"}
_LOCALE_OVERRIDES = {
    "de_CH": NumberFormat(".", "'"),
    "fr_CH": NumberFormat(".", "'"),
    "it_CH": NumberFormat(".", "'"),
    "es_MX": NumberFormat(".", ","),
    "pt_BR": NumberFormat(",", "."),
}


def number_format(locale: str) -> NumberFormat:
    """The number format of a locale tag such as ``en_GB``, ``de-DE`` or ``fr``."""
    tag = locale.replace("-", "_")
    if tag in _LOCALE_OVERRIDES:
        return _LOCALE_OVERRIDES[tag]
    language = tag.split("_", 1)[0].lower()
    if language in _COMMA_DECIMAL_LANGUAGES:
        return NumberFormat(",", "\u202f" if language in _SPACE_GROUP_LANGUAGES else ".")
    return NumberFormat(".", ",")


_SPACES = " \u00a0\u202f"


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in integer minor units (pence, cents, yen, fils) of one currency."""

    minor: int
    currency: Currency

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise InvalidAmountError(
                f"money is counted in whole minor units, not {type(self.minor).__name__}"
            )

    # -- construction -------------------------------------------------------

    @classmethod
    def of(cls, minor: int, code: str) -> Money:
        """``Money.of(1250, "GBP")`` is £12.50."""
        return cls(minor, currency(code))

    @classmethod
    def zero(cls, code: str | Currency) -> Money:
        cur = code if isinstance(code, Currency) else currency(code)
        return cls(0, cur)

    @classmethod
    def from_decimal(cls, amount: Decimal | str, code: str | Currency) -> Money:
        """An exact decimal amount in major units; more decimals than the currency has is an
        error (use `from_decimal_rounded` where rounding is intended)."""
        cur = code if isinstance(code, Currency) else currency(code)
        value = _to_decimal(amount)
        scaled = value.scaleb(cur.exponent)
        if scaled != scaled.to_integral_value():
            raise InvalidAmountError(
                f"{amount} has more decimal places than {cur.code} allows ({cur.exponent})"
            )
        return cls(int(scaled), cur)

    @classmethod
    def from_decimal_rounded(cls, amount: Decimal | str, code: str | Currency) -> Money:
        """A decimal amount in major units rounded half-even to the minor unit."""
        cur = code if isinstance(code, Currency) else currency(code)
        scaled = _to_decimal(amount).scaleb(cur.exponent)
        return cls(int(scaled.to_integral_value(rounding=ROUNDING)), cur)

    @classmethod
    def parse(cls, text: str, code: str | Currency, locale: str = "en_GB") -> Money:
        """Parse what a person typed: ``"12.50"``, ``"£12.50"``, ``"12,50"`` (in a comma
        locale), ``"1,234.56"``, ``"EUR 3"``. Negative amounts are refused."""
        cur = code if isinstance(code, Currency) else currency(code)
        return cls(_parse_minor(text, cur, number_format(locale)), cur)

    # -- arithmetic ---------------------------------------------------------

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency.code} with {other.currency.code}: "
                "convert one of them first"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __mul__(self, factor: int) -> Money:
        if not isinstance(factor, int) or isinstance(factor, bool):
            raise TypeError("multiply money by a whole number; use `scaled` for fractions")
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other).minor

    def __bool__(self) -> bool:
        return self.minor != 0

    @property
    def is_negative(self) -> bool:
        return self.minor < 0

    def scaled(self, numerator: int, denominator: int) -> Money:
        """This amount times numerator/denominator, rounded half-even (e.g. 20 of 30 days)."""
        if denominator == 0:
            raise InvalidAmountError("cannot scale by a fraction with denominator 0")
        exact = Fraction(self.minor * numerator, denominator)
        return Money(round(exact), self.currency)  # Fraction rounds half-even

    def split(self, parts: int) -> list[Money]:
        """Split into `parts` amounts that differ by at most one minor unit and sum exactly."""
        if parts < 1:
            raise InvalidAmountError("split into at least one part")
        return self.allocate([1] * parts)

    def allocate(self, ratios: Sequence[int]) -> list[Money]:
        """Split in proportion to whole-number ratios without losing or inventing a minor unit.

        Largest remainder: each part gets its floor share, and the units left over go one
        each to the parts with the largest remainders (earlier parts first on ties).
        """
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise InvalidAmountError("allocate needs non-negative ratios that are not all zero")
        total = sum(ratios)
        sign = -1 if self.minor < 0 else 1
        magnitude = abs(self.minor)
        shares = [divmod(magnitude * r, total) for r in ratios]
        amounts = [q for q, _ in shares]
        leftover = magnitude - sum(amounts)
        by_remainder = sorted(range(len(ratios)), key=lambda i: (-shares[i][1], i))
        for i in by_remainder[:leftover]:
            amounts[i] += 1
        return [Money(sign * a, self.currency) for a in amounts]

    # -- display ------------------------------------------------------------

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.currency.exponent)

    def amount_text(self, locale: str = "en_GB") -> str:
        """The number alone, grouped and with the locale's decimal mark: ``1,234.50``."""
        fmt = number_format(locale)
        exponent = self.currency.exponent
        whole, fraction = divmod(abs(self.minor), 10**exponent)
        grouped = f"{whole:,}".replace(",", fmt.group)
        text = grouped + (fmt.decimal + str(fraction).zfill(exponent) if exponent else "")
        return "-" + text if self.minor < 0 else text

    def format(self, locale: str = "en_GB") -> str:
        """For people: ``£12.50``, ``-£3.00``, ``¥1,000``, ``BHD 1.250``."""
        sym = self.currency.symbol
        number = self.amount_text(locale).lstrip("-")
        sign = "-" if self.minor < 0 else ""
        if sym.isalpha() and len(sym) > 1:
            return f"{sign}{sym} {number}"
        return f"{sign}{sym}{number}"

    def __str__(self) -> str:
        """Unambiguous plain form for logs and receipts: ``12.50 GBP``."""
        return f"{self.amount_text().replace(',', '')} {self.currency.code}"

    def __repr__(self) -> str:
        return f"Money({self.minor}, {self.currency.code!r})"


def total(amounts: Iterable[Money], code: str | Currency) -> Money:
    """Sum of amounts of one currency (zero for none)."""
    result = Money.zero(code)
    for amount in amounts:
        result = result + amount
    return result


def _to_decimal(amount: Decimal | str) -> Decimal:
    if isinstance(amount, float):
        raise InvalidAmountError("money never passes through a float: pass a str or Decimal")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise InvalidAmountError(f"{amount!r} is not a number") from None
    if not value.is_finite():
        raise InvalidAmountError(f"{amount!r} is not a finite amount")
    return value


_DIGITS = re.compile(r"[0-9]+")


def _strip_currency(text: str, cur: Currency) -> str:
    """Remove one currency marker (symbol or code) from either end, refusing other ones."""
    upper = text.upper()
    markers = sorted({cur.code, cur.symbol.upper()}, key=len, reverse=True)
    for marker in markers:
        if upper.startswith(marker):
            return text[len(marker) :].strip(_SPACES)
        if upper.endswith(marker):
            return text[: -len(marker)].strip(_SPACES)
    other = re.match(r"^[^\d\s.,+-]+", text) or re.search(r"[^\d\s.,]+$", text)
    if other is not None:
        raise InvalidAmountError(
            f"{text!r} is not a {cur.code} amount ({other.group(0)!r} is not {cur.code}'s "
            f"symbol {cur.symbol!r}); type the amount in {cur.code}"
        )
    return text


def _parse_minor(text: str, cur: Currency, fmt: NumberFormat) -> int:
    raw = text.strip(_SPACES)
    if not raw:
        raise InvalidAmountError("no amount given: type an amount such as 12.50")
    if raw.startswith("-") or raw.endswith("-"):
        raise InvalidAmountError(f"{text!r} is negative: amounts must be zero or more")
    body = _strip_currency(raw, cur)
    if body.startswith("-"):
        raise InvalidAmountError(f"{text!r} is negative: amounts must be zero or more")
    body = body.lstrip("+")
    if body.count(fmt.decimal) > 1:
        raise InvalidAmountError(f"{text!r} has more than one decimal mark {fmt.decimal!r}")
    group_marks = {fmt.group} | ({*_SPACES} if fmt.group in _SPACES + "'" else set())
    if fmt.decimal in body:
        whole, _, fraction = body.rpartition(fmt.decimal)
    else:
        whole, fraction = body, ""
    other_mark = "," if fmt.decimal == "." else "."
    if other_mark not in group_marks and other_mark in body:
        raise InvalidAmountError(
            f"{text!r}: use {fmt.decimal!r} as the decimal mark here, e.g. 12{fmt.decimal}50"
        )
    parts = _split_groups(whole, group_marks, text, fmt)
    if not _DIGITS.fullmatch(parts) or (fraction and not _DIGITS.fullmatch(fraction)):
        raise InvalidAmountError(f"{text!r} is not an amount: type digits, such as 12.50")
    if fmt.decimal in body and not fraction:
        raise InvalidAmountError(f"{text!r} ends in a decimal mark: add the decimals or remove it")
    if len(fraction) > cur.exponent:
        places = "no decimal places" if cur.exponent == 0 else f"{cur.exponent} decimal places"
        raise InvalidAmountError(f"{text!r} has too many decimals: {cur.code} has {places}")
    if len(parts) > _MOST_DIGITS:
        shown = repr(text) if len(text) <= 24 else f"{text[:24]!r}…"
        raise InvalidAmountError(f"{shown} is too large an amount: type an amount such as 12.50")
    return int(parts + fraction.ljust(cur.exponent, "0"))


_MOST_DIGITS = 18  # in the whole part: more than any limit allows, and within a 64-bit column


def _split_groups(whole: str, marks: set[str], text: str, fmt: NumberFormat) -> str:
    """Digits of the whole part with thousands marks removed, checking they group by three."""
    if not whole:
        return "0"
    pieces = re.split("|".join(re.escape(m) for m in marks), whole)
    if len(pieces) > 1 and (not 1 <= len(pieces[0]) <= 3 or any(len(p) != 3 for p in pieces[1:])):
        raise InvalidAmountError(
            f"{text!r}: thousands marks must separate groups of three digits "
            f"(e.g. 1{fmt.group}234{fmt.decimal}50)"
        )
    return "".join(pieces)
