"""A receipt names the till's own branch (the one its pairing code named), not only when
the business has one; each approval's receipt is kept and prints again as a marked copy,
byte for byte the same words and QR code to the ESC/POS printer."""

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from escpos.printer import Dummy

from hardware import EscposPrinter, render_text
from sync.money import Money
from sync.tokens import IssuerKey, Kind, TrustedKey, TrustList
from sync.wire import ChangesPage
from terminal.core.kinds import Mode
from terminal.core.presented import Presented
from terminal.core.receipts import shop_of
from terminal.core.session import TerminalSession
from terminal.core.store import Pairing, TerminalStore
from terminal.core.till import Verdict

KEY = IssuerKey.generate()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BRANCHES = [
    {"id": "branchhigh1", "name": "High Street", "address": "1 High Street"},
    {"id": "branchstat1", "name": "Station Road", "address": "9 Station Road"},
]


def branches_page(branches):
    return ChangesPage.model_validate(
        {
            "cursor": 1,
            "more": False,
            "cards": [],
            "products": [],
            "deals": [],
            "branches": branches,
            "vouchers": [],
            "revoked_token_ids": [],
            "business_name": "Corner Café",
            "trust_list": TrustList((TrustedKey(KEY.kid, KEY.public_key),)).to_json(),
            "offline_limits": {
                "max_single_minor": 5000,
                "max_per_card_minor": 8000,
                "max_unsynced_minor": 12000,
                "max_cache_age_seconds": 3600,
                "stale_cache_max_minor": 500,
            },
        }
    )


@pytest.fixture
def store(tmp_path):
    store = TerminalStore(tmp_path / "till.db")
    store.save_pairing(
        Pairing("http://127.0.0.1:9", "dev", "biz", "secret", Ed25519PrivateKey.generate())
    )
    store.save_till_name("Till 2")
    yield store
    store.close()


@pytest.mark.parametrize(
    ("branches", "own", "named"),
    [
        (BRANCHES, "branchstat1", "Station Road"),  # its own, among several
        (BRANCHES, None, None),  # paired without one: it cannot tell which
        (BRANCHES[:1], None, "High Street"),  # the business's only one
        (BRANCHES[:1], "closedbran1", "High Street"),  # its own was closed since
    ],
)
def test_the_receipt_names_the_till_branch(store, branches, own, named):
    store.apply_changes(branches_page(branches))
    if own is not None:
        store.save_till_branch(own)
    assert shop_of(store).branch == named


def approval():
    presented = Presented("TP1:x", Kind.GIFT_CARD, "card0000a1b2c3", "GBP", None, None)
    verdict = Verdict(
        True,
        Mode.ONLINE,
        "Approved by the server.",
        Money.of(3750, "GBP"),
        "card0000a1b2c3",
        reference="attempt-1",
        operation_id="op-7f3a",
    )
    return verdict, presented, Money.of(1250, "GBP")


def test_a_kept_receipt_prints_again_as_a_copy(tmp_path, store):
    store.apply_changes(branches_page(BRANCHES))
    store.save_till_branch("branchstat1")
    store.close()
    session = TerminalSession(tmp_path / "till.db", clock=lambda: NOW)
    assert session.reprint() is None  # nothing approved yet
    original = Dummy()
    EscposPrinter(original).print_receipt(session.keep_receipt(*approval()))
    copy = Dummy()
    reprinted = session.reprint("attempt-1")
    assert reprinted is not None
    EscposPrinter(copy).print_receipt(reprinted)
    first, again = original.output, copy.output
    for words in (b"Corner Caf\x82", b"Station Road", b"Till 2", b"Ref op-7f3a", b"37.50"):
        assert words in first
        assert words in again
    assert b"\x1d(k\x0a\x001P0op-7f3a" in again  # the same reference as a QR code
    assert b"COPY" not in first
    assert b"Gift card redeemed (COPY)" in again
    assert f"Reprinted {NOW.astimezone():%Y-%m-%d %H:%M}".encode() in again
    latest = session.reprint()
    assert latest is not None
    assert render_text(latest) == render_text(reprinted)
    assert session.reprint("another-ref") is None
    session.close()
