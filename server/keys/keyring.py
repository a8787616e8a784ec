"""The server's issuer keys, on disk with owner-only permissions.

``keyring.json`` lists every key the server has used: the current one signs,
retired ones stay in the trust list so what they signed keeps verifying.

A worker reads the index and the keys once and keeps them while the index stays the same
file: a rotation (here or by `tillpoint-server rotate-keys` in another process) writes a
new index in its place, which the next use sees. Reading them on every sale cost a
terminal's online redemption a tenth of its CPU.

Changes to the index (a rotation, the first key) hold the folder's lock file, `flock`ed, from
reading it to replacing it, and write through a temporary file of their own: rotations run
by several processes or hosts at once each keep the keys the others made.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sync.tokens import IssuerKey, KeyFileError, TrustedKey, TrustList

__all__ = ["Keyring", "KeyringDamaged", "KeyringError", "KeysMissing"]

INDEX = "keyring.json"
LOCK = "keyring.lock"
RESTORE = "restore it from the backup of the keys folder"


class KeyringError(ValueError):
    """The keys folder cannot be used as it is; the message is one sentence naming the file
    or folder and what to do. A ValueError, as `KeyFileError` is: what is wrong is on disk."""


class KeyringDamaged(KeyringError):
    """`keyring.json`, or a key file it lists, cannot be read."""


class KeysMissing(KeyringError):
    """No keys in the folder while the database holds tokens that keys signed."""


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """The keys folder's lock, held by one process at a time (on NFS too: Linux turns
    `flock` into a lock the server keeps)."""
    descriptor = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # which lets the lock go


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
        """Open the keyring, making the folder and a first key if there are none yet. Every
        key it lists is read now: a missing or damaged file stops the start, not a sale."""
        keyring = cls(directory)
        if not keyring.has_keys():
            keyring._make_first()
        keyring._now_read()
        return keyring

    def has_keys(self) -> bool:
        """Whether the index lists a key (`KeyringDamaged` if it cannot be read)."""
        return bool(self._entries())

    def _make_first(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        with _locked(self.directory):
            if not self._entries():  # else another process (a worker) made it meanwhile
                self._add_key()

    def _entries(self) -> list[_Entry]:
        path = self.directory / INDEX
        if not path.exists():
            return []
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise self._damaged("not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise self._damaged(
                f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        try:
            entries = []
            for item in document:
                not_after = item.get("not_after")
                entries.append(
                    _Entry(
                        bytes.fromhex(item["kid"]).hex(),
                        datetime.fromisoformat(item["not_before"]),
                        datetime.fromisoformat(not_after) if not_after else None,
                    )
                )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise self._damaged(
                "not a list of keys, each with a hex kid and an ISO 8601 not_before"
            ) from None
        return entries

    def _damaged(self, why: str) -> KeyringDamaged:
        return KeyringDamaged(
            f"the keyring index {self.directory / INDEX} is damaged ({why}): {RESTORE}"
        )

    def _write(self, entries: list[_Entry]) -> None:
        """Replace the index in one rename, from a temporary file no other process writes."""
        document = [
            {
                "kid": e.kid_hex,
                "not_before": e.not_before.isoformat(),
                "not_after": e.not_after.isoformat() if e.not_after else None,
            }
            for e in entries
        ]
        descriptor, temporary = tempfile.mkstemp(
            prefix=INDEX + ".", suffix=".tmp", dir=self.directory
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(json.dumps(document, indent=2) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.directory / INDEX)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _load(self, entry: _Entry) -> IssuerKey:
        key = self._keys.get(entry.kid_hex)
        if key is None:
            try:
                key = IssuerKey.load(self.directory / f"{entry.kid_hex}.private.pem")
            except KeyFileError as exc:
                raise KeyringDamaged(f"{exc} (listed in {INDEX}): {RESTORE}") from None
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
        with _locked(self.directory):
            return self._add_key()

    def _add_key(self) -> IssuerKey:
        """A new signing key, added to the index as it is now (the lock held)."""
        now = _now()
        entries = [_Entry(e.kid_hex, e.not_before, e.not_after or now) for e in self._entries()]
        key = IssuerKey.generate()
        key.save(self.directory)
        entries.append(_Entry(key.kid.hex(), now, None))
        self._write(entries)
        return key

    def trust_list(self) -> TrustList:
        return self._now_read().trust_list
