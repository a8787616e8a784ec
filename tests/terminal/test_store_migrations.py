"""The terminal's database upgrades itself on open, from a file the first release wrote
(data/release-1.db, made by data/make_release_1_db.py), and refuses a file from a newer
Tillpoint; each thread works on its own connection, reused."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.core import store as store_module
from terminal.core.kinds import CardStatus, Mode, RedemptionKind
from terminal.core.store import SCHEMA_VERSION, LastSync, SchemaTooNewError, TerminalStore
from tests.terminal.data import make_release_1_db as release_1

RELEASE_1 = Path(__file__).parent / "data" / "release-1.db"


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / "terminal.db"
    shutil.copyfile(RELEASE_1, path)
    return path


def version_in(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0])


def schema_of(path: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    return sorted((name, " ".join(sql.split())) for name, sql in rows)


def test_the_fixture_is_a_release_1_file():
    assert version_in(RELEASE_1) == 1 < SCHEMA_VERSION


def test_a_release_1_file_is_upgraded_on_open(old_file, tmp_path):
    TerminalStore(old_file).close()
    assert version_in(old_file) == SCHEMA_VERSION
    fresh = tmp_path / "fresh.db"
    TerminalStore(fresh).close()
    assert schema_of(old_file) == schema_of(fresh)  # as if made by this release


def test_the_upgrade_keeps_the_credentials_cursor_cards_and_outbox(old_file):
    store = TerminalStore(old_file)
    pairing = store.pairing()
    assert pairing is not None
    assert (pairing.server_url, pairing.device_id, pairing.business_id, pairing.secret) == (
        release_1.META["server_url"],
        release_1.META["device_id"],
        release_1.META["business_id"],
        release_1.META["device_secret"],
    )
    expected_key = Ed25519PrivateKey.from_private_bytes(release_1.DEVICE_KEY_SEED)
    assert pairing.private_key.public_key() == expected_key.public_key()
    assert store.cursor() == 42
    assert store.synced_at() == release_1.META["synced_at"]
    limits = store.offline_limits()
    assert limits is not None
    assert limits.model_dump() == {
        "max_single_minor": 5000,
        "max_per_card_minor": 8000,
        "max_unsynced_minor": 12000,
        "max_cache_age_seconds": 86400,
        "stale_cache_max_minor": 500,
    }
    card = store.card("card-active")
    assert card is not None
    assert (card.balance_minor, card.status) == (2500 - 300, CardStatus.ACTIVE)
    blocked = store.card("card-blocked")
    assert blocked is not None
    assert blocked.status is CardStatus.BLOCKED
    events = store.pending()
    assert [(e.seq, e.id, e.type, e.payload) for e in events] == [
        (seq, event_id, kind, payload) for seq, event_id, kind, _, payload, _ in release_1.OUTBOX
    ]
    assert [e.signature for e in events] == [row[5] for row in release_1.OUTBOX]
    (entry,) = store.journal(since=datetime(2025, 1, 1, tzinfo=UTC))
    assert (entry.kind, entry.mode, entry.amount.minor) == (
        RedemptionKind.GIFT_CARD,
        Mode.OFFLINE,
        300,
    )
    assert store.revoked_token_ids() == {"revoked-1"}
    assert [p.name for p in store.products()] == ["Flat white"]
    store.close()


def test_the_next_event_continues_the_release_1_sequence(old_file):
    store = TerminalStore(old_file)
    card = store.card("card-active")
    assert card is not None
    event = store.record_offline_redemption(card, 100, "k2")
    assert event.seq == 3
    store.close()


def test_an_upgraded_file_opens_again_unchanged(old_file):
    TerminalStore(old_file).close()
    before = schema_of(old_file)
    TerminalStore(old_file).close()
    assert schema_of(old_file) == before


def test_a_file_from_a_newer_tillpoint_is_refused_and_left_alone(old_file):
    with closing(sqlite3.connect(old_file)) as db, db:
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)]
        )
    before = schema_of(old_file)
    with pytest.raises(SchemaTooNewError, match="newer Tillpoint") as refused:
        TerminalStore(old_file)
    assert "pip install --upgrade" in str(refused.value)
    assert version_in(old_file) == SCHEMA_VERSION + 1
    assert schema_of(old_file) == before


def test_a_step_that_fails_leaves_the_file_as_it_was(old_file, monkeypatch):
    broken = (*store_module.MIGRATIONS[:1], ("CREATE INDEX outbox_by_type ON outbox (type)",))
    broken += (("CREATE INDEX oops ON no_such_table (x)",),)
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(broken))
    before = schema_of(old_file)
    with pytest.raises(sqlite3.OperationalError):
        TerminalStore(old_file)
    assert version_in(old_file) == 1
    assert schema_of(old_file) == before  # step 2's index went with the rollback


def test_receipts_kept_before_step_5_reprint_as_copies(tmp_path, monkeypatch):
    """A receipt kept by a till before printing was remembered may have been printed: it
    reprints as a copy. One kept after is the original until printed."""
    path = tmp_path / "terminal.db"
    with monkeypatch.context() as older:
        older.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:4])
        older.setattr(store_module, "SCHEMA_VERSION", 4)
        TerminalStore(path).close()
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO receipts VALUES ('before', '2026-11-30T10:00:00+00:00', '{}')")
    store = TerminalStore(path)
    store.save_receipt("after", "{}")
    before, after = store.kept_receipt("before"), store.kept_receipt("after")
    assert before is not None
    assert after is not None
    assert (before.printed, after.printed) == (True, False)
    store.receipt_printed("after")
    assert store.kept_receipt("after") == replace(after, printed=True)
    store.close()


def test_the_last_sync_stamp_moves_to_step_7s_table_its_server_time_unknown(old_file):
    """Until step 7 the till kept only its own stamp, in meta: it moves to `last_sync`,
    without the server's time (judged by the till's clock alone until the next sync)."""
    store = TerminalStore(old_file)
    stamp = datetime.fromisoformat(release_1.META["synced_at"])
    assert store.last_sync() == LastSync(stamp, None, None)
    store.close()
    with closing(sqlite3.connect(old_file)) as db:
        left = db.execute("SELECT value FROM meta WHERE key = 'synced_at'").fetchone()
    assert left is None  # one stamp, in one place


def test_a_new_file_runs_every_step(tmp_path):
    path = tmp_path / "new.db"
    store = TerminalStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


# -- connections ------------------------------------------------------------------------


def in_thread(work):
    result = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def test_a_thread_reuses_its_connection_and_another_thread_has_its_own(tmp_path):
    store = TerminalStore(tmp_path / "t.db")
    mine = store.db.conn
    store.pending_count()
    assert store.db.conn is mine
    assert in_thread(lambda: store.db.conn) is not mine
    store.close()


def test_a_released_connection_is_taken_by_the_next_thread(tmp_path):
    store = TerminalStore(tmp_path / "t.db")

    def work_and_release():
        connection = store.db.conn
        store.pending_count()
        store.release()
        return connection

    first = in_thread(work_and_release)
    assert in_thread(work_and_release) is first
    store.close()


def test_close_closes_every_threads_connection(tmp_path):
    store = TerminalStore(tmp_path / "t.db")
    connections = [store.db.conn, in_thread(lambda: store.db.conn)]
    store.close()
    for connection in connections:
        with pytest.raises(sqlite3.ProgrammingError):
            connection.execute("SELECT 1")
    assert store.pending_count() == 0  # used again, it opens a new one
    store.close()


def test_every_connection_keeps_full_synchronous_commits_in_wal_mode(tmp_path):
    store = TerminalStore(tmp_path / "t.db")
    for db in (store.db, in_thread(lambda: store.db)):
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
