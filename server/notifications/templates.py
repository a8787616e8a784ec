"""What each kind of notification says: a title, a plain-text body and an HTML body."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from sync.money import Money

__all__ = [
    "Message",
    "card_bought",
    "card_redeemed",
    "email_verification",
    "incident_opened",
    "low_balance",
    "new_device",
    "password_changed",
    "password_reset",
]


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    text: str
    html: str


def _message(title: str, lines: list[str]) -> Message:
    text = "\n\n".join(lines) + "\n\n— Tillpoint\n"
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in lines)
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
