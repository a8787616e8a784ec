"""The keyring a server (or `rotate-keys`, `run-jobs`) opens beside its database.

A first key is right for a new installation, and wrong beside a database that already holds
gift cards or vouchers: their tokens were signed by keys that are elsewhere (a restore without
the keys folder, a mistyped TILLPOINT_KEYS_DIR), and a new keyring would serve a trust list
without them, so every existing card's code would be refused at the counter, online and
offline, while /healthz says ok.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from ..deals.models import Voucher
from ..wallet.models import GiftCard
from .keyring import INDEX, Keyring, KeysMissing

__all__ = ["open_keyring"]


def open_keyring(directory: Path, engine: Engine) -> Keyring:
    """`Keyring.open`, except that a folder without keys beside a database holding gift
    cards or vouchers is refused (`KeysMissing`) and nothing is made."""
    if not Keyring(directory).has_keys():
        with engine.connect() as connection:
            cards = connection.scalar(select(func.count()).select_from(GiftCard)) or 0
            vouchers = connection.scalar(select(func.count()).select_from(Voucher)) or 0
        if cards or vouchers:
            raise KeysMissing(
                f"{_absence(directory)}, yet the database holds {_count(cards, 'gift card')} "
                f"and {_count(vouchers, 'voucher')} signed by keys that are not in it: restore "
                "TILLPOINT_KEYS_DIR from the backup, or point TILLPOINT_KEYS_DIR at the folder "
                f"that holds their {INDEX} (no key was made)"
            )
    return Keyring.open(directory)


def _absence(directory: Path) -> str:
    if not directory.is_dir():
        return f"the keys folder {directory} is not there"
    if not any(directory.iterdir()):
        return f"the keys folder {directory} is empty"
    if not (directory / INDEX).exists():
        return f"the keys folder {directory} has no {INDEX}"
    return f"{directory / INDEX} lists no keys"


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"
