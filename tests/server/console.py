"""The web console as a browser without scripts uses it: forms with their CSRF field,
cookies kept by the client."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from fastapi.testclient import TestClient

from tests.server.api import PASSWORD, next_code

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, html
    return found.group(1)


@dataclass
class ConsoleAdmin:
    """An admin made as `tillpoint server create-admin` makes one: email, password, and the
    secret their authenticator app was given."""

    client: TestClient
    email: str
    secret: str

    def sign_in(self, code: str | None = None, password: str = PASSWORD):
        page = self.client.get("/console/sign-in")
        return self.client.post(
            "/console/sign-in",
            data={
                "csrf": csrf_of(page.text),
                "email": self.email,
                "password": password,
                "code": code if code is not None else next_code(self.secret),
            },
            follow_redirects=False,
        )

    def submit(self, page_path: str, action: str, **fields: str):
        """Send the form at `action` as the page at `page_path` offers it."""
        page = self.client.get(page_path)
        assert page.status_code == 200, page.text
        return self.client.post(
            action, data={"csrf": csrf_of(page.text), **fields}, follow_redirects=False
        )


def new_admin(client: TestClient) -> ConsoleAdmin:
    """A new admin whose two-step sign-in is started but not yet on."""
    from datetime import UTC, datetime

    from server.accounts import admins

    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    state = client.app.state  # type: ignore[attr-defined]
    with state.sessions() as session:
        setup = admins.create_or_promote(
            session, email, PASSWORD, state.passwords, datetime.now(UTC)
        )
        session.commit()
    assert setup.enrolment is not None
    return ConsoleAdmin(client, email, setup.enrolment.secret)


def signed_in_admin(client: TestClient) -> ConsoleAdmin:
    admin = new_admin(client)
    response = admin.sign_in()
    assert response.status_code == 200, response.text  # the recovery codes, shown once
    return admin
