"""The owner's part of the vendor screens: signed in at the terminal (online only), today's
takings, the business's paired terminals, the incidents sync flagged (resolved here), and
the offline limits every terminal works to. The access token lives in memory and goes with
the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from sync.money import Money

from ...core import catalogue
from ...core.kinds import in_words
from ...core.owner import (
    LIMIT_NAMES,
    Billing,
    Incident,
    LimitsError,
    OwnerDesk,
    OwnerOverview,
    Takings,
    limits_text,
    typed_limits,
)
from ...core.session import OwnerError
from ...core.words import count
from ..base import tillpoint

TAKINGS_EVERY = 60.0  # seconds between asking the server for today's takings again

LIMIT_FIELDS = {
    "max_single_minor": "one redemption",
    "max_per_card_minor": "one card until it syncs",
    "max_unsynced_minor": "all not yet synced",
    "stale_cache_max_minor": "a redemption after the cache is stale",
}
LIMIT_MOST = 20  # characters typed in a limit: more than any limit the server takes


def cell(text: str) -> Text:
    """A table cell shown as it is: names and details come from the server, and a plain
    string in a DataTable is read as markup."""
    return Text(text)


def reason(error: Exception) -> str:
    """An error's words without the full stop the sentence around them adds."""
    return str(error).rstrip(".")


class OwnerPane(Vertical):
    def __init__(self) -> None:
        super().__init__(id="owner")
        self.desk: OwnerDesk | None = None
        self.incidents: dict[str, Incident] = {}
        self.unpaid: list[str] = []  # invoice ids, oldest first
        self.currency = "GBP"

    def compose(self) -> ComposeResult:
        yield Static(
            "Owner: sign in to see terminals and incidents, and set offline limits.",
            id="owner-intro",
        )
        with Horizontal(id="owner-sign-in"):
            yield Input(placeholder="owner's email", id="owner-email")
            yield Input(placeholder="password", password=True, id="owner-password")
        # Text from the server (names, reasons, plans) is shown as it is, never as markup.
        yield Static("", id="owner-message", markup=False)
        yield Static("", id="takings", markup=False)
        yield DataTable(id="device-table", cursor_type="row")
        yield DataTable(id="incident-table", cursor_type="row")
        yield Input(
            placeholder="what was done (Enter resolves the selected incident)", id="resolution"
        )
        yield Static("", id="billing", markup=False)
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
                yield Input(placeholder=label, id=name, classes="limit", max_length=LIMIT_MOST)
            yield Input(
                placeholder="stale after hours",
                id="max_cache_age_hours",
                classes="limit",
                max_length=LIMIT_MOST,
            )

    def on_mount(self) -> None:
        self.query_one("#device-table", DataTable).add_columns(
            "Terminal", "Paired", "Last seen", "State"
        )
        self.query_one("#incident-table", DataTable).add_columns("Incident", "Amount", "Detail")
        self._signed_in(False)
        self.set_interval(TAKINGS_EVERY, self.refresh_takings)
        token = tillpoint(self).session.owner_token
        if token is not None:  # the owner signed in at the till with the account: no asking again
            self.desk = OwnerDesk(tillpoint(self).session, token)
            self.say("Signed in with the owner's account at this till: loading…")
            self.change(self.desk, lambda desk: None, changed=False)

    def _signed_in(self, yes: bool) -> None:
        self.query_one("#owner-sign-in").display = not yes
        self.query_one("#owner-intro").display = not yes
        widgets = (
            "#takings",
            "#device-table",
            "#incident-table",
            "#resolution",
            "#limit-inputs",
            "#billing",
        )
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

    @dataclass
    class Loaded(Message):
        """The owner is signed in, or an owner's change went through: what to show now."""

        desk: OwnerDesk
        overview: OwnerOverview
        changed: bool  # a change was saved (the till syncs to take it)
        said: str = ""  # what to say of it; "" for how the business stands

    @dataclass
    class Failed(Message):
        """Signing in or an owner's call did not work; `text` says why."""

        text: str

    @work(thread=True, exclusive=True, exit_on_error=False, group="owner")
    def sign_in(self, email: str, password: str) -> None:
        session = tillpoint(self).session
        try:
            desk = OwnerDesk.sign_in(session, email, password)
            self.post_message(self.Loaded(desk, desk.overview(), changed=False))
        except OwnerError as exc:
            self.post_message(self.Failed(f"Not signed in: {reason(exc)}."))
        finally:
            session.release()

    @work(thread=True, exclusive=True, exit_on_error=False, group="owner")
    def change(
        self,
        desk: OwnerDesk,
        action: Callable[[OwnerDesk], None],
        changed: bool = True,
        said: str = "",
    ) -> None:
        """Run one of the desk's changes (none: `changed` False), then load what to show,
        saying `said` when given."""
        try:
            action(desk)
            self.post_message(self.Loaded(desk, desk.overview(), changed, said))
        except OwnerError as exc:
            failed = "Not saved" if changed else "Not loaded"
            self.post_message(self.Failed(f"{failed}: {reason(exc)}."))
        finally:
            desk.session.release()

    @dataclass
    class TakingsLoaded(Message):
        """Today's takings, or why they cannot be shown (offline)."""

        takings: Takings

    def refresh_takings(self) -> None:
        """Ask for today's takings again, while the owner is signed in here."""
        if self.desk is not None:
            self.load_takings(self.desk)

    @work(thread=True, exclusive=True, exit_on_error=False, group="owner-takings")
    def load_takings(self, desk: OwnerDesk) -> None:
        try:
            self.post_message(self.TakingsLoaded(desk.takings()))
        finally:
            desk.session.release()

    def on_owner_pane_takings_loaded(self, message: TakingsLoaded) -> None:
        self.query_one("#takings", Static).update(message.takings.line())

    def on_owner_pane_failed(self, message: Failed) -> None:
        self.say(message.text)

    def on_owner_pane_loaded(self, message: Loaded) -> None:
        self._show(message.desk, message.overview, message.said)
        self.load_takings(message.desk)
        if message.changed:
            tillpoint(self).action_sync_now()  # new limits reach the till

    def _show(self, desk: OwnerDesk, overview: OwnerOverview, said: str = "") -> None:
        self.desk = desk
        self.query_one("#billing", Static).update(self._billing(overview.billing))
        self._signed_in(True)
        self.currency = catalogue.currency(tillpoint(self).session.store)
        table = self.query_one("#device-table", DataTable)
        table.clear()
        for device in overview.devices:
            seen = f"{device.last_seen_at:%Y-%m-%d %H:%M}" if device.last_seen_at else "never"
            state = "revoked" if device.revoked else "active"
            table.add_row(
                cell(device.name), cell(f"{device.paired_at:%Y-%m-%d}"), cell(seen), cell(state)
            )
        incident_table = self.query_one("#incident-table", DataTable)
        incident_table.clear()
        self.incidents = {incident.id: incident for incident in overview.open_incidents}
        for incident in self.incidents.values():
            incident_table.add_row(
                cell(in_words(incident.kind)),
                cell(incident.amount.format()),
                cell(incident.detail),
                key=incident.id,
            )
        limits = overview.limits
        for name in LIMIT_FIELDS:
            value = Money.of(getattr(limits, name), self.currency).amount_text()
            self.query_one(f"#{name}", Input).value = value
        hours = limits.max_cache_age_seconds / 3600
        self.query_one("#max_cache_age_hours", Input).value = f"{hours:g}"
        self.say(
            said
            or f"Signed in. {count(len(overview.devices), 'terminal')}, "
            f"{count(len(self.incidents), 'open incident')}. Limits: edit a field, Enter saves."
        )

    def _billing(self, billing: Billing | None) -> str:
        """The plan, how it stands, and the latest invoices, in a few lines."""
        if billing is None:
            self.unpaid = []
            return "Billing: this business has no subscription."
        self.unpaid = [invoice.id for invoice in billing.unpaid]
        limit = billing.max_products
        lines = [
            f"Billing: {billing.plan}, {billing.monthly.format()} a month, "
            f"{billing.products} of {limit if limit is not None else 'unlimited'} products, "
            f"{in_words(billing.status)}{' (hibernating)' if billing.hibernating else ''}."
        ]
        for invoice in billing.invoices[:3]:
            lines.append(
                f"  {invoice.issued_on} {in_words(invoice.kind):<7} {invoice.total.format():>9} "
                f"{in_words(invoice.status)}"
            )
        return "\n".join(lines)

    # -- incidents and limits ------------------------------------------------------------------

    @on(Input.Submitted, "#resolution")
    def resolve(self, event: Input.Submitted) -> None:
        table = self.query_one("#incident-table", DataTable)
        if not self.incidents or self.desk is None:
            self.say("No open incident to resolve.")
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        text = event.value.strip()
        if not text:
            self.say("Say what was done about it, then Enter.")
            return
        event.input.clear()
        incident_id = str(row_key.value)
        self.change(self.desk, lambda desk: desk.resolve_incident(incident_id, text))

    @on(Input.Submitted, "#pay-card")
    def pay(self, event: Input.Submitted) -> None:
        card = event.value.replace(" ", "")
        event.input.clear()
        if not self.unpaid or self.desk is None:
            self.say("Nothing to pay: every invoice is paid.")
            return
        invoice_id = self.unpaid[0]
        self.change(self.desk, lambda desk: desk.pay_invoice(invoice_id, card))

    @on(Input.Submitted, ".limit")
    def limits_entered(self) -> None:
        """Check the limits as typed, here and in words (`typed_limits`), then save them."""
        if self.desk is None:
            return
        amounts = {name: self.query_one(f"#{name}", Input).value for name in LIMIT_NAMES}
        hours = self.query_one("#max_cache_age_hours", Input).value
        try:
            limits = typed_limits(amounts, hours, self.currency)
        except LimitsError as exc:
            self.say(f"Not saved: {exc}.")
            return
        self.say("Saving the limits…")
        said = (
            f"Saved: {limits_text(limits, self.currency)}. The tills take them at their next sync."
        )
        self.change(self.desk, lambda desk: desk.set_offline_limits(limits), said=said)
