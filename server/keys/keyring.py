"""The server's issuer keys, on disk with owner-only permissions.

``keyring.json`` lists every key the server has used: the current one signs,
retired ones stay in the trust list so what they signed keeps verifying.

A worker reads the index and the keys once and keeps them while the index stays the same
file: a rotation (here or by `tillpoint-server rotate-keys` in another process) writes a
new index in its place, which the next use sees. Reading them on every sale cost a
terminal's online redemption a tenth of its CPU.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sync.tokens import IssuerKey, TrustedKey, TrustList

__all__ = ["Keyring"]

INDEX = "keyring.json"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class _Entry:
    kid_hex: str
    not_before: datetime
    not_after: datetime | None


@dataclass(frozen=True)
class _Read:
    """The index as last read, by the file it was read from, and what it gives."""

    stamp: tuple[int, int, int]  # the index's inode, size and modification time
    entries: list[_Entry]
    current: IssuerKey
    trust_list: TrustList


class Keyring:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._read: _Read | None = None
        self._keys: dict[str, IssuerKey] = {}  # a key's file never changes once written

    @classmethod
    def open(cls, directory: Path) -> Keyring:
        """Open the keyring, making the folder and a first key if there are none yet."""
        keyring = cls(directory)
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        if not keyring._entries():
            keyring.rotate()
        return keyring

    def _entries(self) -> list[_Entry]:
        path = self.directory / INDEX
        if not path.exists():
            return []
        entries = []
        for item in json.loads(path.read_text(encoding="utf-8")):
            not_after = item.get("not_after")
            entries.append(
                _Entry(
                    item["kid"],
                    datetime.fromisoformat(item["not_before"]),
                    datetime.fromisoformat(not_after) if not_after else None,
                )
            )
        return entries

    def _write(self, entries: list[_Entry]) -> None:
        document = [
            {
                "kid": e.kid_hex,
                "not_before": e.not_before.isoformat(),
                "not_after": e.not_after.isoformat() if e.not_after else None,
            }
            for e in entries
        ]
        temporary = self.directory / (INDEX + ".tmp")
        temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.directory / INDEX)

    def _load(self, entry: _Entry) -> IssuerKey:
        key = self._keys.get(entry.kid_hex)
        if key is None:
            key = IssuerKey.load(self.directory / f"{entry.kid_hex}.private.pem")
            self._keys[entry.kid_hex] = key
        return key

    def _now_read(self) -> _Read:
        """The index and its keys, read again only if the index is another file now."""
        try:
            status = (self.directory / INDEX).stat()
        except FileNotFoundError:
            raise RuntimeError(f"no keyring in {self.directory}: open it first") from None
        stamp = (status.st_ino, status.st_size, status.st_mtime_ns)
        read = self._read
        if read is None or read.stamp != stamp:
            entries = self._entries()
            trusted = tuple(
                TrustedKey(bytes.fromhex(e.kid_hex), self._load(e).public_key, e.not_before,
                           e.not_after)
                for e in entries
            )  # fmt: skip
            read = self._read = _Read(stamp, entries, self._load(entries[-1]), TrustList(trusted))
        return read

    def current(self) -> IssuerKey:
        """The key that signs new tokens."""
        return self._now_read().current

    def rotate(self) -> IssuerKey:
        """Make a new signing key; the previous one retires but stays trusted."""
        now = _now()
        entries = [_Entry(e.kid_hex, e.not_before, e.not_after or now) for e in self._entries()]
        key = IssuerKey.generate()
        key.save(self.directory)
        entries.append(_Entry(key.kid.hex(), now, None))
        self._write(entries)
        return key

    def trust_list(self) -> TrustList:
        return self._now_read().trust_list
