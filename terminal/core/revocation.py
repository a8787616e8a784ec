"""A till the owner revoked: the server refuses whatever it sends from then on, so the till
keeps the server's word in its database (`TerminalStore.save_revoked`) and, after a restart
too, approves nothing offline, queues no void or listing edit, and says why — until it is
paired anew.

The server's refusal is told by its problem's kind, which does not change with its words."""

from __future__ import annotations

from sync.client import ServerRefusedError

from .store import TerminalStore

__all__ = [
    "EDIT_REFUSED",
    "PAIR_AGAIN_FROM_THE_SHELL",
    "REDEEM_REFUSED",
    "REVOKED",
    "REVOKED_KIND",
    "VOID_REFUSED",
    "note_refusal",
]

REVOKED_KIND = "device-revoked"  # the server's problem type for a revoked till

REVOKED = "This till was revoked by the owner: pair it again with a new code"
REDEEM_REFUSED = (
    f"{REVOKED} (made on another till's Tills tab). Until then it approves nothing, "
    "offline either: the server refuses all it sends. Take another payment method."
)
VOID_REFUSED = (
    f"{REVOKED}. A void made here would never reach the server: the owner can refund it "
    "from the Tillpoint app."
)
EDIT_REFUSED = (
    "Not saved: this till was revoked by the owner, so the server refuses what it sends. "
    "Pair it again with a new code."
)
# What the command line says after REVOKED: a paired file stays paired, so a new pairing
# is a new file.
PAIR_AGAIN_FROM_THE_SHELL = (
    ", into a new --data file (`tillpoint terminal pair CODE --server URL --data NEW.db`)"
)


def note_refusal(store: TerminalStore, refused: ServerRefusedError) -> bool:
    """Keep the server's word when it refused this till as revoked; whether it did."""
    if refused.kind != REVOKED_KIND:
        return False
    store.save_revoked()
    return True
