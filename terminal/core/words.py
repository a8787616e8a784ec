"""The cashier's words for what the server and the sync said: plurals, refusals without field
paths, and a line on what a sync did."""

from __future__ import annotations

from sync.client import ServerRefusedError
from sync.engine import PushSummary
from sync.money import Money
from sync.wire import MAX_AMOUNT

__all__ = ["clause", "clock_apart", "count", "refusal", "synced"]

# What a cashier is told when the server refuses a request it could not read, by the field
# it named; the field paths themselves are for developers, never for the screen.
_FIELDS = {
    "token": "The code could not be read: scan it again.",
    "email": "That is not an email address: check it and type it again.",
}


def count(number: int, thing: str, things: str | None = None) -> str:
    """`1 redemption`, `2 redemptions`, `0 redemptions`."""
    return f"{number} {thing if number == 1 else (things or thing + 's')}"


def clock_apart(offset: float) -> str:
    """Where this till's clock is against the server's, `offset` seconds being the server's
    minus the till's: `7 minutes behind`, `2.0 days ahead of` (then "the server's")."""
    gap = abs(offset)
    if gap < 3600:
        apart = count(max(1, round(gap / 60)), "minute")
    else:
        hours = gap / 3600
        apart = f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
    return f"{apart} {'behind' if offset > 0 else 'ahead of'}"


def clause(words: str) -> str:
    """`words` without the full stop they end in, for a message that goes on or ends them
    itself (`Not saved: {clause}.`): never `..` or `.:`."""
    return words.rstrip().rstrip(".").rstrip()


def refusal(refused: ServerRefusedError, amount: Money | None = None) -> str:
    """What the server's refusal means for the cashier. Domain refusals (a used pairing
    code, a reserved role, a used voucher: any problem type of their own, 422s too) already
    come in words, the server's `detail`; only `invalid-request`, a request the server could
    not read, names fields, so it is put in words here."""
    answer = refused.answer
    unreadable = refused.status == 422 and not answer.type  # not even a problem+json
    if answer.kind == "invalid-request" or unreadable:
        fields = [str(error.get("field", "")) for error in _errors(refused)]
        if any(field.endswith("amount_minor") for field in fields):
            if amount is not None and amount.minor > MAX_AMOUNT:
                most = Money.of(MAX_AMOUNT, amount.currency.code).format()
                return f"{amount.format()} is more than one redemption can be (at most {most})."
            return "That amount cannot be redeemed: check it and type it again."
        for field in fields:
            for name, words in _FIELDS.items():
                if field.endswith(name):
                    return words
        return "The server could not take this: check what was typed or scanned, and try again."
    if refused.status == 429:
        return "The server is busy: wait a moment and try again."
    detail = answer.detail or answer.title
    if not detail or "body." in detail:
        return "The server refused this: ask the owner to check the till."
    return detail


def _errors(refused: ServerRefusedError) -> list[dict[str, object]]:
    errors = refused.problem.get("errors")
    if not isinstance(errors, list):
        return []
    return [error for error in errors if isinstance(error, dict)]


def synced(summary: PushSummary) -> str:
    """What one sync did, e.g. `Synced: 2 sent, 5 changes received`."""
    parts = [f"{summary.pushed} sent", f"{count(summary.pulled, 'change')} received"]
    if summary.incidents:
        parts.append(f"{count(summary.incidents, 'incident')} for the owner")
    if summary.rejected:
        parts.append(f"{summary.rejected} refused by the server")
    return "Synced: " + ", ".join(parts)
