"""The Owner tab's offline limits through the Textual app (`App.run_test`), signed in as the
owner against a stand-in for the server's owner calls: what the owner types is checked
here and refused in plain words about the field they typed (hours, not seconds), nothing
crashes on "nan" or "inf", contradictory limits are refused, a valid save says "Saved",
and the server's own text (a till's name, an incident) draws as written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import BaseModel
from textual.widgets import DataTable, Input, TabbedContent

from sync.client import DeviceAuth, SyncClient
from sync.tokens import id_text
from sync.wire import (
    DevicePublic,
    IncidentKind,
    IncidentPublic,
    OfflineLimitsBody,
    PairingCodePublic,
)
from terminal.app.screens.owner import OwnerPane
from terminal.app.screens.signin import SignInScreen
from terminal.app.screens.vendor import VendorScreen
from tests.terminal.test_owner_takings import report
from tests.terminal.test_roles_app import Counter, signed_in_as, until
from tests.terminal.test_till_offline import BUSINESS, unused_url
from tests.terminal.test_vendor_forms import drawn

pytestmark = pytest.mark.anyio

LIMITS = OfflineLimitsBody(
    max_single_minor=5_000,
    max_per_card_minor=10_000,
    max_unsynced_minor=50_000,
    max_cache_age_seconds=24 * 3600,
    stale_cache_max_minor=0,
)
HOURS_REFUSED = "Not saved: stale after (hours): type hours as a number, e.g. 24."
HOURS_OUT = "Not saved: stale after (hours) must be between 1 minute and 720 hours."


class OwnerServer:
    """The server's owner calls, answered over a mock HTTP transport to the till's real
    client (`SyncClient`); anything else (sync, the change stream) finds no server, so the
    till works offline. Keeps what the owner sent."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.limits = LIMITS
        self.sent: list[OfflineLimitsBody] = []
        self.devices_list = [self.device("dev", "Front till")]
        self.incident_list: list[IncidentPublic] = []
        self.codes: list[PairingCodePublic] = []
        self.revoked: list[str] = []

    def device(self, device_id: str, name: str, branch_id: str | None = None) -> DevicePublic:
        return DevicePublic(
            id=device_id,
            name=name,
            created_at=self.now,
            last_seen_at=self.now,
            revoked=False,
            branch_id=branch_id,
        )

    def client(self) -> SyncClient:
        http = httpx.Client(transport=httpx.MockTransport(self.answer))
        return SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), http=http)

    def answer(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path.removeprefix("/api/v1")
        business = f"/businesses/{id_text(BUSINESS)}"
        if (method, path) == ("POST", "/auth/login"):
            return httpx.Response(200, json={"access_token": "token"})
        if not path.startswith(business):
            raise httpx.ConnectError("no server here", request=request)
        path = path.removeprefix(business)
        if path == "/devices":
            return self.page(self.devices_list)
        if path == "/incidents":
            return self.page(self.incident_list)
        if path == "/invoices":
            return self.page([])
        if path == "/subscription":
            problem = {"status": 404, "title": "Not found", "detail": "no subscription"}
            return httpx.Response(404, json=problem)
        if path == "/reports":
            report_json = report(online=(450, 1), offline=(0, 0), takings=450)
            return httpx.Response(200, json=report_json.model_dump(mode="json", by_alias=True))
        if path == "/offline-limits":
            if method == "PUT":
                self.limits = OfflineLimitsBody.model_validate_json(request.content)
                self.sent.append(self.limits)
            return httpx.Response(200, json=self.limits.model_dump(mode="json"))
        if path == "/pairing-codes":
            branch_id = json.loads(request.content or b"{}").get("branch_id")
            code = f"ABCD-EF{len(self.codes):02d}"
            made = PairingCodePublic(
                code=code,
                qr_text=f"TPPAIR:{code}",
                expires_at=self.now + timedelta(minutes=15),
                branch_id=branch_id,
            )
            self.codes.append(made)
            return httpx.Response(200, json=made.model_dump(mode="json"))
        if path.endswith("/revoke"):
            device_id = path.split("/")[2]
            self.revoked.append(device_id)
            self.devices_list = [
                d.model_copy(update={"revoked": True}) if d.id == device_id else d
                for d in self.devices_list
            ]
            (device,) = (d for d in self.devices_list if d.id == device_id)
            return httpx.Response(200, json=device.model_dump(mode="json"))
        raise httpx.ConnectError("no server here", request=request)

    @staticmethod
    def page(items: Sequence[BaseModel]) -> httpx.Response:
        listed = [item.model_dump(mode="json") for item in items]
        return httpx.Response(
            200, json={"items": listed, "total": len(listed), "next_offset": None}
        )


class OwnerTill(Counter):
    """The counter of test_roles_app, its server the stand-in `OwnerServer`."""

    def __init__(self, tmp_path, key, monkeypatch):
        super().__init__(tmp_path, key)
        self.server = OwnerServer()
        monkeypatch.setattr(self.app.session, "_client", self.server.client)


@pytest.fixture
def till(tmp_path, key, monkeypatch):
    till = OwnerTill(tmp_path, key, monkeypatch)
    yield till
    till.close()


def text_of(widget) -> str:
    return str(widget.render())


async def owner_tab(pilot, till) -> OwnerPane:
    """Olive (the owner, by PIN) opens F3, the Owner tab, and signs in with the account."""
    app = till.app
    await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
    await signed_in_as(pilot, till, "Olive")
    await pilot.press("f3")
    assert isinstance(app.screen, VendorScreen)
    app.screen.query_one(TabbedContent).active = "owner-tab"
    await pilot.pause()
    owner = app.screen.query_one(OwnerPane)
    owner.query_one("#owner-email", Input).focus()
    await pilot.press(*"olive@example.com", "enter", *"secret", "enter")
    said = owner.query_one("#owner-message")
    await until(pilot, lambda: text_of(said).startswith("Signed in."), "the owner signed in")
    return owner


async def enter_limits(pilot, owner: OwnerPane, **typed: str) -> str:
    """Type into the limit fields (by their ids), Enter in the last; what the tab says."""
    field = owner.query_one("#max_cache_age_hours", Input)
    for name, text in typed.items():
        field = owner.query_one(f"#{name}", Input)
        field.value = text
    field.focus()
    await pilot.press("enter")
    await pilot.pause()
    return text_of(owner.query_one("#owner-message"))


@pytest.mark.parametrize("hours", ["nan", "inf", "-inf", "NaN", "1e3", "abc", "", "24h", "-5"])
async def test_hours_that_are_not_a_plain_number_are_refused_in_words(till, hours):
    async with till.app.run_test(size=(120, 40)) as pilot:
        owner = await owner_tab(pilot, till)
        said = await enter_limits(pilot, owner, max_cache_age_hours=hours)
        assert said == HOURS_REFUSED
        assert till.server.sent == []


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ({"max_cache_age_hours": "0.01"}, HOURS_OUT),  # 36 seconds
        ({"max_cache_age_hours": "721"}, HOURS_OUT),
        ({"max_cache_age_hours": "9" * 30}, HOURS_OUT),
        (
            {"max_single_minor": "100000.01"},
            "Not saved: one redemption can be at most £100,000.00.",
        ),
        (
            {"max_unsynced_minor": "2000000"},
            "Not saved: all unsynced can be at most £1,000,000.00.",
        ),
        (
            {"max_per_card_minor": "-5"},
            "Not saved: one card: type an amount, e.g. 50.00 (0 for none).",
        ),
        (
            {"stale_cache_max_minor": "nan"},
            "Not saved: when stale: type an amount, e.g. 50.00 (0 for none).",
        ),
        (
            {"max_single_minor": "200"},
            "Not saved: one redemption (£200.00) cannot be more than one card (£100.00).",
        ),
        (
            {"max_per_card_minor": "600"},
            "Not saved: one card (£600.00) cannot be more than all unsynced (£500.00).",
        ),
    ],
)
async def test_limits_out_of_bounds_or_contradictory_are_refused_in_words(till, typed, said):
    async with till.app.run_test(size=(120, 40)) as pilot:
        owner = await owner_tab(pilot, till)
        assert await enter_limits(pilot, owner, **typed) == said
        assert till.server.sent == []


async def test_a_valid_save_says_saved_and_sends_seconds(till):
    async with till.app.run_test(size=(120, 40)) as pilot:
        owner = await owner_tab(pilot, till)
        intro = owner.query_one("#owner-intro")
        assert not intro.display  # signed in: no "sign in to see…" any more
        await enter_limits(pilot, owner, max_single_minor="40", max_cache_age_hours="0.5")
        said = owner.query_one("#owner-message")
        await until(pilot, lambda: text_of(said).startswith("Saved: "), "the limits saved")
        assert text_of(said) == (
            "Saved: one redemption £40.00 · one card £100.00 · all unsynced £500.00 · "
            "when stale £0.00 · stale after 0.5 hours. The tills take them at their next sync."
        )
        assert owner.query_one("#max_single_minor", Input).value == "40.00"
        assert owner.query_one("#max_cache_age_hours", Input).value == "0.5"
    assert till.server.sent == [
        LIMITS.model_copy(update={"max_single_minor": 4_000, "max_cache_age_seconds": 1800})
    ]


async def test_the_servers_text_draws_as_written(till):
    till.server.devices_list = [till.server.device("dev", "Front [/b] till")]
    till.server.incident_list = [
        IncidentPublic(
            id="inc1",
            kind=IncidentKind.EDIT_CONFLICT,
            subject_id="product0001",
            amount_minor=0,
            currency="GBP",
            detail="An edit of 'Scone [/b] [red]' was not applied",
            created_at=till.server.now,
            resolved_at=None,
            resolution="",
        )
    ]
    async with till.app.run_test(size=(120, 40)) as pilot:
        owner = await owner_tab(pilot, till)
        await pilot.pause()
        devices = owner.query_one("#device-table", DataTable)
        assert drawn(devices.get_row_at(0)[0]) == "Front [/b] till"
        incidents = owner.query_one("#incident-table", DataTable)
        assert drawn(incidents.get_row_at(0)[2]) == "An edit of 'Scone [/b] [red]' was not applied"
