"""A till the owner revoked, against the real server in this process: once the server has
said so, the till keeps it in its database and, after a restart and with the server down
too, approves nothing offline (screens, `tillpoint redeem`), voids nothing, answers a
balance as last synced rather than "now", and `tillpoint sync` exits 5 as documented."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.cli import main
from terminal.core.headless import EXIT_NOT_READY
from terminal.core.kinds import Mode
from terminal.core.revocation import REDEEM_REFUSED, VOID_REFUSED
from terminal.core.session import PairingFailedError, TerminalSession
from terminal.core.till import VoidRefusedError
from tests.e2e.conftest import PASSWORD, open_cafe, signed_in
from tests.terminal.live_server import LiveServer


@pytest.fixture
def server(tmp_path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path)
    server.start()
    yield server
    server.stop()


class Shop:
    """A café (offline limits, a customer's £50 card, a voucher) and its till, paired and
    synced through the till's own session."""

    def __init__(self, server: LiveServer, data: Path) -> None:
        self.base = server.base
        self.owner = signed_in(self.base, "vendor")
        cafe = open_cafe(self.base, self.owner)
        self.business_id = cafe["business"]["id"]
        self.card: str = cafe["card"]["token"]
        self.card_id: str = cafe["card"]["id"]
        self.customer: dict[str, str] = cafe["customer"]
        self.voucher: str = cafe["voucher"]["token"]
        self.data = data
        code = self._post(f"/businesses/{self.business_id}/pairing-codes").json()["code"]
        session = TerminalSession(data, timeout=10.0)  # a busy machine: the answer comes
        self.device_id = session.pair(self.base, code, "Till 2").device_id
        assert session.sync() is not None
        session.close()

    def _post(self, path: str) -> httpx.Response:
        response = httpx.post(f"{self.base}/api/v1{path}", headers=self.owner)
        assert response.status_code in (200, 201), response.text
        return response

    def revoke(self) -> None:
        revoked = self._post(f"/businesses/{self.business_id}/devices/{self.device_id}/revoke")
        assert revoked.json()["revoked"] is True

    def card_balance(self) -> int:
        """What the server holds on the customer's card."""
        response = httpx.get(f"{self.base}/api/v1/gift-cards/{self.card_id}", headers=self.customer)
        assert response.status_code == 200, response.text
        return int(response.json()["balance"]["minor"])


@pytest.fixture
def shop(server, tmp_path) -> Shop:
    return Shop(server, tmp_path / "till.db")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`tillpoint ARGS` in this process: its exit code, and what it printed (both streams)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_revoked_till_remembers_it_after_a_restart_and_approves_nothing_offline(
    server, shop, capsys
):
    session = TerminalSession(shop.data, timeout=10.0)
    approved = session.redeem(shop.card, 200)
    assert (approved.approved, approved.mode) == (True, Mode.ONLINE)
    shop.revoke()
    assert session.sync() is None  # refused: the server says the owner revoked it
    assert session.status().revoked
    session.close()
    server.stop()  # then the server goes down, and the till is started again

    session = TerminalSession(shop.data, timeout=10.0)
    assert session.status().revoked  # kept in its database, not only in memory
    before = session.store.pending_count()
    for verdict in (session.redeem(shop.card, 100), session.redeem_voucher(shop.voucher)):
        assert (verdict.approved, verdict.mode, verdict.reason) == (
            False,
            Mode.OFFLINE,
            REDEEM_REFUSED,
        )
    (entry,) = session.store.journal(since=datetime.now().astimezone() - timedelta(hours=1))
    with pytest.raises(VoidRefusedError, match="revoked by the owner") as refused:
        session.void(entry)  # would never reach the server: the customer's money lost
    assert str(refused.value) == VOID_REFUSED
    assert session.store.pending_count() == before  # nothing queued for the server to refuse
    session.close()

    code, said = run(capsys, "redeem", shop.card, "--amount", "1", "--data", str(shop.data))
    assert code == EXIT_NOT_READY == 5
    assert "this till was revoked by the owner: pair it again with a new code" in said
    assert "APPROVED" not in said
    code, document = run_json(
        capsys, "redeem", shop.card, "--amount", "1", "--data", str(shop.data)
    )
    assert (code, document["error"]) == (5, "revoked")
    code, said = run(capsys, "void", entry.attempt_key, "--data", str(shop.data))
    assert code == 5
    assert "revoked" in said


def test_a_revoked_till_learns_it_from_a_refused_redemption_too(shop, capsys):
    shop.revoke()
    session = TerminalSession(shop.data, timeout=10.0)
    verdict = session.redeem(shop.card, 100)  # the server answers: revoked
    assert (verdict.approved, verdict.mode, verdict.reason) == (False, Mode.ONLINE, REDEEM_REFUSED)
    assert session.status().revoked
    session.close()
    code, document = run_json(
        capsys, "redeem", shop.card, "--amount", "1", "--data", str(shop.data)
    )
    assert (code, document["error"]) == (5, "revoked")
    assert shop.card_balance() == 5000  # nothing was taken, online or off


def test_tillpoint_redeem_on_a_till_revoked_meanwhile_exits_5(shop, capsys):
    shop.revoke()
    code, said = run(capsys, "redeem", shop.card, "--amount", "1", "--data", str(shop.data))
    assert code == 5
    assert said.startswith("tillpoint: this till was revoked by the owner: pair it again")
    assert "--data NEW.db" in said


def test_tillpoint_sync_on_a_revoked_till_exits_5_and_keeps_it(shop, capsys):
    shop.revoke()
    code, said = run(capsys, "sync", "--data", str(shop.data))
    assert code == 5
    assert "this till was revoked by the owner: pair it again with a new code" in said
    session = TerminalSession(shop.data)
    assert session.status().revoked
    session.close()
    assert run(capsys, "sync", "--watch", "--data", str(shop.data))[0] == 5  # no loop


def test_the_sync_help_lists_the_revoked_exit_code(capsys):
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "it is not paired, or the owner revoked it (pair it again" in said
    assert "2 when the server refused the sync itself" in said


def test_a_balance_on_a_revoked_till_is_the_last_synced_one_and_says_so(shop, capsys):
    code, online = run_json(capsys, "balance", shop.card, "--data", str(shop.data))
    assert (code, online["mode"], online["revoked"]) == (0, "online", False)
    shop.revoke()
    code, document = run_json(capsys, "balance", shop.card, "--data", str(shop.data))
    assert code == 5
    assert (document["mode"], document["revoked"], document["balance"]["text"]) == (
        "offline",
        True,
        "£50.00",
    )
    assert document["synced_at"] == online["synced_at"]  # when that balance was heard
    code, said = run(capsys, "balance", shop.card, "--data", str(shop.data))
    assert code == 5
    assert "£50.00 as of the last sync (" in said
    assert " now" not in said
    assert "This till was revoked by the owner" in said


def test_an_owner_of_several_businesses_is_told_how_to_pair_the_first_till(server, tmp_path):
    owner = signed_in(server.base, "vendor", "two@example.com")
    ids = [open_cafe(server.base, owner)["business"]["id"] for _ in range(2)]
    session = TerminalSession(tmp_path / "first.db")
    with pytest.raises(PairingFailedError, match="owns 2 businesses") as refused:
        session.pair_with_account(server.base, "two@example.com", PASSWORD, "T")
    said = str(refused.value)
    assert "POST /api/v1/businesses/{id}/pairing-codes" in said
    assert all(business_id in said for business_id in ids)
    assert "for this till's on a till" not in said
    session.close()
