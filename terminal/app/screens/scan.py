"""The cashier's screen: scan, see what it is, enter an amount, get a verdict, print or skip.

One text field does everything and always has focus, so a USB scanner's typing lands there
whatever the cashier was doing: a code typed or scanned into it starts a new scan; otherwise
it is the amount (gift card), Enter (voucher) or Enter to print the receipt.

Everything shown here is plain text, never markup: deal titles and names come from the
server, and a `[/b]` in one must show as typed, not crash the till.
"""

from __future__ import annotations

import time
from enum import Enum, auto
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Digits, Footer, Input, Static

from hardware import Receipt
from sync.money import Money, MoneyError
from sync.tokens import Kind
from sync.wire import MAX_AMOUNT

from ...core.amounts import MORE_THAN_ZERO, amount_problem, too_much
from ...core.kinds import Mode
from ...core.presented import NotATokenError, Presented, looks_like_token, present
from ...core.till import Verdict
from ..base import tillpoint
from ..messages import ScanSource, VerdictReached
from ..printing import print_receipt
from ..status import StatusLine, SuspensionNotice

VERDICT_HOLD = 4.0  # seconds a verdict stays up before the camera may replace it
# (an approval's receipt step stays until the cashier moves on; only another card may end
# it, after this hold)


class Step(Enum):
    IDLE = auto()  # waiting for a code
    AMOUNT = auto()  # a gift card: how much?
    CONFIRM = auto()  # a voucher: Enter to accept
    REDEEMING = auto()  # the till is deciding
    RECEIPT = auto()  # approved: Enter prints, Esc skips
    OFFER = auto()  # declined for want of balance: Enter alone takes what the card holds,
    # another amount typed is taken instead


PROMPTS = {
    Step.IDLE: "Scan a code (camera or USB scanner), or type it here and press Enter",
    Step.AMOUNT: "Amount to redeem, then Enter · Esc cancels",
    Step.CONFIRM: "Enter accepts the voucher · Esc cancels",
    Step.REDEEMING: "Checking…",
    Step.RECEIPT: "Enter prints a receipt · Esc skips · or scan the next code",
    Step.OFFER: "Enter alone takes what the card holds, or type another amount · Esc cancels",
}


class ScanScreen(Screen[None]):
    # F8 (and Ctrl+P) is the app's: shown once there is a receipt to print again.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel / skip", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.step = Step.IDLE
        self.presented: Presented | None = None
        self.last: VerdictReached | None = None
        self.receipt: Receipt | None = None  # the last approval's, as kept for reprints
        self.receipt_reference: str | None = None  # its reference, to say it was printed
        self.verdict_text = ""  # what the verdict box says, as plain text
        self.offer: Money | None = None  # what the card holds, offered after a decline
        self.hold_until = 0.0  # monotonic time before which the camera leaves a verdict be

    def compose(self) -> ComposeResult:
        # markup=False: what these show comes from the server and the keyboard.
        yield Static("Tillpoint · Scan", id="title", markup=False)
        yield SuspensionNotice()
        with Vertical(id="verdict-box"):
            yield Static("", id="banner", markup=False)
            yield Digits("", id="verdict-amount")
            yield Static("", id="verdict", markup=False)
        yield Static("", id="presented", markup=False)
        yield Static(PROMPTS[Step.IDLE], id="prompt", markup=False)
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
        if source is ScanSource.CAMERA and self.step in (Step.AMOUNT, Step.CONFIRM, Step.OFFER):
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
            if source is ScanSource.CAMERA and self.step is Step.RECEIPT:
                return  # not a card: the receipt step waits for the cashier
            self._leave_presented()  # whatever was shown before is not this code
            self._show_verdict("✘ NOT ACCEPTED", str(exc), declined=True)
            self._to(Step.IDLE)
            return
        if source is ScanSource.CAMERA and self._just_approved(presented):
            # The customer's phone still in view: the receipt waits for Enter or Esc.
            return
        self.offer = None
        lines = [f"{presented.label} {presented.short_id} ({source})"]
        if presented.kind is Kind.VOUCHER and presented.used:
            # The terminal knows already: no need to wait for Enter to say no.
            self.presented = None
            self.query_one("#presented", Static).update(lines[0])
            what = f" ({presented.deal_title})" if presented.deal_title else ""
            self._show_verdict(
                "✘ ALREADY USED",
                f"This voucher{what} has already been used: it works once. Hand nothing over.",
                declined=True,
            )
            self._to(Step.IDLE)
            return
        self.presented = presented
        if presented.kind is Kind.GIFT_CARD:
            lines.append(self._balance_line(presented.known_balance))
            self._to(Step.AMOUNT)
        else:
            assert presented.face_value is not None
            worth = f"worth {presented.face_value.format()}, single use"
            title = presented.deal_title
            lines.append(f"Hand over: {title} · {worth}" if title else worth.capitalize())
            self._to(Step.CONFIRM)
        self.query_one("#presented", Static).update("\n".join(lines))
        self._show_verdict("SCANNED", "Waiting for the cashier.")

    def _just_approved(self, presented: Presented) -> bool:
        """Whether `presented` is the card or voucher whose approval awaits its receipt."""
        return (
            self.step is Step.RECEIPT
            and self.last is not None
            and self.last.presented.subject_id == presented.subject_id
        )

    def _balance_line(self, known: Money | None) -> str:
        """What this till knows of a gift card's balance (£0.00 is known too: empty)."""
        if known is not None:
            empty = ": the card is empty" if known.minor == 0 else ""
            return f"Last known balance: {known.format()}{empty}"
        if tillpoint(self).session.status().online is False:
            return "Balance: not known to this till, and it is offline"
        return "Balance: the server will check"

    @on(Input.Submitted, "#entry")
    def submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.clear()
        if looks_like_token(text) or (self.step in (Step.IDLE, Step.RECEIPT) and text):
            # At the receipt step too: typing is moving on (Enter alone prints).
            self.take_code(text, ScanSource.TYPED)
        elif self.step is Step.AMOUNT:
            self._amount_entered(text)
        elif self.step is Step.CONFIRM:
            assert self.presented is not None
            assert self.presented.face_value is not None
            self._redeem(self.presented, self.presented.face_value)
        elif self.step is Step.RECEIPT:
            self._print_receipt()
        elif self.step is Step.OFFER:
            assert self.presented is not None
            if text:  # another amount: taken instead of what the card holds
                self.offer = None
                self._to(Step.AMOUNT)
                self._amount_entered(text)
                return
            assert self.offer is not None
            self._redeem(self.presented, self.offer)

    def _amount_entered(self, text: str) -> None:
        assert self.presented is not None
        try:
            amount = Money.parse(text, self.presented.currency)
        except MoneyError as exc:
            self._prompt(f"{amount_problem(text, exc, self.presented.currency)} · Esc cancels")
            return
        if amount.minor <= 0:
            self._prompt(f"{MORE_THAN_ZERO} · Esc cancels")
            return
        if amount.minor > MAX_AMOUNT:
            # A slip of the keys: no card holds that much. Ask again, offering what the
            # card holds when this terminal knows.
            slip = too_much(amount)
            known = self.presented.known_balance
            if known is not None and known.minor > 0:
                self.offer = known
                self._to(Step.OFFER)
                self._prompt(f"{slip}. Card holds {known.format()}: {_offer(known)}")
            else:
                self._prompt(f"{slip}: type the amount again · Esc cancels")
            return
        self._redeem(self.presented, amount)

    def action_cancel(self) -> None:
        if self.step is Step.REDEEMING:
            return  # the till is already deciding; its verdict will show
        self.hold_until = 0.0
        self.presented = None
        self.offer = None
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
        except Exception as exc:
            # Never leave the cashier at "Checking…": say no, and why, in words; the error
            # still ends the worker, for the log.
            reason = f"This till could not finish the check ({type(exc).__name__}): try again."
            self.post_message(
                VerdictReached(presented, amount, Verdict(False, Mode.OFFLINE, reason))
            )
            raise
        finally:
            session.release()
        self.post_message(VerdictReached(presented, amount, verdict))

    def on_verdict_reached(self, message: VerdictReached) -> None:
        verdict = message.verdict
        self.hold_until = time.monotonic() + VERDICT_HOLD
        detail = []
        if verdict.approved:
            self.last = message
            self.receipt = tillpoint(self).session.keep_receipt(
                verdict, message.presented, message.amount
            )
            self.receipt_reference = verdict.reference
            if verdict.deal_title:
                detail.append(f"Hand over: {verdict.deal_title}")
            detail.append(f"Redeemed {message.amount.format()} from {message.presented.short_id}")
            if message.presented.kind is Kind.GIFT_CARD and verdict.balance_after is not None:
                detail.append(f"Balance left: {verdict.balance_after.format()}")
            detail.append(verdict.reason)
            headline = f"✔ APPROVED ({verdict.mode})"
            self._show_verdict(headline, "\n".join(detail), amount=message.amount)
            self._leave_presented()
            self._to(Step.RECEIPT)
            tillpoint(self).refresh_bindings()  # F8 now has a receipt to print again
            return
        headline = f"✘ DECLINED ({verdict.mode})"
        detail.append(verdict.reason)
        if verdict.offer is not None:
            # The card stays: taking what it holds is one key away, not another scan.
            self.offer = verdict.offer
            detail.append(_offer(verdict.offer))
            self._show_verdict(headline, "\n".join(detail), declined=True)
            self._to(Step.OFFER)
            self._prompt(_offer(verdict.offer))
            return
        self._leave_presented()
        self._show_verdict(headline, "\n".join(detail), declined=True)
        self._to(Step.IDLE)

    def _leave_presented(self) -> None:
        self.query_one("#presented", Static).update("")
        self.presented = None
        self.offer = None

    def _print_receipt(self) -> None:
        assert self.receipt is not None
        if not print_receipt(self, self.receipt, "Receipt printed."):
            return
        if self.receipt_reference is not None:
            tillpoint(self).session.receipt_printed(self.receipt_reference)
        self.hold_until = 0.0
        self._to(Step.IDLE)

    def action_reprint(self) -> None:
        """The last receipt: at the receipt step, or when it was never printed (skipped,
        or the next card came first), the original; else a copy."""
        if self.step is Step.RECEIPT:
            self._print_receipt()
            return
        session = tillpoint(self).session
        unprinted = session.unprinted()
        if unprinted is not None:
            reference, receipt = unprinted
            if print_receipt(self, receipt, "Printed the last receipt."):
                session.receipt_printed(reference)
            return
        copy = session.reprint()
        if copy is None:
            self.notify("No receipt to print again yet: nothing was approved on this till.")
            return
        print_receipt(self, copy, "Printed a copy of the last receipt.")

    # -- what the cashier sees ---------------------------------------------------------------

    def _to(self, step: Step) -> None:
        self.step = step
        self._prompt(PROMPTS[step])
        entry = self.query_one("#entry", Input)
        entry.placeholder = {
            Step.AMOUNT: "amount, e.g. 12.50",
            Step.OFFER: "another amount, or Enter alone",
        }.get(step, "code")
        entry.focus()

    def _prompt(self, text: str) -> None:
        self.query_one("#prompt", Static).update(text)

    def _show_verdict(
        self,
        headline: str,
        detail: str,
        *,
        declined: bool = False,
        amount: Money | None = None,
    ) -> None:
        """A full-width banner in colour and words (APPROVED, DECLINED), the amount in big
        digits when one was taken, and the detail under them."""
        self.verdict_text = f"{headline}\n{detail}"
        self.query_one("#banner", Static).update(_spaced(headline))
        digits = self.query_one("#verdict-amount", Digits)
        digits.update(amount.format() if amount is not None else "")
        digits.display = amount is not None
        self.query_one("#verdict", Static).update(detail)
        box = self.query_one("#verdict-box", Vertical)
        box.set_class(declined, "declined")
        box.set_class(headline.startswith("✔"), "approved")


def _offer(holds: Money) -> str:
    """After a decline for want of balance: the offer, and that another amount may be typed
    instead (a typed amount is never taken as a yes to the offer)."""
    return f"Enter alone takes {holds.format()}, or type another amount · Esc cancels"


def _spaced(headline: str) -> str:
    """`✔ APPROVED (online)` as `✔  A P P R O V E D  (online)`: the words to read from afar
    stand out in the banner."""
    mark, _, rest = headline.partition(" ")
    if mark not in ("✔", "✘"):
        return headline
    words = rest.split(" ")
    loud = [word for word in words if word.isupper()]
    quiet = words[len(loud) :]
    return "  ".join([mark, "   ".join(" ".join(word) for word in loud), *quiet])
