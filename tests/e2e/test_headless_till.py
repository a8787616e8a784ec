"""The till without a screen against the real server (uvicorn on 127.0.0.1, SQLite):
`tillpoint redeem|balance|void` as a shop's POS script runs them, online, then with the server
stopped, and `tillpoint pos-api` with and without its token."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    StoppableServer,
    free_port,
    open_cafe,
    paired_terminal,
    signed_in,
    tillpoint,
    tillpoint_run,
)


@pytest.fixture
def server(tmp_path):
    server = StoppableServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shop(server, tmp_path):
    """A café with offline limits, a customer's £50 card and a voucher, and a terminal paired
    and synced by the command line."""
    base = server.base
    owner = signed_in(base, "vendor")
    cafe = open_cafe(base, owner)
    business, card, voucher = cafe["business"], cafe["card"], cafe["voucher"]
    data = tmp_path / "till.db"
    store, _ = paired_terminal(base, owner, business["id"], data, "Till 1")
    store.close()
    synced = tillpoint_run("sync", "--data", str(data))
    assert synced.returncode == 0, synced.stdout
    return {"card": card, "voucher": voucher, "data": str(data)}


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = tillpoint_run(*args, "--json")
    try:
        document = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(result.stdout) from None
    return result.returncode, document


def test_redeem_balance_and_void_from_the_command_line(server, shop):
    data, card, voucher = shop["data"], shop["card"]["token"], shop["voucher"]["token"]

    code, balance = run_json("balance", card, "--data", data)
    assert code == 0
    assert (balance["mode"], balance["balance"]["text"], balance["usable"]) == (
        "online",
        "£50.00",
        True,
    )

    code, approved = run_json("redeem", card, "--amount", "4.20", "--data", data)
    assert code == 0, approved
    assert (approved["approved"], approved["mode"], approved["kind"]) == (
        True,
        "online",
        "gift_card",
    )
    assert (approved["amount"]["minor"], approved["balance_after"]["text"]) == (420, "£45.80")
    assert approved["reference"]

    # Over the balance: declined by the server, saying why; nothing taken.
    code, declined = run_json("redeem", card, "--amount", "60", "--data", data)
    assert code == 1, declined
    assert (declined["approved"], declined["mode"], declined["reference"]) == (
        False,
        "online",
        None,
    )
    assert declined["reason"]

    # Plain words by default.
    words = tillpoint_run("redeem", card, "--amount", "£1.00", "--data", data)
    assert words.returncode == 0, words.stdout
    assert words.stdout.startswith("APPROVED £1.00 (online): £44.80 left on the card.")

    # A voucher takes no amount, names what to hand over, and works once.
    code, used = run_json("redeem", voucher, "--data", data)
    assert code == 0, used
    assert (used["approved"], used["kind"], used["amount"]["text"], used["deal_title"]) == (
        True,
        "voucher",
        "£3.40",
        "Two coffees for one",
    )
    code, again = run_json("redeem", voucher, "--data", data)
    assert (code, again["approved"]) == (1, False)
    code, looked_up = run_json("balance", voucher, "--data", data)
    assert (code, looked_up["used"], looked_up["usable"]) == (1, True, False)

    # Void the first redemption by its reference: back on the card, and on the server.
    code, voided = run_json("void", approved["reference"], "--data", data)
    assert code == 0, voided
    assert (voided["voided"], voided["synced"], voided["balance_after"]["text"]) == (
        True,
        True,
        "£49.00",
    )
    code, twice = run_json("void", approved["reference"], "--data", data)
    assert (code, twice["voided"]) == (1, False)
    assert "already voided" in twice["reason"]

    # What cannot be asked: exit 2, with the reason.
    assert run_json("void", "no-such-reference", "--data", data)[0] == 2
    assert run_json("redeem", card, "--data", data)[0] == 2  # no amount for a gift card
    assert run_json("redeem", card, "--amount", "four", "--data", data)[0] == 2
    assert run_json("redeem", voucher, "--amount", "3.40", "--data", data)[0] == 2
    code, not_ours = run_json("redeem", "hello", "--amount", "1", "--data", data)
    assert (code, not_ours["error"]) == (2, "bad_input")

    # The server stops: offline within the limits, refused beyond them (exit 3).
    server.stop()
    code, offline = run_json("redeem", card, "--amount", "10.00", "--data", data, "--timeout", "1")
    assert code == 0, offline
    assert (offline["mode"], offline["balance_after"]["text"]) == ("offline", "£39.00")
    code, beyond = run_json("redeem", card, "--amount", "25.00", "--data", data, "--timeout", "1")
    assert (code, beyond["approved"], beyond["mode"]) == (3, False, "offline")
    assert "at most £20.00" in beyond["reason"]
    code, cached = run_json("balance", card, "--data", data, "--timeout", "1")
    assert (code, cached["mode"], cached["balance"]["text"]) == (0, "offline", "£39.00")

    # Back online, the outbox goes out with the next sync.
    server.start()
    pushed = tillpoint_run("sync", "--data", data)
    assert pushed.returncode == 0, pushed.stdout
    assert "pushed 1: 1 applied" in pushed.stdout
    assert "waiting in the outbox: 0" in pushed.stdout


def wait_for(url: str, headers: dict[str, str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, headers=headers, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_pos_api_needs_its_token_and_answers_like_the_cli(shop, tmp_path):
    data, card = shop["data"], shop["card"]["token"]
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    process = tillpoint(
        "pos-api", "--data", data, "--port", str(port), env={"PYTHONUNBUFFERED": "1"}
    )
    try:
        token_file = tmp_path / "till.db.pos-api-token"
        wait_for(f"{base}/health", {})
        token = token_file.read_text().strip()
        assert token_file.stat().st_mode & 0o777 == 0o600
        auth = {"Authorization": f"Bearer {token}"}

        body = {"code": card, "amount": "2.50"}
        assert httpx.post(f"{base}/redeem", json=body).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.post(f"{base}/redeem", json=body, headers=wrong).status_code == 401
        assert httpx.get(f"{base}/health").status_code == 401

        answer = httpx.post(f"{base}/redeem", json=body, headers=auth)
        assert answer.status_code == 200, answer.text
        redeemed = answer.json()
        assert (redeemed["approved"], redeemed["mode"], redeemed["balance_after"]["text"]) == (
            True,
            "online",
            "£47.50",
        )
        declined = httpx.post(
            f"{base}/redeem", json={"code": card, "amount": "100"}, headers=auth
        ).json()
        assert (declined["approved"], declined["mode"]) == (False, "online")
        balance = httpx.post(f"{base}/balance", json={"code": card}, headers=auth).json()
        assert balance["balance"]["text"] == "£47.50"
        voided = httpx.post(
            f"{base}/void", json={"reference": redeemed["reference"]}, headers=auth
        ).json()
        assert (voided["voided"], voided["balance_after"]["text"]) == (True, "£50.00")

        bad = httpx.post(f"{base}/redeem", json={"code": "hello"}, headers=auth)
        assert (bad.status_code, bad.json()["error"]) == (400, "bad_input")
        assert httpx.post(f"{base}/redeem", content=b"[]", headers=auth).status_code == 400
        assert httpx.post(f"{base}/nothing", json={}, headers=auth).status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=15)
        process.log.seek(0)  # type: ignore[attr-defined]
        output = process.log.read()  # type: ignore[attr-defined]
        process.log.close()  # type: ignore[attr-defined]
    # The token is printed once, when it is made; it listened on loopback.
    assert output.count(token) == 1
    assert f"POS API on http://127.0.0.1:{port}/v1/" in output


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_the_pos_api_refuses_to_listen_beyond_loopback(tmp_path, host):
    refused = tillpoint_run("pos-api", "--data", str(tmp_path / "t.db"), "--host", host)
    assert refused.returncode == 2
    assert "loopback" in refused.stdout
