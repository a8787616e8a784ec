"""`tillpoint redeem`'s exit code for an offline refusal: 1 for what the till did decide (a
used voucher, a blocked or empty card, a forged code: asking again changes nothing), 3 only
for what it could not (a limit, a card it has not seen: ask again when the server answers)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.cli import main
from sync.tokens import IssuerKey, id_text, new_id
from terminal.core.headless import EXIT_DECLINED, EXIT_UNREACHABLE
from terminal.core.kinds import CardStatus
from terminal.core.store import TerminalStore
from tests.terminal.test_roles_app import paired_till
from tests.terminal.test_till_offline import card_token, voucher_token


def redeem(capsys, data, token, *more):
    code = main(["redeem", token, *more, "--data", str(data), "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def data(tmp_path, key):
    """A paired, synced till whose server is not there."""
    paired_till(tmp_path / "till.db", key).close()
    return tmp_path / "till.db"


def cached_card(data, status=CardStatus.ACTIVE, balance=1000):
    card = new_id()
    store = TerminalStore(data)
    store.cache_card(id_text(card), "GBP", balance, status)
    store.close()
    return card


def test_a_used_voucher_is_declined_offline_with_1(capsys, data, key):
    token = voucher_token(key, new_id())
    assert redeem(capsys, data, token)[0] == 0
    code, answer = redeem(capsys, data, token)
    assert (code, answer["approved"], answer["mode"]) == (EXIT_DECLINED, False, "offline")
    assert "already been used" in answer["reason"]


@pytest.mark.parametrize("status", [CardStatus.BLOCKED, CardStatus.EXPIRED])
def test_a_card_the_till_knows_cannot_pay_is_declined_with_1(capsys, data, key, status):
    card = cached_card(data, status)
    code, answer = redeem(capsys, data, card_token(key, card), "--amount", "1.00")
    assert (code, answer["mode"]) == (EXIT_DECLINED, "offline")


def test_a_forged_code_is_declined_offline_with_1(capsys, data, key):
    card = cached_card(data)
    forger = IssuerKey(Ed25519PrivateKey.generate(), key.kid)  # the right kid, another key
    code, answer = redeem(capsys, data, card_token(forger, card), "--amount", "1.00")
    assert (code, answer["mode"]) == (EXIT_DECLINED, "offline")
    assert "forged" in answer["reason"] or "altered" in answer["reason"]


@pytest.mark.parametrize(
    ("amount", "said"),
    [("60.00", "one redemption may be at most"), ("1.00", "not been seen")],
)
def test_what_the_till_could_not_decide_offline_is_3(capsys, data, key, amount, said):
    card = cached_card(data, balance=10000) if said != "not been seen" else new_id()
    code, answer = redeem(capsys, data, card_token(key, card), "--amount", amount)
    assert (code, answer["mode"]) == (EXIT_UNREACHABLE, "offline")
    assert said in answer["reason"]
