"""What a till keeps of its revocation (without a server): the mark survives closing the
file, a new pairing clears it, and meanwhile the till queues no listing edit; and the
`--serve` refusal's SSH example names the port it was given."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.cli import main
from sync.money import Money
from terminal.core.catalogue import edit_product
from terminal.core.revocation import EDIT_REFUSED
from terminal.core.store import Pairing, TerminalStore
from terminal.core.suspension import ListingEditsPausedError
from terminal.web.command import AddressError, check_address
from tests.terminal.test_roles_app import paired_till


def test_the_revocation_is_kept_in_the_file_until_the_till_is_paired_anew(tmp_path, key):
    store = paired_till(tmp_path / "till.db", key)
    assert store.revoked_at() is None
    store.save_revoked()
    first = store.revoked_at()
    store.save_revoked()  # heard again: still when it was first heard
    store.close()
    store = TerminalStore(tmp_path / "till.db")
    assert store.revoked_at() == first is not None
    pairing = store.pairing()
    assert pairing is not None
    store.save_pairing(
        Pairing(pairing.server_url, "dev2", pairing.business_id, "s2", Ed25519PrivateKey.generate())
    )
    assert store.revoked_at() is None
    store.close()


def test_a_revoked_till_queues_no_listing_edit(tmp_path, key):
    store = paired_till(tmp_path / "till.db", key)
    store.save_revoked()
    with pytest.raises(ListingEditsPausedError) as refused:
        edit_product(store, None, "Scone", Money.of(250, "GBP"))
    assert str(refused.value) == EDIT_REFUSED
    assert store.pending_count() == 0
    store.close()


def test_the_ssh_example_names_the_port_given(tmp_path, capsys):
    with pytest.raises(AddressError, match=r"ssh -N -L 8112:127\.0\.0\.1:8112 till-box"):
        check_address("0.0.0.0", None, 8112)
    data = str(tmp_path / "till.db")
    argv = ["terminal", "--serve", "--host", "0.0.0.0", "--port", "8112", "--data", data]
    assert main(argv) == 2
    said = capsys.readouterr().err
    assert "ssh -N -L 8112:127.0.0.1:8112" in said
    assert "8080" not in said
