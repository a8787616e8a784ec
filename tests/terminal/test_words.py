"""The cashier's words: plurals, the server's refusals without field paths, what a sync did."""

import pytest

from sync.client import ServerRefusedError
from sync.engine import PushSummary
from sync.money import Money
from terminal.core.words import count, refusal, synced


@pytest.mark.parametrize(
    ("number", "words"),
    [(0, "0 redemptions"), (1, "1 redemption"), (2, "2 redemptions")],
)
def test_plurals(number, words):
    assert count(number, "redemption") == words


def invalid(field):
    return ServerRefusedError(
        422,
        {
            "type": "https://tillpoint.dev/problems/invalid-request",
            "status": 422,
            "detail": f"Fix these fields and send it again: {field}",
            "errors": [{"field": field, "message": "too large"}],
        },
    )


def test_an_amount_the_server_would_not_read_is_said_in_words():
    said = refusal(invalid("body.amount_minor"), Money.of(99_999_900, "GBP"))
    assert said == "£999,999.00 is more than one redemption can be (at most £100,000.00)."


@pytest.mark.parametrize("field", ["body.token", "body.something_else", "query.cursor"])
def test_no_refusal_names_a_field(field):
    said = refusal(invalid(field))
    assert "body." not in said
    assert "query." not in said
    assert "Fix these fields" not in said


def test_a_domain_refusal_keeps_the_servers_words():
    used = ServerRefusedError(
        409,
        {
            "type": "https://tillpoint.dev/problems/voucher-used",
            "status": 409,
            "detail": "This voucher was already redeemed: it can be used once.",
        },
    )
    assert refusal(used) == "This voucher was already redeemed: it can be used once."


def test_a_sync_says_what_it_did():
    assert synced(PushSummary(pushed=2, pulled=5)) == "Synced: 2 sent, 5 changes received"
    assert synced(PushSummary(pushed=1, pulled=1)) == "Synced: 1 sent, 1 change received"
