"""The owner's part of the vendor screens: signed in at the terminal (online only), the
business's paired terminals, the incidents sync flagged (resolved here), and the offline
limits every terminal works to. The access token lives in memory and goes with the app."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static

from sync.money import Money, MoneyError

from ...core.session import OwnerError
from ..base import tillpoint

LIMIT_FIELDS = {
    "max_single_minor": "one redemption",
    "max_per_card_minor": "one card until it syncs",
    "max_unsynced_minor": "all not yet synced",
    "stale_cache_max_minor": "a redemption after the cache is stale",
}


class OwnerPane(Vertical):
    def __init__(self) -> None:
        super().__init__(id="owner")
        self.token: str | None = None
        self.incidents: dict[str, dict[str, Any]] = {}
        self.unpaid: list[str] = []  # invoice ids, oldest first
        self.currency = "GBP"

    def compose(self) -> ComposeResult:
        yield Static("Owner: sign in to see terminals and incidents, and set offline limits.")
        with Horizontal(id="owner-sign-in"):
            yield Input(placeholder="owner's email", id="owner-email")
            yield Input(placeholder="password", password=True, id="owner-password")
        yield Static("", id="owner-message")
        yield DataTable(id="device-table", cursor_type="row")
        yield DataTable(id="incident-table", cursor_type="row")
        yield Input(
            placeholder="what was done (Enter resolves the selected incident)", id="resolution"
        )
        yield Static("", id="billing")
        yield Input(
            placeholder="card number, Enter: pay the oldest unpaid invoice",
            id="pay-card",
            max_length=19,
            restrict=r"[0-9 ]*",
        )
        yield Static(
            "Offline limits: one redemption · one card · all unsynced · when stale · "
            "stale after (hours)",
            id="limit-labels",
        )
        with Horizontal(id="limit-inputs"):
            for name, label in LIMIT_FIELDS.items():
                yield Input(placeholder=label, id=name, classes="limit")
            yield Input(placeholder="stale after hours", id="max_cache_age_hours", classes="limit")

    def on_mount(self) -> None:
        self.query_one("#device-table", DataTable).add_columns(
            "Terminal", "Paired", "Last seen", "State"
        )
        self.query_one("#incident-table", DataTable).add_columns("Incident", "Amount", "Detail")
        self._signed_in(False)

    def _signed_in(self, yes: bool) -> None:
        self.query_one("#owner-sign-in").display = not yes
        widgets = ("#device-table", "#incident-table", "#resolution", "#limit-inputs", "#billing")
        self.query_one("#limit-labels").display = yes
        for widget in (*widgets, "#pay-card"):
            self.query_one(widget).display = yes

    def say(self, text: str) -> None:
        self.query_one("#owner-message", Static).update(text)

    # -- signing in -------------------------------------------------------------------------

    @on(Input.Submitted, "#owner-email")
    def email_entered(self) -> None:
        self.query_one("#owner-password", Input).focus()

    @on(Input.Submitted, "#owner-password")
    def password_entered(self) -> None:
        email = self.query_one("#owner-email", Input).value.strip()
        password = self.query_one("#owner-password", Input).value
        self.query_one("#owner-password", Input).clear()
        self.say("Signing in…")
        self.sign_in(email, password)

    @work(thread=True, group="owner", exclusive=True, exit_on_error=False)
    def sign_in(self, email: str, password: str) -> None:
        session = tillpoint(self).session
        try:
            token = session.sign_in_owner(email, password)
            loaded = self._load(token)
        except OwnerError as exc:
            self.app.call_from_thread(self.say, f"Not signed in: {exc}.")
            return
        finally:
            session.close()
        self.app.call_from_thread(self._show, token, *loaded)

    def _load(self, token: str) -> tuple[list[Any], list[Any], dict[str, Any], str]:
        session = tillpoint(self).session
        devices = session.owner_call("GET", "/devices", token)
        incidents = session.owner_call("GET", "/incidents", token)
        limits = session.owner_call("GET", "/offline-limits", token)
        return devices, incidents, limits, self._billing(token)

    def _billing(self, token: str) -> str:
        """The plan, how it stands, and the latest invoices, in a few lines."""
        session = tillpoint(self).session
        try:
            plan = session.owner_call("GET", "/subscription", token)
        except OwnerError:
            return "Billing: this business has no subscription."
        invoices = session.owner_call("GET", "/invoices", token)
        self.unpaid = [
            i["id"] for i in reversed(invoices) if i["status"] in {"open", "uncollectible"}
        ]
        limit = plan["plan"]["max_products"]
        lines = [
            f"Billing: {plan['plan']['name']}, {plan['monthly']['text']} a month, "
            f"{plan['products']} of {limit if limit is not None else 'unlimited'} products, "
            f"{plan['status']}{' (hibernating)' if plan['hibernating'] else ''}."
        ]
        for invoice in invoices[:3]:
            lines.append(
                f"  {invoice['issued_on']} {invoice['kind']:<7} {invoice['total']['text']:>9} "
                f"{invoice['status']}"
            )
        return "\n".join(lines)

    def _show(
        self,
        token: str,
        devices: list[Any],
        incidents: list[Any],
        limits: dict[str, Any],
        billing: str,
    ) -> None:
        self.token = token
        self.query_one("#billing", Static).update(billing)
        self._signed_in(True)
        products = tillpoint(self).session.store.products()
        self.currency = products[0].currency if products else self.currency
        table = self.query_one("#device-table", DataTable)
        table.clear()
        for device in devices:
            seen = (device["last_seen_at"] or "never")[:16].replace("T", " ")
            state = "revoked" if device["revoked"] else "active"
            table.add_row(device["name"], device["created_at"][:10], seen, state)
        incident_table = self.query_one("#incident-table", DataTable)
        incident_table.clear()
        self.incidents = {i["id"]: i for i in incidents if i["resolved_at"] is None}
        for incident in self.incidents.values():
            amount = Money.of(incident["amount_minor"], incident["currency"]).format()
            incident_table.add_row(
                incident["kind"].replace("_", " "), amount, incident["detail"], key=incident["id"]
            )
        for name in LIMIT_FIELDS:
            value = Money.of(int(limits[name]), self.currency).amount_text()
            self.query_one(f"#{name}", Input).value = value
        hours = int(limits["max_cache_age_seconds"]) / 3600
        self.query_one("#max_cache_age_hours", Input).value = f"{hours:g}"
        open_count = len(self.incidents)
        self.say(
            f"Signed in. {len(devices)} terminals, {open_count} open incidents. "
            "Limits: edit a field, Enter saves."
        )

    # -- incidents and limits ------------------------------------------------------------------

    @on(Input.Submitted, "#resolution")
    def resolve(self, event: Input.Submitted) -> None:
        table = self.query_one("#incident-table", DataTable)
        if not self.incidents or self.token is None:
            self.say("No open incident to resolve.")
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        text = event.value.strip()
        if not text:
            self.say("Say what was done about it, then Enter.")
            return
        event.input.clear()
        self.call_owner("POST", f"/incidents/{row_key.value}/resolve", {"resolution": text})

    @on(Input.Submitted, "#pay-card")
    def pay(self, event: Input.Submitted) -> None:
        card = event.value.replace(" ", "")
        event.input.clear()
        if not self.unpaid:
            self.say("Nothing to pay: every invoice is paid.")
            return
        self.call_owner("POST", f"/invoices/{self.unpaid[0]}/pay", {"card_number": card})

    @on(Input.Submitted, ".limit")
    def limits_entered(self) -> None:
        body: dict[str, object] = {}
        try:
            for name in LIMIT_FIELDS:
                text = self.query_one(f"#{name}", Input).value
                body[name] = Money.parse(text, self.currency).minor
            hours = float(self.query_one("#max_cache_age_hours", Input).value)
        except (MoneyError, ValueError) as exc:
            self.say(f"Not saved: {exc}. Amounts like 20.00, hours like 24.")
            return
        body["max_cache_age_seconds"] = round(hours * 3600)
        self.call_owner("PUT", "/offline-limits", body)

    @work(thread=True, group="owner", exclusive=True, exit_on_error=False)
    def call_owner(self, method: str, path: str, body: dict[str, object]) -> None:
        session = tillpoint(self).session
        assert self.token is not None
        try:
            session.owner_call(method, path, self.token, body)
            loaded = self._load(self.token)
        except OwnerError as exc:
            self.app.call_from_thread(self.say, f"Not saved: {exc}.")
            return
        finally:
            session.close()
        self.app.call_from_thread(self._show, self.token, *loaded)
        self.app.call_from_thread(tillpoint(self).action_sync_now)  # new limits reach the till
