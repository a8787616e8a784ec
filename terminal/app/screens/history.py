"""Today's redemptions at this terminal, newest first, with the day's totals; a recent
gift-card redemption can be voided here (V), within the void window.

Names come from the server: they are shown as typed, never read as markup."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from sync.money import Money

from ...core.kinds import RedemptionKind
from ...core.store import JournalEntry
from ...core.till import VOUCHER_NOT_VOIDABLE, VoidRefusedError
from ...core.words import count
from ..base import tillpoint
from ..printing import print_receipt
from ..questions import YesOrNo, answers
from ..status import StatusLine


class ConfirmVoidScreen(YesOrNo):
    """Y voids, N or Esc keeps."""

    BINDINGS: ClassVar[list[BindingType]] = answers("void it")

    def __init__(self, entry: JournalEntry) -> None:
        super().__init__(
            f"Void {entry.amount.format()} taken from gift card "
            f"…{entry.subject_id[-6:]} at {entry.at.astimezone():%H:%M}?\n"
            "The amount goes back on the card.\n\nY: void it    N or Esc: keep it"
        )
        self.entry = entry


class HistoryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "void", "Void"),
        Binding("p", "reprint", "Reprint"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, JournalEntry] = {}

    def compose(self) -> ComposeResult:
        yield Static("Tillpoint · Today's redemptions", id="title", markup=False)
        yield Static("", id="totals", markup=False)
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Time", "What", "Code", "Amount", "Decided", "Left", "By")

    def on_screen_resume(self) -> None:
        self.reload()
        self.query_one(DataTable).focus()

    def reload(self) -> None:
        app = tillpoint(self)
        now = app.session.clock()
        midnight = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        entries = app.session.store.journal(since=midnight)
        table = self.query_one(DataTable)
        selected = self._selected_key()
        table.clear()
        self.entries = {str(entry.id): entry for entry in entries}
        totals: dict[str, Money] = {}
        for entry in entries:
            table.add_row(
                entry.at.astimezone().strftime("%H:%M"),
                "Gift card" if entry.kind is RedemptionKind.GIFT_CARD else "Voucher",
                "…" + entry.subject_id[-6:],
                entry.amount.format() + (" VOIDED" if entry.voided else ""),
                entry.mode,
                # £0.00 is what an emptied card has left, not a blank.
                "" if entry.balance_after is None else entry.balance_after.format(),
                _cell(entry.cashier or "till"),
                key=str(entry.id),
            )
            if entry.voided:
                continue
            code = entry.amount.currency.code
            totals[code] = totals[code] + entry.amount if code in totals else entry.amount
        if selected in self.entries:  # the cashier's row stays selected after a sync
            table.move_cursor(row=table.get_row_index(selected))
        summary = ", ".join(total.format() for total in totals.values()) or "nothing yet"
        self.query_one("#totals", Static).update(
            f"{count(len(entries), 'redemption')} today · total {summary} · "
            "V voids the selected one, P prints its receipt again"
        )

    def _selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def action_reprint(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.notify("No receipt to print: nothing was redeemed today.")
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        entry = self.entries[str(row_key.value)]
        session = tillpoint(self).session
        unprinted = session.unprinted(entry.attempt_key)
        if unprinted is not None:  # skipped at the scan screen: this is the original
            reference, original = unprinted
            if print_receipt(self, original, "Printed its receipt."):
                session.receipt_printed(reference)
            return
        receipt = session.reprint(entry.attempt_key)
        if receipt is None:  # approved before this Tillpoint kept receipts
            self.notify("No receipt was kept for that one: it predates reprints.")
            return
        print_receipt(self, receipt, "Printed a copy of its receipt.")

    def action_void(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.notify("Nothing to void today.")
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        entry = self.entries[str(row_key.value)]
        if entry.voided:  # nothing to ask: it cannot be voided twice
            self.notify("That redemption is already voided: pick another.", severity="warning")
            return
        if entry.kind is not RedemptionKind.GIFT_CARD:
            self.notify(
                VOUCHER_NOT_VOIDABLE,
                severity="warning",
            )
            return

        def answered(answer: bool | None) -> None:
            if answer:
                self._void(entry)

        self.app.push_screen(ConfirmVoidScreen(entry), answered)

    def _void(self, entry: JournalEntry) -> None:
        app = tillpoint(self)
        try:
            amount = app.session.void(entry)
        except VoidRefusedError as exc:
            self.notify(str(exc), severity="warning", timeout=8, markup=False)
            return
        self.notify(f"Voided: {amount.format()} is back on the card; it syncs next.")
        self.reload()
        app.action_sync_now()


def _cell(text: str) -> str:
    """Stored text for a table cell, which reads a str as Rich markup: escaped, so that it
    shows as typed. (Rich's `escape` also doubles a trailing backslash, for markup that
    follows; nothing follows here, and the space keeps it from doing so.)"""
    return escape(text + " ")[:-1]
