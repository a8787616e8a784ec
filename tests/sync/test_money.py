from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.money import (
    CurrencyMismatchError,
    InvalidAmountError,
    Money,
    UnknownCurrencyError,
    currency,
    total,
)


@pytest.mark.parametrize(("code", "exponent"), [("GBP", 2), ("JPY", 0), ("BHD", 3), ("eur", 2)])
def test_currency_exponents_follow_iso_4217(code, exponent):
    assert currency(code).exponent == exponent


def test_unknown_currency_says_what_to_use():
    with pytest.raises(UnknownCurrencyError, match="ISO 4217"):
        currency("XXQ")


def test_arithmetic_in_one_currency():
    assert Money.of(1250, "GBP") + Money.of(50, "GBP") == Money.of(1300, "GBP")
    assert Money.of(1250, "GBP") - Money.of(1300, "GBP") == Money.of(-50, "GBP")
    assert Money.of(200, "GBP") * 3 == Money.of(600, "GBP")
    assert Money.of(1, "GBP") < Money.of(2, "GBP")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a >= b,
    ],
)
def test_mixing_currencies_is_refused(operation):
    with pytest.raises(CurrencyMismatchError, match="GBP with EUR"):
        operation(Money.of(100, "GBP"), Money.of(100, "EUR"))


def test_money_refuses_floats():
    with pytest.raises(InvalidAmountError):
        Money(12.5, currency("GBP"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.of(100, "GBP") * 1.5  # type: ignore[operator]
    with pytest.raises(InvalidAmountError, match="float"):
        Money.from_decimal(12.5, "GBP")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "code", "locale", "minor"),
    [
        ("12.50", "GBP", "en_GB", 1250),
        ("£12.50", "GBP", "en_GB", 1250),
        ("12,50", "EUR", "de_DE", 1250),
        ("12,50 €", "EUR", "fr_FR", 1250),
        ("EUR 3", "EUR", "en_GB", 300),
        ("1,234.5", "GBP", "en_GB", 123450),
        ("1.234,56", "EUR", "de_DE", 123456),
        ("1 234,56", "EUR", "fr_FR", 123456),
        ("1'234.50", "CHF", "de_CH", 123450),
        ("¥1,000", "JPY", "ja_JP", 1000),
        ("1.250", "BHD", "en_GB", 1250),
        ("  7 ", "GBP", "en_GB", 700),
        (".5", "GBP", "en_GB", 50),
        ("0", "GBP", "en_GB", 0),
    ],
)
def test_parse_user_input(text, code, locale, minor):
    assert Money.parse(text, code, locale) == Money.of(minor, code)


@pytest.mark.parametrize(
    ("text", "code", "locale", "message"),
    [
        ("", "GBP", "en_GB", "no amount"),
        ("12.505", "GBP", "en_GB", "GBP has 2 decimal places"),
        ("100.5", "JPY", "en_GB", "JPY has no decimal places"),
        ("-5", "GBP", "en_GB", "negative"),
        ("£-5", "GBP", "en_GB", "negative"),
        ("$12", "GBP", "en_GB", "not a GBP amount"),
        ("12,50", "GBP", "en_GB", "groups of three"),
        ("12.50", "EUR", "de_DE", "groups of three"),
        ("12,5.0", "GBP", "en_GB", "groups of three"),
        ("twelve", "GBP", "en_GB", "not a GBP amount"),
        ("12.", "GBP", "en_GB", "decimal mark"),
        ("1e3", "GBP", "en_GB", "not an amount"),
        ("12,50", "USD", "en_US", "groups of three"),
        ("1.2.3", "GBP", "en_GB", "decimal mark"),
        ("9" * 19, "GBP", "en_GB", "too large"),
        ("9" * 5_000, "GBP", "en_GB", "too large"),  # past Python's longest int from text
    ],
)
def test_parse_errors_say_what_is_wrong(text, code, locale, message):
    with pytest.raises(InvalidAmountError, match=message):
        Money.parse(text, code, locale)


@pytest.mark.parametrize(
    ("minor", "code", "locale", "shown"),
    [
        (1250, "GBP", "en_GB", "£12.50"),
        (-300, "GBP", "en_GB", "-£3.00"),
        (123456, "EUR", "de_DE", "€1.234,56"),
        (1000, "JPY", "ja_JP", "¥1,000"),
        (1250, "BHD", "en_GB", "BHD 1.250"),
        (5, "GBP", "en_GB", "£0.05"),
    ],
)
def test_format_for_people(minor, code, locale, shown):
    assert Money.of(minor, code).format(locale) == shown


def test_plain_string_form_is_unambiguous():
    assert str(Money.of(123456, "GBP")) == "1234.56 GBP"
    assert str(Money.of(-5, "JPY")) == "-5 JPY"


@pytest.mark.parametrize(
    ("amount", "minor"),
    [("0.125", 12), ("0.135", 14), ("-0.125", -12), ("2.5", 250)],
)
def test_rounding_is_half_even(amount, minor):
    assert Money.from_decimal_rounded(Decimal(amount), "GBP").minor == minor


def test_exact_decimal_refuses_extra_places():
    with pytest.raises(InvalidAmountError, match="more decimal places"):
        Money.from_decimal("0.125", "GBP")


@pytest.mark.parametrize(
    ("minor", "numerator", "denominator", "expected"),
    [(300, 20, 30, 200), (100, 1, 3, 33), (100, 2, 3, 67), (5, 1, 2, 2), (15, 1, 2, 8)],
)
def test_scaled_rounds_half_even(minor, numerator, denominator, expected):
    assert Money.of(minor, "GBP").scaled(numerator, denominator).minor == expected


def test_split_shares_the_leftover_pennies():
    assert [m.minor for m in Money.of(100, "GBP").split(3)] == [34, 33, 33]
    assert [m.minor for m in Money.of(-100, "GBP").split(3)] == [-34, -33, -33]
    assert [m.minor for m in Money.of(5, "GBP").allocate([1, 0, 1])] == [3, 0, 2]


amounts = st.integers(min_value=-(10**15), max_value=10**15)
codes = st.sampled_from(["GBP", "JPY", "BHD", "EUR"])


@given(amounts, st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12))
def test_allocate_never_loses_or_invents_a_unit(minor, ratios):
    if sum(ratios) == 0:
        ratios = [*ratios[:-1], 1]
    parts = Money.of(minor, "GBP").allocate(ratios)
    assert sum(p.minor for p in parts) == minor
    assert len(parts) == len(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        exact = minor * ratio / sum(ratios)
        assert abs(part.minor - exact) < 1 + 1e-9 * abs(exact)


@given(amounts, st.integers(min_value=1, max_value=50))
def test_split_parts_differ_by_at_most_one(minor, n):
    parts = [p.minor for p in Money.of(minor, "GBP").split(n)]
    assert sum(parts) == minor
    assert max(parts) - min(parts) <= 1


@given(
    st.integers(min_value=0, max_value=10**15), codes, st.sampled_from(["en_GB", "de_DE", "fr_FR"])
)
def test_format_then_parse_round_trips(minor, code, locale):
    money = Money.of(minor, code)
    assert Money.parse(money.format(locale), code, locale) == money
    assert Money.parse(money.amount_text(locale), code, locale) == money


@given(amounts, amounts, codes)
def test_addition_matches_integers(a, b, code):
    assert (Money.of(a, code) + Money.of(b, code)).minor == a + b
    assert (Money.of(a, code) - Money.of(b, code) + Money.of(b, code)) == Money.of(a, code)


def test_total_of_nothing_is_zero():
    assert total([], "GBP") == Money.zero("GBP")
    assert total([Money.of(1, "GBP"), Money.of(2, "GBP")], "GBP") == Money.of(3, "GBP")
