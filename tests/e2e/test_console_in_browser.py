"""The operator's web console in a real browser: the real server (uvicorn on 127.0.0.1), an
admin made by `tillpoint server create-admin`, Playwright driving Debian's Chromium. Sign in
with the authenticator app's code, find a business, suspend it, see it gone from public
search; the audit log names who did it and why."""

from __future__ import annotations

import re
import time

import httpx
import pyotp
import pytest

from tests.e2e.conftest import PASSWORD, StoppableServer, signed_in, tillpoint_run


@pytest.fixture
def server(tmp_path):
    server = StoppableServer(tmp_path)
    server.start()
    yield server
    server.stop()


def public_names(base: str, path: str, **params: str) -> list[str]:
    answer = httpx.get(f"{base}{path}", params=params)
    assert answer.status_code == 200, answer.text
    return [i.get("business_name") or i.get("name") for i in answer.json()["items"]]


def test_an_admin_signs_in_with_two_step_sign_in_and_suspends_a_business(browser, server):
    base = server.base
    owner = signed_in(base, "vendor")
    for name in ("Corner Café", "Bakery Brown"):
        made = httpx.post(
            f"{base}/api/v1/businesses",
            headers=owner,
            json={"name": name, "category": "food", "currency": "GBP"},
        )
        assert made.status_code == 201, made.text
    assert public_names(base, "/api/v1/businesses", q="cafe") == ["Corner Café"]

    admin = tillpoint_run(
        "server", "create-admin", "ops@example.com", "--password-stdin",
        env=server.env, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert admin.returncode == 0, admin.stdout
    secret = re.search(r"with this secret: ([A-Z2-7]+)", admin.stdout)
    assert secret is not None, admin.stdout
    app = pyotp.TOTP(secret[1])

    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    page.goto(f"{base}/console/")
    assert page.url == f"{base}/console/sign-in"  # nothing shows before signing in
    page.get_by_label("Email").fill("ops@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    assert "The email, password or code is wrong" in page.get_by_role("alert").inner_text()

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(app.at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Two-step sign-in is on").wait_for()
    assert len(page.locator("ul.codes code").all_inner_texts()) == 10
    page.get_by_role("link", name="go to the console").click()

    page.get_by_role("navigation", name="Console").get_by_role("link", name="Businesses").click()
    page.get_by_label("Name, category or description").fill("cafe")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Corner Café").click()
    page.get_by_role("heading", name="Corner Café").wait_for()
    page.get_by_label("Why suspend it").fill("Selling counterfeit vouchers")
    page.get_by_role("button", name="Suspend Corner Café").click()
    assert "Suspended. It no longer appears" in page.get_by_role("status").inner_text()

    assert public_names(base, "/api/v1/businesses", q="cafe") == []
    assert "Corner Café" not in public_names(base, "/api/v1/businesses")
    assert "Bakery Brown" in public_names(base, "/api/v1/businesses")

    page.get_by_role("link", name="Audit log").click()
    row = page.get_by_role("row").filter(has_text="business suspended")
    assert "ops@example.com" in row.inner_text()
    assert "Selling counterfeit vouchers" in row.inner_text()

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{base}/console/audit")
    assert page.url == f"{base}/console/sign-in"
    context.close()
