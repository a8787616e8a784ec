"""`tillpoint pos-api` refuses a field a route does not take (400, naming it, nothing done),
as the server's API does, and answers a route asked with the wrong method 405. A decline is
an answer (200); no decision at all (offline, and the till could not decide) is 504, so that
a POS cannot take it for a decline the server made."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from sync.tokens import id_text, new_id
from terminal.core.headless import HeadlessTill
from terminal.core.kinds import CardStatus
from terminal.core.session import TerminalSession
from terminal.pos_api import PosApiServer
from tests.terminal.test_roles_app import paired_till
from tests.terminal.test_till_offline import card_token

TOKEN = "a-token-for-the-test"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def pos(tmp_path, key) -> Iterator[tuple[str, str, TerminalSession]]:
    """The POS API over a paired till (no server there), and a £10 card's code."""
    store = paired_till(tmp_path / "till.db", key)
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    store.close()
    session = TerminalSession(tmp_path / "till.db", timeout=0.5)
    session.open()
    server = PosApiServer("127.0.0.1", 0, HeadlessTill(session), TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", card_token(key, card), session
    finally:
        server.shutdown()
        server.server_close()
        session.close()


def test_an_unknown_field_is_refused_naming_it_and_nothing_is_taken(pos):
    base, code, session = pos
    body = {"code": code, "amount": "1.00", "tip": 5}
    answer = httpx.post(f"{base}/v1/redeem", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "bad_input",
        "message": "unknown field 'tip': POST /v1/redeem takes code, amount, cashier; "
        "nothing was done",
    }
    assert session.store.pending_count() == 0


def test_the_fields_a_route_takes_are_taken(pos):
    base, code, _ = pos
    answer = httpx.post(f"{base}/v1/redeem", json={"code": code, "amount": "1.00"}, headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["approved"] is True


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/v1/redeem", "POST"), ("GET", "/v1/void", "POST"), ("POST", "/v1/health", "GET")],
)
def test_a_route_asked_with_another_method_is_405(pos, method, path, allowed):
    base, _, _ = pos
    answer = httpx.request(method, f"{base}{path}", headers=AUTH, json={})
    assert answer.status_code == 405
    assert answer.headers["Allow"] == allowed
    assert answer.json()["error"] == "method_not_allowed"


def test_a_path_that_is_not_there_is_404(pos):
    base, _, _ = pos
    assert httpx.get(f"{base}/v1/nothing", headers=AUTH).status_code == 404


def test_a_decline_the_till_could_make_offline_is_an_answer(pos, tmp_path, key):
    base, _, session = pos
    blocked = new_id()
    session.store.cache_card(id_text(blocked), "GBP", 1000, CardStatus.BLOCKED)
    body = {"code": card_token(key, blocked), "amount": "1.00"}
    answer = httpx.post(f"{base}/v1/redeem", json=body, headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["approved"] is False


def test_no_decision_is_504_and_nothing_is_taken(pos, key):
    """Offline, a card this till has not seen: it cannot decide; ask again once online."""
    base, _, session = pos
    body = {"code": card_token(key, new_id()), "amount": "1.00"}
    answer = httpx.post(f"{base}/v1/redeem", json=body, headers=AUTH)
    assert answer.status_code == 504
    assert answer.json()["approved"] is False
    assert answer.json()["withdrawn"] is False  # no attempt reached a server
    assert "not been seen" in answer.json()["reason"]
    assert session.store.pending_count() == 0
