"""The account emails' links in a real browser, with no app address set: the real server
(uvicorn on 127.0.0.1) mailing a real SMTP server on loopback, Playwright driving Debian's
Chromium at a phone's width with JavaScript off. Follow the confirmation email's link and
press its button; follow the reset email's link, set a new password (a mistyped repeat said
at its field first), and sign in to the shop with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    FAST_HASHING,
    PASSWORD,
    free_port,
    running,
    tillpoint,
    tillpoint_run,
)
from tests.e2e.test_account_flows import mailbox, text_of  # noqa: F401 - a fixture

LINK = re.compile(r"open this link: (\S+)")
NEW_PASSWORD = "a brand new password"
SCREENSHOTS = Path(__file__).parent.parent.parent / "build" / "screenshots"


@pytest.fixture
def server(database_url, tmp_path, mailbox) -> Iterator[str]:  # noqa: F811 - the fixture
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "TILLPOINT_DATA_DIR": str(tmp_path / "data"),
        **FAST_HASHING,
        "TILLPOINT_SMTP_HOST": "127.0.0.1",
        "TILLPOINT_SMTP_PORT": str(mailbox[1]),
        "TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS": "0.2",
        "TILLPOINT_PUBLIC_URL": f"http://127.0.0.1:{port}",  # where the emailed links lead
        "TILLPOINT_APP_URL": "",  # no app: to the server's own pages
    }
    migrate = tillpoint_run("server", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stdout
    with running(tillpoint("server", "--port", str(port), env=env), port) as base:
        yield base


def link_in(message) -> str:
    found = LINK.search(text_of(message))
    assert found is not None, text_of(message)
    return found[1]


def test_the_emailed_links_confirm_the_email_and_reset_the_password_in_a_browser(
    browser,
    server,
    mailbox,  # noqa: F811 - the fixture
):
    box = mailbox[0]
    address = "links@example.com"
    api = f"{server}/api/v1"
    signup = httpx.post(f"{api}/auth/signup", json={"email": address, "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    token = httpx.post(f"{api}/auth/login", json={"email": address, "password": PASSWORD})
    session = {"Authorization": f"Bearer {token.json()['access_token']}"}

    confirm = link_in(box.wait_for(address, "Confirm your email for Tillpoint"))
    assert confirm.startswith(f"{server}/account/verify-email?code=")
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(confirm)
    page.get_by_role("heading", name="Confirm your email").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "account-confirm-phone.png"), full_page=True)
    assert httpx.get(f"{api}/me", headers=session).json()["email_verified"] is False
    page.get_by_role("button", name="Confirm my email").click()
    page.get_by_role("heading", name="Your email is confirmed").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "account-confirmed-phone.png"), full_page=True)
    assert httpx.get(f"{api}/me", headers=session).json()["email_verified"] is True
    page.go_back()  # and press it again: the link is used
    page.get_by_role("button", name="Confirm my email").click()
    alert = page.get_by_role("alert").inner_text()
    assert "The link is wrong, used already, or older than 48 hours." in " ".join(alert.split())
    page.screenshot(path=str(SCREENSHOTS / "account-link-used-phone.png"), full_page=True)

    asked = httpx.post(f"{api}/auth/password-reset", json={"email": address})
    assert asked.status_code == 202, asked.text
    reset = link_in(box.wait_for(address, "Reset your Tillpoint password"))
    assert reset.startswith(f"{server}/account/reset-password?code=")
    page.goto(reset)
    page.get_by_role("heading", name="Choose a new password").wait_for()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name="Set my new password").click()
    again = page.get_by_label("New password again")
    assert again.get_attribute("aria-invalid") == "true"
    assert "type the same password as above" in page.locator("#again-error").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "account-reset-mistyped-phone.png"), full_page=True)
    assert httpx.get(f"{api}/me", headers=session).status_code == 200  # nothing changed yet

    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    again.fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my new password").click()
    page.get_by_role("heading", name="Your password is changed").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "account-password-changed-phone.png"), full_page=True)
    assert httpx.get(f"{api}/me", headers=session).status_code == 401  # signed out everywhere
    old = httpx.post(f"{api}/auth/login", json={"email": address, "password": PASSWORD})
    assert old.status_code == 401

    page.get_by_role("link", name="see your gift cards").click()
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()  # the signed-in cards page
    assert page.url == f"{server}/shop/my-cards"
    box.wait_for(address, "Your Tillpoint password was changed")
    context.close()
