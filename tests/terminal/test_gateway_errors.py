"""A reverse proxy in front of the real server answers 502 Bad Gateway: that is no decision
of the server's. The till decides offline under the same attempt key, as for a dropped
connection, so the card is charged once — whether the server had applied the online attempt
(the proxy answered 502 after forwarding it) or was never reached."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.cli import main
from terminal.core.headless import HeadlessTill
from terminal.core.kinds import Mode
from terminal.core.session import TerminalSession
from tests.e2e.conftest import open_cafe, signed_in
from tests.terminal.gateway_proxy import GatewayProxy, Rule
from tests.terminal.live_server import LiveServer

REDEMPTIONS = "/terminal/redemptions"
VOUCHERS = "/terminal/voucher-redemptions"


@dataclass
class Shop:
    server: LiveServer
    proxy: GatewayProxy
    till: TerminalSession
    data: Path
    cafe: dict[str, Any]

    def card_minor(self) -> int:
        """What the server says the customer's card holds."""
        card = self.cafe["card"]
        answer = httpx.get(
            f"{self.server.base}/api/v1/gift-cards/{card['id']}", headers=self.cafe["customer"]
        )
        assert answer.status_code == 200, answer.text
        return int(answer.json()["balance"]["minor"])


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    """A café (its £50 card, a voucher) and a till paired and synced through the proxy."""
    server = LiveServer(tmp_path)
    server.start()
    data = tmp_path / "till.db"
    till = TerminalSession(data, timeout=10)
    try:
        with GatewayProxy(server.base) as proxy:
            owner = signed_in(server.base, "vendor")
            cafe = open_cafe(server.base, owner)
            business_id = cafe["business"]["id"]
            code = httpx.post(
                f"{server.base}/api/v1/businesses/{business_id}/pairing-codes", headers=owner
            ).json()["code"]
            till.pair(proxy.base, code, "Till 1")
            assert till.sync() is not None
            yield Shop(server, proxy, till, data, cafe)
    finally:
        till.close()
        server.stop()


@pytest.mark.parametrize("rule", [Rule.BAD_GATEWAY_AFTER, Rule.BAD_GATEWAY])
def test_a_gateways_502_is_a_lost_answer_and_the_card_is_charged_once(shop, rule):
    shop.proxy.rules[REDEMPTIONS] = rule
    verdict = shop.till.redeem(shop.cafe["card"]["token"], 200)
    assert (verdict.approved, verdict.mode) == (True, Mode.OFFLINE), verdict.reason
    reached = any(REDEMPTIONS in path for path in shop.proxy.forwarded)
    assert reached is (rule is Rule.BAD_GATEWAY_AFTER)
    assert shop.card_minor() == (4800 if reached else 5000)

    shop.proxy.rules.clear()
    summary = shop.till.sync()
    assert summary is not None
    # The server had applied the online attempt: the offline event, under its key, is a
    # duplicate; it had not: the event is the redemption.
    assert (summary.applied, summary.duplicates) == ((0, 1) if reached else (1, 0))
    assert shop.card_minor() == 4800


def test_a_voucher_behind_a_502_after_the_server_used_it_is_used_once(shop):
    shop.proxy.rules[VOUCHERS] = Rule.BAD_GATEWAY_AFTER
    verdict = shop.till.redeem_voucher(shop.cafe["voucher"]["token"])
    assert (verdict.approved, verdict.mode) == (True, Mode.OFFLINE), verdict.reason
    shop.proxy.rules.clear()
    summary = shop.till.sync()
    assert summary is not None
    assert (summary.applied, summary.duplicates, summary.incidents) == (0, 1, 0)


def test_sync_behind_a_502_says_the_server_could_not_be_reached_and_what_was_pushed(shop, capsys):
    shop.proxy.rules[REDEMPTIONS] = Rule.BAD_GATEWAY
    assert shop.till.redeem(shop.cafe["card"]["token"], 150).approved  # offline: to push
    shop.proxy.rules[REDEMPTIONS] = Rule.PASS
    shop.proxy.rules["/sync/changes"] = Rule.BAD_GATEWAY  # the push goes through, the pull not
    capsys.readouterr()

    assert main(["sync", "--data", str(shop.data)]) == 3
    out, err = capsys.readouterr()
    assert "pushed 1: 1 applied, 0 duplicates, 0 with incidents, 0 rejected" in out
    (said,) = [line for line in err.splitlines() if line.startswith("tillpoint:")]
    assert "<h1>" not in err
    assert said.startswith("tillpoint: the server at ")
    assert "could not be reached (the gateway in front of it answered 502 Bad Gateway)" in said
    assert "Nothing was lost" in said

    # The push's own answer lost: the server applied it; the next push says duplicate.
    shop.proxy.rules[REDEMPTIONS] = Rule.BAD_GATEWAY
    assert shop.till.redeem(shop.cafe["card"]["token"], 100).approved  # offline again
    shop.proxy.rules.clear()
    shop.proxy.rules["/sync/push"] = Rule.BAD_GATEWAY_AFTER
    assert main(["sync", "--data", str(shop.data)]) == 3
    assert shop.card_minor() == 4750
    shop.proxy.rules.clear()
    capsys.readouterr()
    assert main(["sync", "--data", str(shop.data)]) == 0
    assert "pushed 1: 0 applied, 1 duplicates" in capsys.readouterr().out
    assert shop.card_minor() == 4750


def test_a_gateways_504_after_the_server_took_it_declined_offline_is_given_back(shop):
    """The server took £25, the proxy answered 504, and the till could not approve £25
    offline (one redemption may be at most £20 there): it says the server may have taken it,
    queues the attempt's withdrawal, and the next sync puts the £25 back, once."""
    shop.proxy.rules[REDEMPTIONS] = Rule.GATEWAY_TIMEOUT_AFTER
    verdict = shop.till.redeem(shop.cafe["card"]["token"], 2500)
    assert (verdict.approved, verdict.mode, verdict.undecided) == (False, Mode.OFFLINE, True)
    assert verdict.withdrawn
    assert "cannot tell whether it took the amount" in verdict.reason
    assert "back onto the card automatically when this till next syncs" in verdict.reason
    assert shop.card_minor() == 2500  # taken, as far as the server knows
    (queued,) = shop.till.store.pending()
    assert queued.type == "attempt_withdrawn"
    assert queued.payload["card_id"] == shop.cafe["card"]["id"]
    assert queued.payload["amount_minor"] == 2500

    shop.proxy.rules.clear()
    summary = shop.till.sync()
    assert summary is not None
    assert (summary.pushed, summary.incidents, summary.rejected) == (1, 1, 0)
    assert shop.till.store.pending_count() == 0
    assert shop.card_minor() == 5000
    assert shop.till.sync() is not None
    assert shop.card_minor() == 5000


def test_an_offer_after_a_lost_answer_does_not_send_the_cashier_elsewhere(shop):
    """Declined offline with what the card holds: the cashier may take that, so the reason
    does not tell them to take another payment method."""
    shop.proxy.rules[REDEMPTIONS] = Rule.GATEWAY_TIMEOUT_AFTER
    verdict = shop.till.redeem(shop.cafe["card"]["token"], 6000)
    assert (verdict.approved, verdict.withdrawn) == (False, True)
    assert verdict.offer is not None
    assert verdict.offer.minor == 5000
    assert "Take another payment method" not in verdict.reason


def test_the_redeem_document_says_the_attempt_was_withdrawn(shop):
    """What `--json` and pos-api answer: a POS can tell a withdrawn attempt from a decline."""
    shop.proxy.rules[REDEMPTIONS] = Rule.GATEWAY_TIMEOUT_AFTER
    answer = HeadlessTill(shop.till).redeem(shop.cafe["card"]["token"], "25.00")
    assert (answer.document["approved"], answer.document["withdrawn"]) == (False, True)
    shop.proxy.rules.clear()
    answer = HeadlessTill(shop.till).redeem(shop.cafe["card"]["token"], "1.00")
    assert (answer.document["approved"], answer.document["withdrawn"]) == (True, False)


def test_a_gateways_502_before_the_server_declined_offline_is_withdrawn_all_the_same(shop):
    """Not forwarded, but the till cannot tell: the withdrawal finds nothing to give back."""
    shop.proxy.rules[REDEMPTIONS] = Rule.BAD_GATEWAY
    verdict = shop.till.redeem(shop.cafe["card"]["token"], 2500)
    assert (verdict.approved, verdict.withdrawn) == (False, True)
    shop.proxy.rules.clear()
    summary = shop.till.sync()
    assert summary is not None
    assert (summary.applied, summary.incidents) == (1, 0)
    assert shop.card_minor() == 5000


def test_nothing_answering_at_all_declined_offline_withdraws_nothing(shop):
    """No connection was made: the server cannot have it, and the till says no more."""
    shop.proxy.__exit__(None, None, None)  # its port now refuses connections
    verdict = shop.till.redeem(shop.cafe["card"]["token"], 2500)
    assert (verdict.approved, verdict.undecided, verdict.withdrawn) == (False, True, False)
    assert "answer was lost" not in verdict.reason
    assert shop.till.store.pending() == []
