"""The amount given to `tillpoint redeem --amount` (and the POS API's `amount`): refused
before anything is asked, as a wrong request (exit 2), in the words the scan screen uses,
saying what to type — never as an offline decline (exit 3)."""

from __future__ import annotations

import json

import pytest

from sync.cli import main
from sync.money import MoneyError
from sync.tokens import id_text, new_id
from terminal.core.amounts import MORE_THAN_ZERO, AmountError, amount_problem, typed_amount
from terminal.core.headless import EXIT_BAD_INPUT
from terminal.core.kinds import CardStatus
from tests.terminal.test_roles_app import paired_till
from tests.terminal.test_till_offline import card_token


@pytest.fixture
def till(tmp_path, key):
    """A paired till whose server is not there, holding a card of £6.50."""
    store = paired_till(tmp_path / "till.db", key)
    card = new_id()
    store.cache_card(id_text(card), "GBP", 650, CardStatus.ACTIVE)
    store.close()
    return tmp_path / "till.db", card_token(key, card)


def redeem(capsys, data, token, amount, *more):
    code = main(["redeem", token, "--amount", amount, "--data", str(data), *more])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize(
    ("amount", "said"),
    [
        ("4,20", "tillpoint: for £4.20 type 4.20, with a point, not a comma\n"),
        ("-1", "tillpoint: the amount must be more than zero\n"),
        ("0", "tillpoint: the amount must be more than zero\n"),
        ("0.00", "tillpoint: the amount must be more than zero\n"),
        ("4.205", "tillpoint: type at most two decimals, e.g. 12.50\n"),
    ],
)
def test_an_amount_that_cannot_be_taken_says_what_to_type(capsys, till, amount, said):
    data, token = till
    assert redeem(capsys, data, token, amount) == (EXIT_BAD_INPUT, said)


def test_more_than_any_redemption_is_a_wrong_request_not_an_offline_decline(capsys, till):
    data, token = till
    code, said = redeem(capsys, data, token, "99999999")
    assert code == EXIT_BAD_INPUT == 2
    assert said == (
        "tillpoint: £99,999,999.00 is more than one redemption can be (at most "
        "£100,000.00); the card holds £6.50, as this till last heard\n"
    )
    assert "offline" not in said.lower()
    code = main(["redeem", token, "--amount", "99999999", "--data", str(data), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert (code, document["error"]) == (2, "bad_input")


def test_a_refused_amount_changes_nothing(capsys, till):
    data, token = till
    before = data.read_bytes()
    for amount in ("99999999", "4,20", "0"):
        assert redeem(capsys, data, token, amount)[0] == 2
    assert data.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("4,20", "For £4.20 type 4.20, with a point, not a comma"),
        ("-1", MORE_THAN_ZERO),
        ("0", MORE_THAN_ZERO),
        ("1000000.01", "£1,000,000.01 is more than one redemption can be (at most £100,000.00)"),
    ],
)
def test_the_screen_and_the_command_line_share_the_words(text, said):
    with pytest.raises(AmountError) as refused:
        typed_amount(text, "GBP")
    assert str(refused.value) == said


def test_amount_problem_names_the_point_for_a_decimal_comma():
    assert amount_problem("12,50", MoneyError("thousands marks"), "GBP") == (
        "For £12.50 type 12.50, with a point, not a comma"
    )
