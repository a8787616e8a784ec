"""The cashier's screen: scan, see what it is, enter an amount, get a verdict, print or skip.

One text field does everything and always has focus, so a USB scanner's typing lands there
whatever the cashier was doing: a code typed or scanned into it starts a new scan; otherwise
it is the amount (gift card), Enter (voucher) or Enter to print the receipt.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from enum import Enum, auto
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from hardware import PrinterError, Receipt
from sync.money import Money, MoneyError
from sync.tokens import Kind

from ...core.presented import NotATokenError, Presented, looks_like_token, present
from ..base import tillpoint
from ..messages import ScanSource, VerdictReached
from ..status import StatusLine

VERDICT_HOLD = 4.0  # seconds a verdict stays up before the camera may replace it


class Step(Enum):
    IDLE = auto()  # waiting for a code
    AMOUNT = auto()  # a gift card: how much?
    CONFIRM = auto()  # a voucher: Enter to accept
    REDEEMING = auto()  # the till is deciding
    RECEIPT = auto()  # approved: Enter prints, Esc skips


PROMPTS = {
    Step.IDLE: "Scan a code (camera or USB scanner), or type it here and press Enter",
    Step.AMOUNT: "Amount to redeem, then Enter · Esc cancels",
    Step.CONFIRM: "Enter accepts the voucher · Esc cancels",
    Step.REDEEMING: "Checking…",
    Step.RECEIPT: "Enter prints a receipt · Esc skips · or scan the next code",
}


class ScanScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel / skip")]

    def __init__(self) -> None:
        super().__init__()
        self.step = Step.IDLE
        self.presented: Presented | None = None
        self.last: VerdictReached | None = None
        self.verdict_text = ""  # what the verdict box says, as plain text
        self.hold_until = 0.0  # monotonic time before which the camera leaves a verdict be

    def compose(self) -> ComposeResult:
        yield Static("Tillpoint · Scan", id="title")
        yield Static("", id="verdict")
        yield Static("", id="presented")
        yield Static(PROMPTS[Step.IDLE], id="prompt")
        yield Input(placeholder="code or amount", id="entry")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self._show_verdict("READY", "Scan a gift card or a voucher.")

    def on_screen_resume(self) -> None:
        self.query_one("#entry", Input).focus()

    # -- input ---------------------------------------------------------------------------

    def take_code(self, code: str, source: ScanSource = ScanSource.TYPED) -> None:
        """A code from the camera, a USB scanner or the keyboard."""
        if self.step is Step.REDEEMING:
            self.notify("Still checking the last code: scan again in a moment.")
            return
        if source is ScanSource.CAMERA and self.step in (Step.AMOUNT, Step.CONFIRM):
            # A code drifting past the camera must not swap the card the cashier is
            # serving; typing or a USB scan is deliberate and does (Esc also frees it).
            return
        if source is not ScanSource.CAMERA:
            self.hold_until = 0.0  # the cashier has moved on
        elif time.monotonic() < self.hold_until:
            return  # the verdict stays up long enough to be read (Enter or Esc moves on)
        try:
            presented = present(code, tillpoint(self).session.store)
        except NotATokenError as exc:
            self._show_verdict("✘ NOT ACCEPTED", str(exc), declined=True)
            self._to(Step.IDLE)
            return
        self.presented = presented
        lines = [f"{presented.label} {presented.short_id} ({source})"]
        if presented.kind is Kind.GIFT_CARD:
            known = presented.known_balance
            lines.append(
                f"Last known balance: {known.format()}"
                if known
                else "Balance: the server will check"
            )
            self._to(Step.AMOUNT)
        else:
            assert presented.face_value is not None
            lines.append(f"Worth {presented.face_value.format()}, single use")
            self._to(Step.CONFIRM)
        self.query_one("#presented", Static).update("\n".join(lines))
        self._show_verdict("SCANNED", "Waiting for the cashier.")

    @on(Input.Submitted, "#entry")
    def submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.clear()
        if looks_like_token(text) or (self.step is Step.IDLE and text):
            self.take_code(text, ScanSource.TYPED)
        elif self.step is Step.AMOUNT:
            self._amount_entered(text)
        elif self.step is Step.CONFIRM:
            assert self.presented is not None
            assert self.presented.face_value is not None
            self._redeem(self.presented, self.presented.face_value)
        elif self.step is Step.RECEIPT:
            self._print_receipt()

    def _amount_entered(self, text: str) -> None:
        assert self.presented is not None
        try:
            amount = Money.parse(text, self.presented.currency)
        except MoneyError as exc:
            self._prompt(f"{exc}. Type the amount, e.g. 12.50, then Enter · Esc cancels")
            return
        if amount.minor <= 0:
            self._prompt("The amount must be more than zero · Esc cancels")
            return
        self._redeem(self.presented, amount)

    def action_cancel(self) -> None:
        if self.step is Step.REDEEMING:
            return  # the till is already deciding; its verdict will show
        self.hold_until = 0.0
        self.presented = None
        self.query_one("#presented", Static).update("")
        if self.step is not Step.RECEIPT:
            self._show_verdict("READY", "Cancelled. Scan a gift card or a voucher.")
        self._to(Step.IDLE)

    # -- redeeming ---------------------------------------------------------------------

    def _redeem(self, presented: Presented, amount: Money) -> None:
        self._to(Step.REDEEMING)
        self._show_verdict("…", f"Checking {amount.format()} on {presented.short_id}…")
        self.redeem_in_background(presented, amount)

    @work(thread=True, exclusive=True, exit_on_error=False, group="redeem")
    def redeem_in_background(self, presented: Presented, amount: Money) -> None:
        session = tillpoint(self).session
        try:
            if presented.kind is Kind.GIFT_CARD:
                verdict = session.redeem(presented.token, amount.minor)
            else:
                verdict = session.redeem_voucher(presented.token)
        finally:
            session.release()
        self.post_message(VerdictReached(presented, amount, verdict))

    def on_verdict_reached(self, message: VerdictReached) -> None:
        verdict = message.verdict
        self.last = message
        self.hold_until = time.monotonic() + VERDICT_HOLD
        detail = [verdict.reason]
        if verdict.approved:
            detail.append(f"Redeemed {message.amount.format()} from {message.presented.short_id}")
            if message.presented.kind is Kind.GIFT_CARD and verdict.balance_after is not None:
                detail.append(f"Balance left: {verdict.balance_after.format()}")
            headline = f"✔ APPROVED ({verdict.mode})"
            self._to(Step.RECEIPT)
        else:
            headline = f"✘ DECLINED ({verdict.mode})"
            self._to(Step.IDLE)
        self.query_one("#presented", Static).update("")
        self.presented = None
        self._show_verdict(headline, "\n".join(detail), declined=not verdict.approved)

    def _print_receipt(self) -> None:
        assert self.last is not None
        app = tillpoint(self)
        try:
            app.printer.print_receipt(receipt_for(self.last, app.session.clock()))
        except PrinterError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.notify("Receipt printed.")
        self.hold_until = 0.0
        self._to(Step.IDLE)

    # -- what the cashier sees ---------------------------------------------------------------

    def _to(self, step: Step) -> None:
        self.step = step
        self._prompt(PROMPTS[step])
        entry = self.query_one("#entry", Input)
        entry.placeholder = "amount, e.g. 12.50" if step is Step.AMOUNT else "code"
        entry.focus()

    def _prompt(self, text: str) -> None:
        self.query_one("#prompt", Static).update(text)

    def _show_verdict(self, headline: str, detail: str, *, declined: bool = False) -> None:
        self.verdict_text = f"{headline}\n{detail}"
        verdict = self.query_one("#verdict", Static)
        verdict.update(self.verdict_text)
        verdict.set_class(declined, "declined")
        verdict.set_class(headline.startswith("✔"), "approved")


def receipt_for(reached: VerdictReached, now: datetime) -> Receipt:
    verdict, presented = reached.verdict, reached.presented
    lines = [(presented.label, presented.short_id), ("Redeemed", reached.amount.format())]
    if presented.kind is Kind.GIFT_CARD and verdict.balance_after is not None:
        lines.append(("Balance left", verdict.balance_after.format()))
    return Receipt(
        "Tillpoint",
        lines,
        heading=f"{presented.label} redeemed",
        footer=[
            f"Approved {verdict.mode}",
            now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        ],
    )
