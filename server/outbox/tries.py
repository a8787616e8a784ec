"""One claimed row's try, shared by every sender of an outbox (notifications, the gift
mailers, webhooks): a try that fails is its row's alone. The row is released with the
error, to be tried again or given up after its last try, and the rest of the round goes
on, whether the receiver refused it (`SendRefused`) or the row met a fault of ours (its
message could not be made or signed, a transport raised something unexpected)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from .claims import Delivery

__all__ = ["SendRefused", "try_once"]

log = logging.getLogger("tillpoint.outbox")

Sent = TypeVar("Sent")


class SendRefused(Exception):
    """The row's receiver could not take it now (a mail server, a push service): an
    expected failure, kept as the row's error without a traceback."""


def try_once(
    what: str,
    row_id: object,
    send: Callable[[], Sent | None],
    sent: Callable[[Sent], Delivery | None],
    failed: Callable[[str], Delivery | None],
) -> Delivery | None:
    """One claimed row's try: `send` it (None: nothing to send, its lease ran out), then
    mark it `sent`. A try that fails is the row's alone: `failed` releases it with the
    error, tried again or given up after its last try, and the caller's batch goes on.
    A `SendRefused` is the receiver's answer; anything else is a fault of ours, logged with
    its traceback (`what` and `row_id` name the row)."""
    try:
        done = send()
    except SendRefused as exc:
        return failed(str(exc))
    except Exception as exc:
        log.exception("%s %s could not be sent", what, row_id)
        return failed(f"{type(exc).__name__}: {exc}")
    return None if done is None else sent(done)
