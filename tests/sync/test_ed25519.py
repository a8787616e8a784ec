"""The Ed25519 check every pushed event and token goes through (libsodium's)."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.ed25519 import signature_holds

# The order of Ed25519's group: S and S + L are the same signature to a lax checker.
L = 2**252 + 27742317777372353535851937790883648493


@pytest.fixture
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_signature_holds_for_its_key_and_data_only(signer):
    data = b"redeemed 1p of card abc"
    signature = signer.sign(data)
    assert signature_holds(signer.public_key(), signature, data)
    assert not signature_holds(signer.public_key(), signature, data + b"0")
    assert not signature_holds(Ed25519PrivateKey.generate().public_key(), signature, data)


@pytest.mark.parametrize("cut", [0, 1, 63, 65])
def test_a_signature_of_the_wrong_length_does_not_hold(signer, cut):
    signature = (signer.sign(b"x") * 2)[:cut]
    assert not signature_holds(signer.public_key(), signature, b"x")


def test_every_flipped_bit_of_a_signature_is_refused(signer):
    signature = signer.sign(b"data")
    for bit in range(len(signature) * 8):
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not signature_holds(signer.public_key(), bytes(flipped), b"data"), bit


def test_a_malleated_signature_is_refused(signer):
    """S + L verifies under a lax check: a second valid-looking copy of one signature."""
    signature = signer.sign(b"data")
    s = int.from_bytes(signature[32:], "little") + L
    assert s < 2**256
    assert not signature_holds(
        signer.public_key(), signature[:32] + s.to_bytes(32, "little"), b"data"
    )
