"""Today's redemptions at this terminal, newest first, with the day's totals."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from sync.money import Money

from ..base import tillpoint
from ..status import StatusLine


class HistoryScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("Tillpoint · Today's redemptions", id="title")
        yield Static("", id="totals")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Time", "What", "Code", "Amount", "Decided", "Balance left")

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        app = tillpoint(self)
        now = app.session.clock()
        midnight = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        entries = app.session.store.journal(since=midnight)
        table = self.query_one(DataTable)
        table.clear()
        totals: dict[str, Money] = {}
        for entry in entries:
            table.add_row(
                entry.at.astimezone().strftime("%H:%M"),
                "Gift card" if entry.kind == "gift_card" else "Voucher",
                "…" + entry.subject_id[-6:],
                entry.amount.format(),
                entry.mode,
                entry.balance_after.format() if entry.balance_after else "",
            )
            code = entry.amount.currency.code
            totals[code] = totals[code] + entry.amount if code in totals else entry.amount
        summary = ", ".join(total.format() for total in totals.values()) or "nothing yet"
        self.query_one("#totals", Static).update(
            f"{len(entries)} redemptions today · total {summary}"
        )
