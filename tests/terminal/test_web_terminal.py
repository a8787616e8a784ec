"""The terminal served to a browser (`tillpoint terminal --serve`): nothing of it answers
without the access code, guessing is throttled, another site's page cannot open the till, one
tab at a time, and the address rules of the command. The browser itself: tests/e2e/
test_terminal_in_browser.py."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from textual.binding import Binding

import terminal.web
from sync.cli import main
from terminal.app.app import TillpointApp
from terminal.web import COOKIE, SignIn, TooManyTriesError, WebTerminal
from terminal.web.command import AddressError, check_address

pytestmark = pytest.mark.anyio

CODE = "K7Q2-M9XA-4HTD-WP3R"
# A Textual app as small as they come, for what textual-serve starts per connection.
TINY_APP = "exec " + shlex.join([sys.executable, "-c", "from textual.app import App\nApp().run()"])


@pytest.fixture
def anyio_backend():
    return "asyncio"  # aiohttp runs on asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def served(
    sign_in: SignIn | None = None, command: str = "false", public_url: str | None = None
) -> TestClient[web.Request, web.Application]:
    terminal = WebTerminal(command, sign_in or SignIn(CODE), public_url=public_url)
    client = TestClient(TestServer(terminal.make_app()))
    await client.start_server()
    return client


async def signed_in(client: TestClient[web.Request, web.Application]) -> None:
    answer = await client.post("/sign-in", data={"code": CODE}, allow_redirects=False)
    assert answer.status == 303


async def test_nothing_answers_without_the_access_code():
    client = await served()
    try:
        page = await client.get("/", allow_redirects=False)
        assert (page.status, page.headers["Location"]) == (303, "/sign-in")
        for path in ("/ws", "/static/js/textual.js"):
            answer = await client.get(path)
            assert answer.status == 401, path
            assert "Sign in first" in await answer.text()
        assert (await client.get("/healthz")).status == 200
        sign_in = await client.get("/sign-in")
        assert sign_in.status == 200
        assert "Access code of this till" in await sign_in.text()
        assert sign_in.headers["X-Frame-Options"] == "DENY"
    finally:
        await client.close()


async def test_a_wrong_code_is_refused_in_words_and_the_right_one_opens_the_till():
    client = await served()
    try:
        wrong = await client.post("/sign-in", data={"code": "K7Q2-M9XA-4HTD-WP3S"})
        assert wrong.status == 401
        assert "That is not the access code" in await wrong.text()
        assert COOKIE not in client.session.cookie_jar.filter_cookies(client.make_url("/"))

        right = await client.post("/sign-in", data={"code": CODE}, allow_redirects=False)
        assert (right.status, right.headers["Location"]) == (303, "/")
        cookie = right.cookies[COOKIE]
        assert cookie["httponly"]
        assert cookie["samesite"] == "Strict"
        assert not cookie["secure"]  # plain HTTP on loopback: a Secure cookie would not come back

        page = await client.get("/")
        assert page.status == 200
        html = await page.text()
        host = f"{client.host}:{client.port}"
        assert f'data-session-websocket-url="ws://{host}/ws"' in html
        assert "fonts.googleapis.com" not in html  # the till's page loads nothing from elsewhere
        assert (await client.get("/static/js/textual.js")).status == 200

        out = await client.post("/sign-out", allow_redirects=False)
        assert out.headers["Location"] == "/sign-in"
        assert (await client.get("/", allow_redirects=False)).status == 303
    finally:
        await client.close()


async def test_guessing_is_throttled_for_everyone_even_the_right_code():
    clock = Clock()
    client = await served(SignIn(CODE, clock=clock, tries_per_minute=3))
    try:
        for _ in range(3):
            assert (await client.post("/sign-in", data={"code": "guess"})).status == 401
        held = await client.post("/sign-in", data={"code": CODE})
        assert held.status == 429
        assert "Too many wrong codes: wait 60 seconds" in await held.text()
        clock.now += 61
        assert (await client.post("/sign-in", data={"code": CODE})).status == 200
    finally:
        await client.close()


def test_a_session_lasts_a_shift_then_the_code_is_asked_again():
    clock = Clock()
    sign_in = SignIn(CODE, clock=clock, session_seconds=3600)
    session = sign_in.try_code(f"  {CODE}\n")  # as pasted
    assert session is not None
    assert sign_in.knows(session)
    assert not sign_in.knows("made-up")
    clock.now += 3601
    assert not sign_in.knows(session)


def test_the_throttle_says_how_long_to_wait():
    clock = Clock()
    sign_in = SignIn(CODE, clock=clock, tries_per_minute=1)
    assert sign_in.try_code("guess") is None
    clock.now += 45
    with pytest.raises(TooManyTriesError) as refused:
        sign_in.try_code(CODE)
    assert refused.value.wait_seconds == 15
    clock.now += 14
    with pytest.raises(TooManyTriesError) as refused:
        sign_in.try_code(CODE)
    assert str(refused.value) == "Too many wrong codes: wait 1 second, then try again."


async def test_another_sites_page_cannot_open_the_till():
    client = await served()
    try:
        await signed_in(client)
        answer = await client.get("/ws", headers={"Origin": "http://shop.example"})
        assert answer.status == 403
        assert "only answers its own page" in await answer.text()
    finally:
        await client.close()


async def test_behind_an_https_proxy_the_page_and_cookie_follow_the_public_address():
    client = await served(public_url="https://till.example.com/")
    try:
        answer = await client.post("/sign-in", data={"code": CODE}, allow_redirects=False)
        assert answer.cookies[COOKIE]["secure"]
        session = answer.cookies[COOKIE].value
        page = await client.get("/", headers={"Cookie": f"{COOKIE}={session}"})
        html = await page.text()
        assert 'data-session-websocket-url="wss://till.example.com/ws"' in html
        assert "https://till.example.com/static/js/textual.js" in html
    finally:
        await client.close()


async def test_a_second_tab_takes_the_till_over_once_the_first_ones_app_has_quit():
    client = await served(command=TINY_APP)
    try:
        await signed_in(client)
        first = await client.ws_connect("/ws?width=80&height=24")
        assert (await first.receive(timeout=60)).type is WSMsgType.BINARY  # the app draws
        second = await client.ws_connect("/ws?width=80&height=24")
        ended = await first.receive(timeout=60)
        while ended.type is WSMsgType.BINARY:  # what was on its way still arrives
            ended = await first.receive(timeout=60)
        assert ended.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
        assert (await second.receive(timeout=60)).type is WSMsgType.BINARY
        await second.close()
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("host", "public_url", "problem"),
    [
        ("127.0.0.1", None, None),
        ("localhost", None, None),
        ("::1", None, None),
        ("0.0.0.0", "https://till.example.com", None),
        ("0.0.0.0", None, "would open the till to the network over plain HTTP"),
        ("192.168.1.20", "http://till.local", "would open the till to the network"),
        ("till.local", None, "would open the till to the network"),
        ("127.0.0.1", "till.example.com", "is not an address like https://"),
        ("127.0.0.1", "https://till.example.com/till", "is not an address like https://"),
    ],
)
def test_the_till_is_served_on_loopback_or_behind_https(host, public_url, problem):
    if problem is None:
        check_address(host, public_url)
    else:
        with pytest.raises(AddressError, match=problem):
            check_address(host, public_url)


def test_the_command_refuses_what_it_cannot_serve_safely(tmp_path, capsys, monkeypatch):
    data = str(tmp_path / "till.db")
    assert main(["terminal", "--serve", "--host", "0.0.0.0", "--data", data]) == 2
    assert "over plain HTTP" in capsys.readouterr().err

    monkeypatch.setenv("TILLPOINT_TERMINAL_ACCESS_CODE", "1234")
    assert main(["terminal", "--serve", "--data", data]) == 2
    assert "TILLPOINT_TERMINAL_ACCESS_CODE is too short (4 characters)" in capsys.readouterr().err

    assert main(["terminal", "--port", "8080", "--data", data]) == 2
    assert "--port is for --serve: add --serve" in capsys.readouterr().err


def test_the_page_keeps_every_ctrl_alias_of_the_till_from_the_browser():
    """Ctrl+P prints the page, Ctrl+R reloads it…: every Ctrl alias the till binds must be
    one the page hands to the till, not to the browser."""
    page = (Path(terminal.web.__file__).parent / "templates" / "index.html").read_text()
    listed = re.search(r"TILL_CTRL_KEYS = new Set\(\[(.*?)\]\)", page)
    assert listed is not None
    kept = set(re.findall(r'"(\w)"', listed.group(1)))
    aliases = {
        key.removeprefix("ctrl+")
        for binding in TillpointApp.BINDINGS
        if isinstance(binding, Binding)
        for key in binding.key.split(",")
        if key.startswith("ctrl+") and key not in ("ctrl+q", "ctrl+c")  # the till's to quit
    }
    assert aliases
    assert aliases <= kept, sorted(aliases - kept)
