"""The sign-in the console's and the shop's pages share (`server.web.signin`): their wrong
tries count in the API's sign-in throttle, per account and per address, and the app's code
is asked for where two-step sign-in is on."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from tests.server.api import PASSWORD, current_code, next_code, sign_up, verify_email
from tests.server.console import csrf_of, new_admin


@pytest.fixture
def strict(settings, engine) -> Iterator[TestClient]:
    """A server whose sign-in waits after the first wrong try, the longest wait at once
    (`login_backoff_max_seconds`): longer than any test."""
    app = create_app(settings.model_copy(update={"login_free_failures": 0}), engine=engine)
    with TestClient(app) as client:
        client.app.state.login_throttle.first_wait = 900  # type: ignore[attr-defined]
        yield client


def shop_sign_in(client: TestClient, email: str, password: str = PASSWORD, code: str = ""):
    page = client.get("/shop/sign-in")
    return client.post(
        "/shop/sign-in",
        data={"csrf": csrf_of(page.text), "email": email, "password": password, "code": code},
        follow_redirects=False,
    )


def _console(client: TestClient) -> tuple[str, Callable[..., object]]:
    admin = new_admin(client)
    return admin.email, lambda password=PASSWORD: admin.sign_in(password=password)


def _shop(client: TestClient) -> tuple[str, Callable[..., object]]:
    email = sign_up(client).email
    return email, lambda password=PASSWORD: shop_sign_in(client, email, password)


@pytest.mark.parametrize("page", [_console, _shop], ids=["console", "shop"])
def test_a_wrong_try_on_the_page_makes_the_next_sign_in_wait_there_and_in_the_api(strict, page):
    email, sign_in = page(strict)
    wrong = sign_in("not the password")
    assert wrong.status_code == 401
    waited = sign_in()
    assert waited.status_code == 429
    assert "Too many wrong tries: wait 900 seconds, then try again." in waited.text
    api = strict.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert api.status_code == 429, api.text


class Clock:
    """The sign-in throttle's clock (`time.time`), moved by hand."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def time(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("left", "said"), [(0.4, "1 second"), (1.0, "1 second"), (1.5, "2 seconds")]
)
def test_the_wait_the_page_asks_for_is_in_whole_seconds_said_as_such(
    strict, monkeypatch, left, said
):
    clock = Clock()
    monkeypatch.setattr("server.accounts.sessions.time", clock)
    email = sign_up(strict).email
    assert shop_sign_in(strict, email, "not the password").status_code == 401
    clock.now += 900 - left  # the wait after the wrong try is nearly over
    waited = shop_sign_in(strict, email)
    assert waited.status_code == 429
    assert f"Too many wrong tries: wait {said}, then try again." in waited.text


def test_a_customer_with_two_step_sign_in_on_gives_the_apps_code_at_the_shop(client):
    pat = sign_up(client)
    verify_email(pat)  # two-step sign-in is for confirmed addresses
    secret = pat.post("/api/v1/me/mfa").json()["secret"]
    assert pat.post("/api/v1/me/mfa/confirm", {"code": current_code(secret)}).status_code == 200
    for code in ("", "no-such-code"):
        refused = shop_sign_in(client, pat.email, code=code)
        assert refused.status_code == 401
        assert "The email, password or code is wrong" in refused.text
    code = next_code(secret)
    signed = shop_sign_in(client, pat.email, code=f"{code[:3]} {code[3:]}")  # as the app shows it
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == "/shop/my-cards"
