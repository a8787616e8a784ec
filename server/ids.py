"""Short random ids (8 bytes, URL-safe base64): the same ids the tokens carry; and ids that
need only be unique (`counted_id`)."""

from __future__ import annotations

import itertools
import os
import uuid

from sync.tokens import id_text, new_id

__all__ = ["ID_LENGTH", "PAYMENT_CARD_KEY_LENGTH", "counted_id", "make_id"]

ID_LENGTH = 11  # characters of URL-safe base64 for 8 bytes
# How a payment card is kept (`payments.payment_card_key`): a gateway token of up to 200
# characters, ":" and the last four digits.
PAYMENT_CARD_KEY_LENGTH = 205


def make_id() -> str:
    return id_text(new_id())


# This process's random part and a count: unique is all some ids need to be (a request's, a
# rate-limit window's entries), and a uuid4 each asked the kernel for randomness every time.
_process_part = uuid.uuid4().hex[:16]
_counted = itertools.count(1)


def counted_id() -> str:
    """32 hex characters, never the same twice in any process (a forked one included)."""
    return f"{_process_part}{next(_counted):016x}"


def _new_process_part() -> None:  # a forked worker counts apart from its parent
    global _process_part, _counted
    _process_part, _counted = uuid.uuid4().hex[:16], itertools.count(1)


os.register_at_fork(after_in_child=_new_process_part)
