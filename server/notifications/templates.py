"""What each kind of notification says: a title, a plain-text body and an HTML body."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from sync.money import Money

__all__ = [
    "Message",
    "billing_notice",
    "card_bought",
    "card_expiring",
    "card_redeemed",
    "club_handout",
    "contest_result",
    "contest_won",
    "donation_receipt",
    "donation_refunded",
    "email_verification",
    "gift_bought",
    "gift_claimed_by_recipient",
    "gift_claimed_into_account",
    "gift_receipt",
    "gift_received",
    "incident_opened",
    "low_balance",
    "new_deal",
    "new_device",
    "password_changed",
    "password_reset",
    "saved_deal_ending",
    "voucher_expiring",
    "webhook_disabled",
]


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    text: str
    html: str


def _message(title: str, lines: list[str], image: tuple[str, str] | None = None) -> Message:
    """`image`: an inline image's content id and its text alternative, shown last."""
    text = "\n\n".join(lines) + "\n\n— Tillpoint\n"
    # A line's own line breaks (a gift's message) stay line breaks in the HTML part too.
    paragraphs = "".join(f"<p>{escape(line).replace(chr(10), '<br>')}</p>" for line in lines)
    if image is not None:
        cid, alt = image
        paragraphs += f'<p><img src="cid:{escape(cid)}" alt="{escape(alt)}" width="264"></p>'
    html = (
        '<!doctype html><html><body style="font-family: sans-serif">'
        f"<h1>{escape(title)}</h1>{paragraphs}<p>— Tillpoint</p></body></html>"
    )
    return Message(title, text, html)


def card_bought(business: str, amount: Money, card_id: str) -> Message:
    return _message(
        f"Your {business} gift card",
        [
            f"You bought a gift card for {business} holding {amount}.",
            f"Card {card_id} is in your wallet in the app: show its code at the till.",
        ],
    )


def club_handout(club: str, what: str, business: str) -> Message:
    return _message(
        f"{club} gave you a {what}",
        [
            f"{club} handed you a {what} of {business}, bought with the club's fund.",
            "It is in your wallet in the app: show its code at the till.",
        ],
    )


def donation_receipt(club: str, amount: Money, paid_with: str, donation_id: str) -> Message:
    return _message(
        f"Your donation to {club}",
        [
            f"Thank you: you gave {amount} to {club}, {paid_with}.",
            f"Receipt {donation_id}. Your receipts are under Donations in the app.",
        ],
    )


def donation_refunded(club: str, amount: Money, back_to: str, donation_id: str) -> Message:
    return _message(
        f"Your donation to {club} was refunded",
        [
            f"Your donation {donation_id} of {amount} to {club} was refunded {back_to}.",
        ],
    )


def card_redeemed(business: str, amount: Money, balance: Money, card_id: str) -> Message:
    return _message(
        f"Receipt: {amount} at {business}",
        [
            f"{amount} was spent from your {business} gift card ({card_id}).",
            f"It now holds {balance}.",
        ],
    )


def low_balance(business: str, balance: Money, card_id: str) -> Message:
    return _message(
        f"Your {business} gift card is running low",
        [f"Your {business} gift card ({card_id}) holds {balance}."],
    )


def incident_opened(business: str, kind: str, detail: str) -> Message:
    return _message(
        f"An incident at {business} needs you",
        [
            f"Reconciliation found something to look at ({kind.replace('_', ' ')}).",
            detail,
            "Open the incidents in the vendor app to resolve it.",
        ],
    )


def _in_days(days: int) -> str:
    return "tomorrow" if days == 1 else f"in {days} days"


def card_expiring(business: str, balance: Money, card_id: str, days: int, on: datetime) -> Message:
    return _message(
        f"Your {business} gift card expires {_in_days(days)}",
        [
            f"Your {business} gift card ({card_id}) still holds {balance}, and it expires on "
            f"{on:%d %B %Y}.",
            "Spend it before then: show its code at the till. What is left at expiry is lost.",
        ],
    )


def voucher_expiring(business: str, deal: str, voucher_id: str, days: int, on: datetime) -> Message:
    return _message(
        f"Your voucher for {deal} expires {_in_days(days)}",
        [
            f"Your {business} voucher for {deal} ({voucher_id}) has not been used yet, and it "
            f"expires on {on:%d %B %Y}.",
            "Show its code at the till before then.",
        ],
    )


def saved_deal_ending(business: str, deal: str, ends: datetime) -> Message:
    return _message(
        f"A deal you saved ends soon: {deal}",
        [
            f"{deal} at {business} ends on {ends:%d %B at %H:%M} UTC.",
            "Buy it in the app before then if you want it.",
        ],
    )


def new_deal(business: str, deal: str, price: Money, why: str) -> Message:
    return _message(
        f"New at {business}: {deal}",
        [f"{business} has a new deal: {deal}, for {price}.", why, "See it in the app."],
    )


def webhook_disabled(business: str, url: str, reason: str) -> Message:
    return _message(
        f"A webhook endpoint of {business} was turned off",
        [
            f"Tillpoint stopped sending webhooks to {url}: {reason}.",
            "Its deliveries wait. Fix the receiver, then enable the endpoint again "
            "(PATCH it with enabled: true): what waits is sent, and new events with it. "
            "Each delivery's attempts, with the answers, are in its delivery log.",
        ],
    )


_PAY = (
    "Pay the invoice at one of your tills: sign in with your owner account (F4), open the "
    "vendor screens (F3), then the Owner tab, and type a payment card's number at the invoice."
)
_NEW_CARD = (
    "If the card on file no longer works, pay this invoice with another card as above, and "
    "set that card as the subscription's card in the vendor app for the invoices after it."
)
# What a notice asks of its vendor, by the notice's kind (server/billing); other kinds
# (paid, restored, a plan change…) only inform and their own words suffice.
_BILLING_TITLES = {
    "invoice": "New Tillpoint invoice for {name}",
    "payment_failed": "Payment failed for {name}",
    "final_notice": "Pay now or {name} is suspended",
    "suspended": "{name} is suspended for an unpaid invoice",
    "restored": "{name} is back in good standing",
    "over_limit": "{name} lists more products than its plan allows",
}
_BILLING_NEXT = {
    "payment_failed": [_PAY, _NEW_CARD],
    "final_notice": [_PAY],
    "suspended": [_PAY],
    "invoice": [
        "If the business has a payment card set, it is charged today: nothing to do. "
        "Otherwise pay it at one of your tills: sign in with your owner account (F4), open "
        "the vendor screens (F3), then the Owner tab, and type a payment card's number at "
        "the invoice."
    ],
}


def billing_notice(business: str, kind: str, notice: str) -> Message:
    """A billing notice to the business's owner: what happened (the notice's own words)
    and, when it asks something of them, what to do next."""
    title = _BILLING_TITLES.get(kind, "Billing notice for {name}").format(name=business)
    steps = _BILLING_NEXT.get(kind, [])
    listed = "The Owner tab shows the plan, how it stands and the latest invoices."
    return _message(title, [notice, *steps, listed])


def email_verification(code: str, link: str, hours: int) -> Message:
    return _message(
        "Confirm your email for Tillpoint",
        [
            f"Your code is {code}. Enter it in the app, or open this link: {link}",
            f"It works once, for {hours} hours. If you did not sign up to Tillpoint, "
            "ignore this email: nothing more will be sent to you.",
        ],
    )


def password_reset(code: str, link: str, minutes: int) -> Message:
    return _message(
        "Reset your Tillpoint password",
        [
            f"Your code is {code}. Enter it in the app with a new password, or open this "
            f"link: {link}",
            f"It works once, for {minutes} minutes. If you did not ask to reset your "
            "password, ignore this email: your password stays as it is.",
        ],
    )


def new_device(agent: str, address: str, when: datetime) -> Message:
    return _message(
        "New sign-in to your Tillpoint account",
        [
            f"Your account was signed in from a device it had not used before ({agent}, "
            f"address {address}) on {when:%d %B %Y at %H:%M} UTC.",
            "If that was you, there is nothing to do. If not, change your password now and "
            "end the sessions you do not know in the app (Account, Sessions).",
        ],
    )


def password_changed(when: datetime) -> Message:
    return _message(
        "Your Tillpoint password was changed",
        [
            f"The password of your account was changed on {when:%d %B %Y at %H:%M} UTC, and "
            "every other session signed out.",
            "If that was not you, reset your password at once from the app's sign-in screen "
            "(Forgot password) and contact support.",
        ],
    )


def _place(place: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(place if place % 100 not in (11, 12, 13) else 0, "th")
    return f"{place}{suffix}"


def contest_won(
    contest: str, place: int, prize: Money, business: str, card_id: str, club: str | None
) -> Message:
    """To a winning customer, or to the founder and organisers of a winning club."""
    who = "You" if club is None else club
    held = (
        "It is in your wallet in the app: show its code at the till."
        if club is None
        else "The club holds it: an organiser hands it to a member from the club's holdings."
    )
    return _message(
        f"{who} won {_place(place)} place in {contest}",
        [
            f"{who} came {_place(place)} in {contest}.",
            f"The prize is a {business} gift card holding {prize.format()} (card {card_id}).",
            held,
        ],
    )


def contest_result(contest: str, place: int, entrants: int, club: str) -> Message:
    """To the founder and organisers of a club that entered and won no prize."""
    return _message(
        f"{club} came {_place(place)} of {entrants} in {contest}",
        [
            f"{contest} has ended: {club} came {_place(place)} of {entrants}.",
            "The full results are on the contest's leaderboard in the app.",
        ],
    )


def _paid(amount: Money) -> str:
    """An amount with its currency's code too: `£25.00 (25.00 GBP)`."""
    return f"{amount.format()} ({amount})"


def gift_bought(
    business: str, amount: Money, recipient: str, deliver_at: datetime, reference: str
) -> Message:
    """The receipt of a gift bought by an account (the app, or the shop signed in)."""
    return _message(
        f"Your gift for {recipient}: a {business} gift card",
        [
            f"You bought a {business} gift card holding {amount.format()} for {recipient}.",
            f"We email it to them on {deliver_at:%d %B %Y at %H:%M} UTC, with a code to claim "
            "it. Until then you can cancel it in the app (Gifts): the card then comes to you.",
            f"Paid: {_paid(amount)}. Gift reference: {reference}.",
        ],
    )


def gift_receipt(
    business: str,
    amount: Money,
    *,
    greet: str,
    recipient: str,
    recipient_email: str,
    deliver_at: datetime | None,
    reference: str,
    bought_at: datetime,
    link: str,
) -> Message:
    """The receipt of a gift bought without an account (the shop page, not signed in), to
    the email its buyer gave. `deliver_at`: when the gift email goes (None: now). It never
    holds the card's code nor its QR code: they are the recipient's, and spend like cash."""
    when = (
        "We are emailing it to them now"
        if deliver_at is None
        else f"We email it to them on {deliver_at:%d %B %Y at %H:%M} UTC"
    )
    lines = [f"Hello {greet}," if greet.strip() else "Hello,"]
    lines += [
        f"Thank you for your purchase. You bought a {business} gift card holding "
        f"{amount.format()} for {recipient} ({recipient_email}).",
        f"{when}, with its QR code to pay at {business}'s till and a code to claim it into an "
        "account. Only their email carries the card's codes: this receipt does not, so it is "
        "safe to keep.",
        f"Paid: {_paid(amount)}, on {bought_at:%d %B %Y at %H:%M} UTC.",
        f"Gift reference: {reference}. See the purchase at {link}",
        "If something is wrong (their email mistyped, the wrong amount or day), or you did "
        f"not buy this, write to Tillpoint's support and give the reference {reference}.",
    ]
    return _message(f"Your receipt: a {business} gift card for {recipient}", lines)


def gift_received(
    business: str,
    amount: Money,
    sender: str,
    note: str,
    code: str,
    link: str,
    qr: tuple[str, str] | None = None,
    *,
    own: bool = False,
    greet: str = "",
    in_account: bool = False,
    receipt: tuple[Money, str] | None = None,
) -> Message:
    """`qr`: the card's QR code image's content id and the code's text, for the till.
    `own`: the buyer bought it for themselves (the shop's "for me"): no one sent it, and
    this email is their purchase's record: `receipt`, what was paid and the gift's
    reference, is said too.
    `greet`: the recipient's name, to greet them by. `in_account`: claimed into the
    recipient's account already (bought for oneself while signed in): `link` then shows the
    account's cards, and there is nothing to claim."""
    title = f"Your {business} gift card" if own else f"{sender} sent you a {business} gift card"
    lines = [f"Hello {greet},"] if greet.strip() else []
    if own:
        lines.append(f"Here is the {business} gift card you bought, holding {amount.format()}.")
    else:
        lines.append(f"{sender} sent you a {business} gift card holding {amount.format()}.")
    if note:
        lines.append(f"Their message: “{note}”")
    if in_account:
        lines.append(f"It is in your Tillpoint account already: see your cards at {link}")
    else:
        lines += [
            f"To keep it, open this link and sign in (or create an account): {link}",
            f"Or enter the code {code} in the Tillpoint app (Gifts, Claim a gift). The code works "
            "once: keep this email to yourself until you have claimed it.",
        ]
    lines.append(f"Check its balance any time at Tillpoint's shop with the code {code}.")
    if own and receipt is not None:
        paid, reference = receipt
        lines.append(
            f"Paid: {_paid(paid)}. Gift reference: {reference}. If something is wrong, write "
            "to Tillpoint's support and give the reference."
        )
    if qr is None:
        return _message(title, lines)
    cid, token = qr
    lines += [
        f"To pay with it at {business}, show the till this card's QR code (card.png, attached). "
        "It is worth money like cash: show it only at the till.",
        f"If the code does not scan, the till can take its text: {token}",
    ]
    return _message(title, lines, (cid, "The card's QR code"))


def gift_claimed_by_recipient(business: str, amount: Money, recipient: str) -> Message:
    return _message(
        f"{recipient} claimed your {business} gift card",
        [f"The {business} gift card holding {amount.format()} you gave is now in their account."],
    )


def gift_claimed_into_account(business: str, amount: Money, card_id: str) -> Message:
    return _message(
        f"Your {business} gift card is in your account",
        [
            f"The {business} gift card holding {amount.format()} is yours now (card {card_id}).",
            "Find it in your wallet in the app and show its code at the till.",
        ],
    )
