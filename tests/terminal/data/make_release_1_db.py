"""Writes release-1.db: a terminal database as Tillpoint's first release (schema version 1,
commit a7a82fc) left it, for tests/terminal/test_store_migrations.py.

The schema below is copied verbatim from that release's terminal/core/store.py and the rows
are written with plain SQL, so the file comes out the same whatever the current code does.
Run it from the repository root: python tests/terminal/data/make_release_1_db.py
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).parent
TARGET = HERE / "release-1.db"

RELEASE_1_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cards (
    id TEXT PRIMARY KEY, currency TEXT NOT NULL, balance_minor INTEGER NOT NULL,
    status TEXT NOT NULL, synced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    occurred_at TEXT NOT NULL, payload TEXT NOT NULL, signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, price_minor INTEGER NOT NULL,
    currency TEXT NOT NULL, version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_tokens (token_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS vouchers (
    id TEXT PRIMARY KEY, deal_id TEXT NOT NULL, status TEXT NOT NULL, face_minor INTEGER NOT NULL,
    currency TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, subject_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL, currency TEXT NOT NULL, mode TEXT NOT NULL,
    balance_after_minor INTEGER, attempt_key TEXT NOT NULL, voided INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS listings (
    kind TEXT NOT NULL, id TEXT NOT NULL, document TEXT NOT NULL, PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS rejected_events (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, occurred_at TEXT NOT NULL,
    payload TEXT NOT NULL, reason TEXT NOT NULL, rejected_at TEXT NOT NULL
);
"""

# What the test checks survived the upgrade.
DEVICE_KEY_SEED = bytes(range(32))
META = {
    "schema_version": "1",
    "server_url": "http://127.0.0.1:8000",
    "device_id": "dev-release-1",
    "business_id": "Ab3dE5gH7jK9",
    "device_secret": "secret-release-1",
    "cursor": "42",
    "next_seq": "3",
    "synced_at": "2025-06-01T09:00:00+00:00",
    "offline_limits": json.dumps(
        {
            "max_single_minor": 5000,
            "max_per_card_minor": 8000,
            "max_unsynced_minor": 12000,
            "max_cache_age_seconds": 86400,
            "stale_cache_max_minor": 500,
        }
    ),
    "plan": json.dumps({"name": "Starter", "max_products": 10, "status": "active"}),
}
CARDS = [
    ("card-active", "GBP", 2500, "active", "2025-06-01T09:00:00+00:00"),
    ("card-blocked", "GBP", 700, "blocked", "2025-06-01T09:00:00+00:00"),
]
OUTBOX = [
    (
        1,
        "0b7c4a1e-0000-4000-8000-000000000001",
        "gift_card_redemption",
        "2025-06-01T10:00:00+00:00",
        {"card_id": "card-active", "amount_minor": 300, "currency": "GBP", "attempt_key": "k1"},
        "c2lnbmF0dXJlLTE",
    ),
    (
        2,
        "0b7c4a1e-0000-4000-8000-000000000002",
        "product_edit",
        "2025-06-01T10:05:00+00:00",
        {"product_id": "p1", "name": "Flat white", "price_minor": 320, "base_version": 1},
        "c2lnbmF0dXJlLTI",
    ),
]
JOURNAL = [
    ("2025-06-01T10:00:00+00:00", "gift_card", "card-active", 300, "GBP", "offline", 2200, "k1"),
]


def device_key_pem() -> str:
    key = Ed25519PrivateKey.from_private_bytes(DEVICE_KEY_SEED)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def main() -> None:
    TARGET.unlink(missing_ok=True)
    db = sqlite3.connect(TARGET, isolation_level=None)
    db.execute("PRAGMA page_size = 1024")  # a small file to commit
    db.executescript(RELEASE_1_SCHEMA)
    db.execute("BEGIN")
    for key, value in {**META, "device_key": device_key_pem()}.items():
        db.execute("INSERT INTO meta VALUES (?, ?)", [key, value])
    db.executemany("INSERT INTO cards VALUES (?, ?, ?, ?, ?)", CARDS)
    db.executemany(
        "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?)",
        [(s, i, t, at, json.dumps(p), sig) for s, i, t, at, p, sig in OUTBOX],
    )
    db.executemany(
        "INSERT INTO journal (at, kind, subject_id, amount_minor, currency, mode, "
        "balance_after_minor, attempt_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        JOURNAL,
    )
    db.execute("INSERT INTO products VALUES ('p1', 'Flat white', 300, 'GBP', 1)")
    db.execute("INSERT INTO revoked_tokens VALUES ('revoked-1')")
    db.execute("COMMIT")
    db.execute("VACUUM")
    db.close()


if __name__ == "__main__":
    main()
