"""The terminal's own SQLite file: its pairing, the card cache and the outbox.

WAL mode with full synchronous commits: an approved redemption is on disk, in the outbox,
in the same transaction that updates the cache, before the cashier sees "approved".
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import TypeAdapter

from sync.client import ServerTime
from sync.money import Money
from sync.wire import (
    READING_ANSWERS,
    AttemptWithdrawn,
    BranchEdit,
    BranchState,
    ChangesPage,
    DealEdit,
    DealState,
    EventPayload,
    EventResult,
    EventStatus,
    GiftCardRedemption,
    OfflineLimitsBody,
    PlanState,
    ProductEdit,
    ProductState,
    RedemptionVoid,
    SnapshotPage,
    StaffState,
    TerminalEvent,
    TrustListDocument,
    VoucherRedemption,
    or_newer,
)

from .kinds import CardStatus, Mode, NewerValue, RedemptionKind, VoucherStatus

__all__ = [
    "SCHEMA_VERSION",
    "CachedCard",
    "DamagedStoreError",
    "JournalEntry",
    "KeptReceipt",
    "LastSync",
    "Pairing",
    "SchemaTooNewError",
    "TerminalStore",
    "damage_named",
]

# The schema grows by steps: step N takes a database from version N-1 to N, in the
# transaction that opens it. A released step never changes (files made by that release have
# run it); a change is a new step at the end.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the first release's tables.
    (
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS cards (
            id TEXT PRIMARY KEY, currency TEXT NOT NULL, balance_minor INTEGER NOT NULL,
            status TEXT NOT NULL, synced_at TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS outbox (
            seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
            occurred_at TEXT NOT NULL, payload TEXT NOT NULL, signature TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS products (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, price_minor INTEGER NOT NULL,
            currency TEXT NOT NULL, version INTEGER NOT NULL
        )""",
        "CREATE TABLE IF NOT EXISTS revoked_tokens (token_id TEXT PRIMARY KEY)",
        """CREATE TABLE IF NOT EXISTS vouchers (
            id TEXT PRIMARY KEY, deal_id TEXT NOT NULL, status TEXT NOT NULL,
            face_minor INTEGER NOT NULL, currency TEXT NOT NULL, expires_at TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS journal (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL,
            subject_id TEXT NOT NULL, amount_minor INTEGER NOT NULL, currency TEXT NOT NULL,
            mode TEXT NOT NULL, balance_after_minor INTEGER, attempt_key TEXT NOT NULL,
            voided INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE IF NOT EXISTS listings (
            kind TEXT NOT NULL, id TEXT NOT NULL, document TEXT NOT NULL, PRIMARY KEY (kind, id)
        )""",
        """CREATE TABLE IF NOT EXISTS rejected_events (
            seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL,
            occurred_at TEXT NOT NULL, payload TEXT NOT NULL, reason TEXT NOT NULL,
            rejected_at TEXT NOT NULL
        )""",
    ),
    # 2: what every scan and the history screen look up, without reading whole tables: the
    # outbox by event type (offline totals, used vouchers), the journal by time (today).
    (
        "CREATE INDEX outbox_by_type ON outbox (type)",
        "CREATE INDEX journal_by_time ON journal (at)",
    ),
    # 3: who may sign in at the till (the PIN hashes the owner set, as pulled), and who was
    # signed in for each redemption in the journal. The sign-in throttle lives in meta.
    (
        """CREATE TABLE staff (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, pin_hash TEXT NOT NULL
        )""",
        "ALTER TABLE journal ADD COLUMN cashier TEXT",
    ),
    # 4: each approval's receipt as the screen showed it, for reprints (by its reference).
    (
        """CREATE TABLE receipts (
            reference TEXT PRIMARY KEY, made_at TEXT NOT NULL, document TEXT NOT NULL
        )""",
    ),
    # 5: whether each kept receipt was printed, so that one never printed is the original
    # after a restart too. Those kept before may have been printed: they reprint as copies.
    ("ALTER TABLE receipts ADD COLUMN printed INTEGER NOT NULL DEFAULT 1",),
    # 6: the owner revoked this till (the server said so): from then on it approves nothing
    # offline, after a restart too, until it is paired anew. A table of its own rather than
    # a meta key, so that a Tillpoint older than this step refuses the file (its schema is
    # too new) instead of ignoring the mark and approving offline again.
    (
        """CREATE TABLE revocation (
            id INTEGER PRIMARY KEY CHECK (id = 1), revoked_at TEXT NOT NULL
        )""",
    ),
    # 7: when the last sync ended by the server's clock too (its answer's Date), and how far
    # the till's clock was from it then, beside the till's own stamp: offline, the older of
    # the two says how old the cache is, and a sync at which the clocks differed stops
    # offline approvals. A table of its own, as in step 6, so that a Tillpoint older than
    # this step refuses the file instead of judging by the till's clock alone. The stamp
    # kept in meta until now moves here, its server time unknown.
    (
        """CREATE TABLE last_sync (
            id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL, server_at TEXT,
            clock_offset REAL
        )""",
        "INSERT INTO last_sync (id, at) SELECT 1, value FROM meta WHERE key = 'synced_at'",
        "DELETE FROM meta WHERE key = 'synced_at'",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# What a fresh snapshot replaces (`apply_changes(replace=True)`): the server's state as
# cached, and where the pull stood.
_FORGOTTEN_ON_A_FRESH_START: tuple[tuple[str, list[str]], ...] = (
    ("DELETE FROM cards", []),
    ("DELETE FROM vouchers WHERE status != ?", [VoucherStatus.REDEEMED.value]),
    ("DELETE FROM products", []),
    ("DELETE FROM listings", []),
    ("DELETE FROM staff", []),
    ("DELETE FROM meta WHERE key IN ('cursor', 'cursor_mark')", []),
)

# How long a connection waits for another process's write transaction on the same file (a
# POS script running `tillpoint redeem` several times at once, `tillpoint sync` beside the
# app) before giving up: a pulled page is the longest writer, well under a second.
BUSY_TIMEOUT = 30.0


class SchemaTooNewError(Exception):
    """The database was written by a newer Tillpoint than this one; the message says what
    to do. Nothing in the file was changed."""


_COUNT_THE_OUTBOX = "`sqlite3 recovered.db 'SELECT count(*) FROM outbox'`"


class DamagedStoreError(Exception):
    """The terminal's database is not a database any more (truncated, overwritten): the
    message says so, what to do, and how to look for unsynced redemptions in it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"the terminal database at {path} is damaged ({problem}): restore it from a "
            "copy, or pair the till again into a new --data file. Keep this one: its outbox "
            "may hold redemptions approved offline and not synced yet; look with `sqlite3 "
            f"{path} .recover | sqlite3 recovered.db` and {_COUNT_THE_OUTBOX} "
            '(docs/terminal.md, "A damaged till database")'
        )
        self.path = path


# SQLite's primary result codes for a file that is not a sound database.
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


@contextmanager
def damage_named(path: Path) -> Iterator[None]:
    """Turn SQLite's word that the file at `path` is damaged into a DamagedStoreError;
    other errors (a locked file, a full disk) pass as they are."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _DAMAGED:
            raise
        raise DamagedStoreError(path, str(exc)) from None


@dataclass(frozen=True)
class Pairing:
    server_url: str
    device_id: str
    business_id: str
    secret: str
    private_key: Ed25519PrivateKey


@dataclass(frozen=True)
class JournalEntry:
    id: int
    at: datetime
    kind: RedemptionKind
    subject_id: str
    amount: Money
    mode: Mode
    balance_after: Money | None
    attempt_key: str  # the redemption's key, which a void names
    voided: bool
    cashier: str | None = None  # who was signed in: their name as the till knew it


@dataclass(frozen=True)
class KeptReceipt:
    reference: str  # the approval's
    document: str  # `receipts.receipt_json`
    printed: bool  # once: a reprint is a copy


@dataclass(frozen=True)
class CachedCard:
    id: str
    currency: str
    balance_minor: int  # the server's last word, minus this terminal's unsynced redemptions
    status: CardStatus | NewerValue  # kept as the server sent it, one newer than this till too


@dataclass(frozen=True)
class LastSync:
    """When the till's last sync ended (its last pull): by its own clock, and by the
    server's when the answer said (its `Date` header)."""

    at: datetime  # the till's clock
    server_at: datetime | None  # the server's; None: not known (a sync before it was kept)
    clock_offset: timedelta | None  # the server's clock minus the till's, at that answer


_Edit = TypeVar("_Edit", ProductEdit, DealEdit, BranchEdit)
_PLAN: TypeAdapter[PlanState | None] = TypeAdapter(PlanState | None)


def _cashier(cashier_id: str | None) -> dict[str, str]:
    """The cashier field of an event, given only when someone was signed in: an event
    without one is signed as before (and read by servers older than till sign-in)."""
    return {} if cashier_id is None else {"cashier_id": cashier_id}


# A pushed gift-card redemption (or void) of the outbox, by event id, moved into the card's
# cached balance.
_TAKEN_INTO_THE_CACHE = """
    UPDATE cards SET balance_minor = balance_minor - (
        SELECT CASE type WHEN 'redemption_void' THEN -1 ELSE 1 END
            * json_extract(payload, '$.amount_minor')
        FROM outbox WHERE id = :event)
    WHERE id = (
        SELECT json_extract(payload, '$.card_id') FROM outbox
        WHERE id = :event AND type IN ('gift_card_redemption', 'redemption_void'))
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class TerminalStore:
    """The terminal's database, safe to share between threads: each thread works on its
    own connection (a connection shared between threads would let one thread's transaction
    swallow another's statements). A thread that is done hands its connection back with
    `release()`, and the next thread takes it, so Textual's short-lived worker threads do
    not open the file each time; `close()` closes them all."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        # Held through each write transaction, and by `close()`: a connection is never
        # closed under a thread in the middle of its transaction (that crashes SQLite).
        self._writing = threading.RLock()
        self._open: list[sqlite_utils.Database] = []  # every connection, to close
        self._idle: list[sqlite_utils.Database] = []  # handed back by threads that are done
        self._generation = 0  # moves on at close(): a thread's older connection is closed
        try:
            with damage_named(path):
                self._migrate()
        except BaseException:
            self.close()
            raise

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection."""
        local = self._local
        if getattr(local, "generation", None) != self._generation:
            local.db = self._checkout()
            local.generation = self._generation
        db: sqlite_utils.Database = local.db
        return db

    def _checkout(self) -> sqlite_utils.Database:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA synchronous=FULL")
        db = sqlite_utils.Database(connection)
        with self._lock:
            self._open.append(db)
        return db

    def release(self) -> None:
        """This thread is done for now: its connection goes back for the next thread."""
        local = self._local
        db: sqlite_utils.Database | None = local.__dict__.pop("db", None)
        generation = local.__dict__.pop("generation", None)
        if db is None or generation != self._generation:
            return
        if db.conn.in_transaction:  # never hand on a transaction half done
            db.conn.rollback()
        with self._lock:
            self._idle.append(db)

    def close(self) -> None:
        """Close every connection, whichever thread opened it; the store opens new ones
        if it is used again."""
        with self._writing:
            with self._lock:
                self._generation += 1
                connections, self._open, self._idle = self._open, [], []
            for db in connections:
                db.conn.close()

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION, all steps in one transaction; refuse a file
        from a newer Tillpoint without changing it."""
        self.db.enable_wal()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            found = self.schema_version()
            if found > SCHEMA_VERSION:
                raise SchemaTooNewError(
                    f"{self.path} was written by a newer Tillpoint (its data is at version "
                    f"{found}, this Tillpoint knows up to {SCHEMA_VERSION}): upgrade with "
                    "`pip install --upgrade 'tillpoint[terminal]'`, or give another --data file"
                )
            for step in MIGRATIONS[found:]:
                for statement in step:
                    self.db.execute(statement)
            if found != SCHEMA_VERSION:
                self._set_meta("schema_version", str(SCHEMA_VERSION))
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def schema_version(self) -> int:
        """The version the file is at: 0 for a new file."""
        has_meta = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if has_meta is None:
            return 0
        return int(self._meta("schema_version") or "0")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction, taken up front so two writers never interleave: other
        threads wait on the lock, other processes on SQLite's (BEGIN IMMEDIATE, up to
        BUSY_TIMEOUT). Inside one, a nested call is part of it: a decision can read, check
        and write in one transaction through methods that each write in one."""
        if self.db.conn.in_transaction:
            yield
            return
        with self._writing:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    # -- meta ---------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    # -- pairing ------------------------------------------------------------------

    def save_pairing(self, pairing: Pairing) -> None:
        pem = pairing.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        with self.transaction():
            for key, value in (
                ("server_url", pairing.server_url),
                ("device_id", pairing.device_id),
                ("business_id", pairing.business_id),
                ("device_secret", pairing.secret),
                ("device_key", pem),
            ):
                self._set_meta(key, value)
            self.db.execute("DELETE FROM revocation")  # a new pairing: not revoked (yet)
        self.path.chmod(0o600)  # the device secret and key live here

    def paired(self) -> bool:
        """Cheaper than `pairing()` (no key to load): for what asks often."""
        return self._meta("device_key") is not None

    def pairing(self) -> Pairing | None:
        values = {
            k: self._meta(k)
            for k in ("server_url", "device_id", "business_id", "device_secret", "device_key")
        }
        if any(v is None for v in values.values()):
            return None
        key = serialization.load_pem_private_key(str(values["device_key"]).encode(), None)
        assert isinstance(key, Ed25519PrivateKey)
        return Pairing(
            str(values["server_url"]),
            str(values["device_id"]),
            str(values["business_id"]),
            str(values["device_secret"]),
            key,
        )

    def save_revoked(self) -> None:
        """The server refused this till because the owner revoked it: kept until it is
        paired anew (`save_pairing`), with when it was first heard."""
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO revocation (id, revoked_at) VALUES (1, ?)", [_now()]
            )

    def revoked_at(self) -> datetime | None:
        """When this till first heard that the owner revoked it; None while it was not."""
        row = self.db.execute("SELECT revoked_at FROM revocation WHERE id = 1").fetchone()
        return None if row is None else datetime.fromisoformat(str(row[0]))

    # -- trust list and cards ---------------------------------------------------------

    def save_trust_list(self, document: TrustListDocument) -> None:
        self._set_meta("trust_list", json.dumps(document))

    def trust_list(self) -> TrustListDocument | None:
        text = self._meta("trust_list")
        return None if text is None else dict(json.loads(text))

    def cache_card(
        self,
        card_id: str,
        currency: str,
        server_balance: int,
        status: CardStatus,
        *,
        asked_at: str | None = None,
    ) -> None:
        """What the server last said of a card (its balance before our pending events).

        `asked_at` (from `moment()`, taken before the request went out) is for an answer to
        a request: when the card was cached again meanwhile (another process's answer, a
        pull), the two answers may have crossed on the way, so the lower balance is kept
        until the next pull rather than one the card no longer holds."""
        self.db.execute(
            "INSERT INTO cards (id, currency, balance_minor, status, synced_at) "
            "VALUES (:id, :currency, :balance, :status, :now) "
            "ON CONFLICT (id) DO UPDATE SET currency = excluded.currency, "
            "status = excluded.status, synced_at = excluded.synced_at, balance_minor = "
            "CASE WHEN cards.synced_at > :asked_at "
            "THEN min(cards.balance_minor, excluded.balance_minor) "
            "ELSE excluded.balance_minor END",
            {
                "id": card_id,
                "currency": currency,
                "balance": server_balance,
                "status": status.value,
                "now": _now(),
                "asked_at": asked_at,  # NULL compares as never: the answer is the latest word
            },
        )

    def moment(self) -> str:
        """Now, as the cache stamps what it writes: for `cache_card(asked_at=…)`."""
        return _now()

    def card(self, card_id: str) -> CachedCard | None:
        """The card as this terminal sees it: the server's balance minus what this terminal
        redeemed since and has not synced yet."""
        row = self.db.execute(
            "SELECT id, currency, balance_minor, status FROM cards WHERE id = ?", [card_id]
        ).fetchone()
        if row is None:
            return None
        return CachedCard(
            row[0],
            row[1],
            int(row[2]) - self.pending_minor(card_id),
            or_newer(CardStatus, row[3]),
        )

    def pending_minor(self, card_id: str | None = None) -> int:
        """What this terminal redeemed offline and has not synced: for one card, or all
        (gift cards and vouchers' face values)."""
        total = "SELECT coalesce(sum(json_extract(payload, '$.amount_minor')), 0) FROM outbox "
        if card_id is None:
            query = total + "WHERE type IN ('gift_card_redemption', 'voucher_redemption')"
            return int(self.db.execute(query).fetchone()[0])
        query = (
            "SELECT coalesce(sum(CASE type WHEN 'redemption_void' THEN -1 ELSE 1 END "
            "* json_extract(payload, '$.amount_minor')), 0) FROM outbox "
            "WHERE type IN ('gift_card_redemption', 'redemption_void') "
            "AND json_extract(payload, '$.card_id') = ?"
        )
        return int(self.db.execute(query, [card_id]).fetchone()[0])

    # -- pull ----------------------------------------------------------------------

    def cursor(self) -> int | None:
        """Where the last pull ended; None until the first sync has finished."""
        value = self._meta("cursor")
        return None if value is None else int(value)

    def cursor_mark(self) -> str | None:
        """The mark of the change at the cursor (`ChangesPage.cursor_mark`), sent with it:
        a server restored from an older backup tells by it that its log is not the one
        this till read. None before the first sync, and from older servers."""
        return self._meta("cursor_mark")

    def apply_changes(
        self,
        page: ChangesPage | SnapshotPage,
        *,
        final: bool = True,
        replace: bool = False,
        server_time: ServerTime | None = None,
    ) -> None:
        """One pulled page in one transaction, moving the cursor with it when `final`, and
        noting the sync (`last_sync`): by the till's clock, and by the server's as the
        page's answer gave it (`server_time`; None: it did not say).

        `replace` (the first page of a snapshot taken afresh, the server's database restored
        from an older backup): what the cache held goes first, in the same transaction, with
        the cursor, so that a card the server no longer has is not approved offline, and an
        interrupted snapshot is taken again whole. Kept: vouchers known used (a snapshot
        sends those still to use: forgetting one would accept it again offline), tokens known
        replaced, and this till's own outbox, journal and receipts."""
        with self.transaction():
            if replace:
                for statement, values in _FORGOTTEN_ON_A_FRESH_START:
                    self.db.execute(statement, values)
            now = _now()
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO cards (id, currency, balance_minor, status, synced_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(c.id, c.currency, c.balance_minor, c.status, now) for c in page.cards],
            )
            for voucher in page.vouchers:
                self.db.execute(
                    "INSERT OR REPLACE INTO vouchers VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        voucher.id,
                        voucher.deal_id,
                        voucher.status,
                        voucher.face_minor,
                        voucher.currency,
                        voucher.expires_at.isoformat(),
                    ],
                )
            for product in page.products:
                self.db.execute(
                    "INSERT OR REPLACE INTO products VALUES (?, ?, ?, ?, ?)",
                    [
                        product.id,
                        product.name,
                        product.price_minor,
                        product.currency,
                        product.version,
                    ],
                )
            self._save_listings("deals", page.deals)
            self._save_listings("branches", page.branches)
            if isinstance(page, ChangesPage):
                for product_id in page.removed_products:
                    self.db.execute("DELETE FROM products WHERE id = ?", [product_id])
                for branch_id in page.removed_branches:
                    self.db.execute(
                        "DELETE FROM listings WHERE kind = 'branches' AND id = ?", [branch_id]
                    )
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO staff (id, name, role, pin_hash) VALUES (?, ?, ?, ?)",
                [(s.id, s.name, str(s.role), s.pin_hash) for s in page.staff],
            )
            if isinstance(page, ChangesPage):
                self.db.conn.executemany(
                    "DELETE FROM staff WHERE id = ?", [(i,) for i in page.removed_staff]
                )
            for token_id in page.revoked_token_ids:
                self.db.execute("INSERT OR IGNORE INTO revoked_tokens VALUES (?)", [token_id])
            self._set_meta("trust_list", json.dumps(page.trust_list))
            self._set_meta("offline_limits", page.offline_limits.model_dump_json())
            self._set_meta("plan", _PLAN.dump_json(page.plan).decode())
            if page.business_name is not None:  # older servers do not send it
                self._set_meta("business_name", page.business_name)
            self._set_meta("suspended_by_operators", "1" if page.suspended_by_operators else "")
            if page.business_time_zone is not None:  # nor this
                self._set_meta("business_time_zone", page.business_time_zone)
            if final:
                self._set_meta("cursor", str(page.cursor))
                if page.cursor_mark is None:
                    self.db.execute("DELETE FROM meta WHERE key = 'cursor_mark'")
                else:
                    self._set_meta("cursor_mark", page.cursor_mark)
                self.db.execute(
                    "INSERT OR REPLACE INTO last_sync (id, at, server_at, clock_offset) "
                    "VALUES (1, ?, ?, ?)",
                    [
                        _now(),
                        None if server_time is None else server_time.at.isoformat(),
                        None if server_time is None else server_time.offset,
                    ],
                )

    def _save_listings(self, kind: str, items: Sequence[DealState | BranchState]) -> None:
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO listings VALUES (?, ?, ?)",
            [(kind, item.id, item.model_dump_json()) for item in items],
        )

    # -- who may sign in ----------------------------------------------------------------

    def staff(self) -> list[StaffState]:
        """Everyone with a till PIN, as last synced, by name."""
        rows = self.db.execute("SELECT id, name, role, pin_hash FROM staff ORDER BY name, id")
        # A role a newer server added is kept as pulled (the person cannot sign in here).
        return [
            StaffState.model_validate(
                {"id": i, "name": name, "role": role, "pin_hash": pin_hash},
                context=READING_ANSWERS,
            )
            for i, name, role, pin_hash in rows.fetchall()
        ]

    def staff_member(self, staff_id: str) -> StaffState | None:
        return next((s for s in self.staff() if s.id == staff_id), None)

    def has_staff(self) -> bool:
        """Someone has a till PIN: the till asks who is at it."""
        return self.db.execute("SELECT 1 FROM staff LIMIT 1").fetchone() is not None

    def sign_in_failures(self) -> tuple[int, datetime | None]:
        """Wrong PINs in a row at this till, and until when it waits before the next try;
        kept in the file, so a restart does not reset them."""
        failures = int(self._meta("sign_in_failures") or "0")
        until = self._meta("sign_in_wait_until")
        return failures, datetime.fromisoformat(until) if until else None

    def save_sign_in_failures(self, failures: int, wait_until: datetime | None) -> None:
        with self.transaction():
            self._set_meta("sign_in_failures", str(failures))
            self._set_meta("sign_in_wait_until", wait_until.isoformat() if wait_until else "")

    def business_name(self) -> str | None:
        """The business's name as last synced (None before a server that sends it)."""
        return self._meta("business_name")

    def suspended_by_operators(self) -> bool:
        """Tillpoint's operators had suspended the business at the last sync."""
        return bool(self._meta("suspended_by_operators"))

    def business_time_zone(self) -> str | None:
        """The business's IANA time zone as last synced (None before a server that sends
        it): which day is today at its tills."""
        return self._meta("business_time_zone")

    def save_till_name(self, name: str) -> None:
        """The name this till was paired under, for its receipts."""
        self._set_meta("till_name", name)

    def till_name(self) -> str | None:
        return self._meta("till_name")

    def save_till_branch(self, branch_id: str) -> None:
        """The branch this till serves, named by its pairing code, for its receipts."""
        self._set_meta("till_branch", branch_id)

    def till_branch(self) -> str | None:
        """The id of the branch this till serves; None when its pairing code named none."""
        return self._meta("till_branch")

    def deal_title(self, deal_id: str) -> str | None:
        """The title of a deal as last synced: what a voucher of it buys."""
        row = self.db.execute(
            "SELECT json_extract(document, '$.title') FROM listings "
            "WHERE kind = 'deals' AND id = ?",
            [deal_id],
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def voucher_deal_id(self, voucher_id: str) -> str | None:
        """The deal a voucher belongs to, when this terminal has synced the voucher."""
        row = self.db.execute("SELECT deal_id FROM vouchers WHERE id = ?", [voucher_id]).fetchone()
        return None if row is None else str(row[0])

    def plan(self) -> PlanState | None:
        """The business's plan, its product limit and usage, as last synced."""
        text = self._meta("plan")
        # Kept as pulled: a status newer than this till stays one (`NewerValue`).
        return None if text is None else _PLAN.validate_json(text, context=READING_ANSWERS)

    def offline_limits(self) -> OfflineLimitsBody | None:
        text = self._meta("offline_limits")
        return None if text is None else OfflineLimitsBody.model_validate_json(text)

    def revoked_token_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT token_id FROM revoked_tokens").fetchall()}

    def synced_at(self) -> str | None:
        """When the last sync ended by the till's clock (ISO 8601), for people: how old the
        cache is offline is `last_sync`'s to say."""
        last = self.db.execute("SELECT at FROM last_sync WHERE id = 1").fetchone()
        return None if last is None else str(last[0])

    def last_sync(self) -> LastSync | None:
        """The last sync, by both clocks; None before the first."""
        row = self.db.execute(
            "SELECT at, server_at, clock_offset FROM last_sync WHERE id = 1"
        ).fetchone()
        if row is None:
            return None
        at, server_at, offset = row
        return LastSync(
            datetime.fromisoformat(at),
            None if server_at is None else datetime.fromisoformat(server_at),
            None if offset is None else timedelta(seconds=offset),
        )

    # -- the outbox -----------------------------------------------------------------

    def record_offline_redemption(
        self, card: CachedCard, amount_minor: int, attempt_key: str, cashier_id: str | None = None
    ) -> TerminalEvent:
        """Write the event durably; the card's available balance drops with it.

        `attempt_key` is the Idempotency-Key of the online attempt that got no answer: if
        the server did apply that attempt, it recognises this event as the same one."""
        return self._record(
            GiftCardRedemption(
                card_id=card.id,
                amount_minor=amount_minor,
                currency=card.currency,
                attempt_key=attempt_key,
                **_cashier(cashier_id),
            )
        )

    def record_offline_voucher(
        self,
        voucher_id: str,
        face_minor: int,
        currency: str,
        attempt_key: str,
        cashier_id: str | None = None,
    ) -> TerminalEvent:
        """A voucher used offline; its face value counts towards the unsynced total."""
        return self._record(
            VoucherRedemption(
                voucher_id=voucher_id,
                amount_minor=face_minor,
                currency=currency,
                attempt_key=attempt_key,
                **_cashier(cashier_id),
            )
        )

    def record_product_edit(
        self, product_id: str, name: str, price_minor: int, base_version: int | None
    ) -> TerminalEvent:
        """A vendor's product edit (or a new product, with no base version), queued for the
        server, which applies it only to the version it was made on."""
        return self._record(
            ProductEdit(
                product_id=product_id, name=name, price_minor=price_minor, base_version=base_version
            )
        )

    def record_deal_edit(self, edit: DealEdit) -> TerminalEvent:
        """A vendor's change to a deal (title, description, quantity_limit), queued."""
        return self._record(edit)

    def record_branch_edit(self, edit: BranchEdit) -> TerminalEvent:
        """A vendor's change to a branch (name, address, opening hours), queued."""
        return self._record(edit)

    def pending_branch_edits(self) -> dict[str, BranchEdit]:
        """Branch edits made here and not yet synced: the newest of each, by branch id."""
        return {edit.branch_id: edit for edit in self._pending_edits(BranchEdit)}

    def pending_product_edits(self) -> dict[str, ProductEdit]:
        """Product edits made here and not yet synced: the newest of each, by product id."""
        return {edit.product_id: edit for edit in self._pending_edits(ProductEdit)}

    def pending_deal_edits(self) -> dict[str, DealEdit]:
        """Deal edits made here and not yet synced: the newest of each, by deal id."""
        return {edit.deal_id: edit for edit in self._pending_edits(DealEdit)}

    def _pending_edits(self, kind: type[_Edit]) -> list[_Edit]:
        rows = self.db.execute(
            "SELECT payload FROM outbox WHERE type = ? ORDER BY seq", [kind.event_type.value]
        ).fetchall()
        return [kind.model_validate_json(row[0]) for row in rows]

    def products(self) -> list[ProductState]:
        rows = self.db.execute(
            "SELECT id, name, price_minor, currency, version FROM products ORDER BY name"
        ).fetchall()
        return [
            ProductState(id=i, name=name, price_minor=price, currency=currency, version=version)
            for i, name, price, currency, version in rows
        ]

    def deals(self) -> list[DealState]:
        """The business's deals as last synced."""
        return [DealState.model_validate_json(text) for text in self._listings("deals")]

    def branches(self) -> list[BranchState]:
        """The business's branches as last synced."""
        return [BranchState.model_validate_json(text) for text in self._listings("branches")]

    def _listings(self, kind: str) -> list[str]:
        rows = self.db.execute(
            "SELECT document FROM listings WHERE kind = ? ORDER BY id", [kind]
        ).fetchall()
        return [str(row[0]) for row in rows]

    # -- the day's journal ------------------------------------------------------------

    def note_redemption(
        self,
        kind: RedemptionKind,
        subject_id: str,
        amount: Money,
        mode: Mode,
        balance_after: Money | None,
        attempt_key: str,
        cashier: str | None = None,
    ) -> None:
        """An approved redemption, for the cashier's history (the outbox is the record)."""
        self.db.execute(
            "INSERT INTO journal (at, kind, subject_id, amount_minor, currency, mode, "
            "balance_after_minor, attempt_key, cashier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                _now(),
                kind,
                subject_id,
                amount.minor,
                amount.currency.code,
                mode,
                None if balance_after is None else balance_after.minor,
                attempt_key,
                cashier,
            ],
        )

    def record_void(self, entry: JournalEntry, cashier_id: str | None = None) -> TerminalEvent:
        """Take back a gift-card redemption of this terminal (by `cashier_id`, who is signed
        in): queued for the server, which puts the value back on the card; the journal shows
        it voided from now on."""
        return self._record(
            RedemptionVoid(
                attempt_key=entry.attempt_key,
                card_id=entry.subject_id,
                amount_minor=entry.amount.minor,
                currency=entry.amount.currency.code,
                **_cashier(cashier_id),
            ),
            also=("UPDATE journal SET voided = 1 WHERE id = ?", [entry.id]),
        )

    def record_withdrawal(
        self,
        kind: RedemptionKind,
        subject_id: str,
        amount: Money,
        attempt_key: str,
        cashier_id: str | None = None,
    ) -> TerminalEvent:
        """Take back an online attempt that may have reached the server (its answer was
        lost) and that this till then did not approve: queued for the server, which gives
        it back if it had applied it, and refuses it if it arrives later."""
        subject = "card_id" if kind is RedemptionKind.GIFT_CARD else "voucher_id"
        return self._record(
            AttemptWithdrawn.model_validate(
                {
                    "attempt_key": attempt_key,
                    subject: subject_id,
                    "amount_minor": amount.minor,
                    "currency": amount.currency.code,
                    **_cashier(cashier_id),
                }
            )
        )

    def journal(self, since: datetime) -> list[JournalEntry]:
        """Approved redemptions since `since`, newest first."""
        return self._entries(
            "SELECT id, at, kind, subject_id, amount_minor, currency, mode, "
            "balance_after_minor, attempt_key, voided, cashier FROM journal WHERE at >= ? "
            "ORDER BY id DESC",
            [since.astimezone(UTC).isoformat()],
        )

    def save_receipt(self, reference: str, document: str) -> None:
        """An approval's receipt (`receipts.receipt_json`), kept for reprints; not printed
        yet (`receipt_printed` says when it is)."""
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO receipts (reference, made_at, document, printed) "
                "VALUES (?, ?, ?, 0)",
                [reference, _now(), document],
            )

    def receipt_printed(self, reference: str) -> None:
        """The receipt kept for `reference` was printed: from now on it prints as a copy."""
        with self.transaction():
            self.db.execute("UPDATE receipts SET printed = 1 WHERE reference = ?", [reference])

    def kept_receipt(self, reference: str | None = None) -> KeptReceipt | None:
        """The receipt kept for `reference`; given None, the latest one kept."""
        if reference is None:
            row = self.db.execute(
                "SELECT reference, document, printed FROM receipts "
                "ORDER BY made_at DESC, rowid DESC LIMIT 1"
            ).fetchone()
        else:
            row = self.db.execute(
                "SELECT reference, document, printed FROM receipts WHERE reference = ?",
                [reference],
            ).fetchone()
        return None if row is None else KeptReceipt(str(row[0]), str(row[1]), bool(row[2]))

    def receipt_document(self, reference: str | None = None) -> str | None:
        """The receipt kept for `reference`; given None, the latest one kept."""
        kept = self.kept_receipt(reference)
        return None if kept is None else kept.document

    def journal_entry(self, reference: str) -> JournalEntry | None:
        """The approved redemption whose key (its reference) is `reference`, if made here."""
        found = self._entries(
            "SELECT id, at, kind, subject_id, amount_minor, currency, mode, "
            "balance_after_minor, attempt_key, voided, cashier FROM journal WHERE attempt_key = ?",
            [reference],
        )
        return found[0] if found else None

    def _entries(self, query: str, values: list[str]) -> list[JournalEntry]:
        rows = self.db.execute(query, values).fetchall()
        return [
            JournalEntry(
                entry_id,
                datetime.fromisoformat(at),
                RedemptionKind(kind),
                subject_id,
                Money.of(amount, currency),
                Mode(mode),
                None if after is None else Money.of(after, currency),
                key,
                bool(voided),
                cashier,
            )
            for (
                entry_id,
                at,
                kind,
                subject_id,
                amount,
                currency,
                mode,
                after,
                key,
                voided,
                cashier,
            ) in rows
        ]

    def voucher_status(self, voucher_id: str) -> VoucherStatus | NewerValue | None:
        """The voucher's state as last pulled; None when this till has not pulled it."""
        row = self.db.execute("SELECT status FROM vouchers WHERE id = ?", [voucher_id]).fetchone()
        return None if row is None else or_newer(VoucherStatus, row[0])

    def voucher_used(self, voucher_id: str) -> bool:
        """Used here (queued, or accepted by the server, today's journal says so), or known
        from the server to be used, or to be in a state this till does not know (a newer
        server's): only one still `issued` is taken offline."""
        queued = self.db.execute(
            "SELECT 1 FROM outbox WHERE type = 'voucher_redemption' "
            "AND json_extract(payload, '$.voucher_id') = ?",
            [voucher_id],
        ).fetchone()
        here = self.db.execute(
            "SELECT 1 FROM journal WHERE kind = ? AND subject_id = ?",
            [RedemptionKind.VOUCHER, voucher_id],
        ).fetchone()
        known = self.db.execute("SELECT status FROM vouchers WHERE id = ?", [voucher_id]).fetchone()
        return (
            queued is not None
            or here is not None
            or (known is not None and known[0] != VoucherStatus.ISSUED)
        )

    def _record(
        self, payload: EventPayload, also: tuple[str, list[Any]] | None = None
    ) -> TerminalEvent:
        """Queue one signed event; `also` is a statement committed with it, or not at all."""
        pairing = self.pairing()
        if pairing is None:
            raise RuntimeError("pair the terminal before redeeming offline")
        with self.transaction():
            seq = int(self._meta("next_seq") or "1")
            event = TerminalEvent.of(
                payload, id=str(uuid.uuid4()), seq=seq, occurred_at=_now()
            ).signed(pairing.private_key)
            self.db.execute(
                "INSERT INTO outbox (seq, id, type, occurred_at, payload, signature) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    event.seq,
                    event.id,
                    event.type,
                    event.occurred_at,
                    json.dumps(event.payload),
                    event.signature,
                ],
            )
            self._set_meta("next_seq", str(seq + 1))
            if also is not None:
                self.db.execute(*also)
        return event

    def pending(self, limit: int = 100) -> list[TerminalEvent]:
        rows = self.db.execute(
            "SELECT id, seq, type, occurred_at, payload, signature FROM outbox "
            "ORDER BY seq LIMIT ?",
            [limit],
        ).fetchall()
        return [TerminalEvent(r[0], int(r[1]), r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    def pending_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def acknowledge(self, results: list[EventResult]) -> None:
        """Drop events the server answered; keep rejected ones aside, with the reason.

        A redemption or void the server took is in the card's balance there, but not yet in
        the one cached here: it moves into it now, so that until the next pull (the server
        may stop answering right after the push) the card does not show that amount again."""
        with self.transaction():
            for result in results:
                if result.status is EventStatus.REJECTED:
                    self.db.execute(
                        "INSERT OR REPLACE INTO rejected_events SELECT seq, id, type, "
                        "occurred_at, payload, ?, ? FROM outbox WHERE id = ?",
                        [result.detail, _now(), result.id],
                    )
                else:
                    self.db.execute(_TAKEN_INTO_THE_CACHE, {"event": result.id})
                self.db.execute("DELETE FROM outbox WHERE id = ?", [result.id])

    def rejected(self) -> list[tuple[str, str]]:
        rows = self.db.execute("SELECT id, reason FROM rejected_events ORDER BY seq").fetchall()
        return [(r[0], r[1]) for r in rows]
