"""The verifier answers every input with valid claims or exactly one typed error."""

import zlib
from datetime import timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.tokens import (
    MAX_QR_CHARS,
    IssuerKey,
    Kind,
    TokenError,
    TrustedKey,
    TrustList,
    Verifier,
    b45decode,
    b45encode,
    decode,
    issue,
)
from sync.tokens.cose import sign1
from sync.tokens.errors import TokenTooLargeError
from sync.tokens.qr import wrap
from tests.sync.conftest import BUSINESS, CARD, NOW, T0, gift_card, voucher


def code_of(verifier, text, **kwargs):
    try:
        verifier.verify(text, **kwargs)
    except TokenError as exc:
        return exc.code
    return "valid"


def test_gift_card_round_trip(issuer_key, verifier):
    token = verifier.verify(issue(issuer_key, gift_card()))
    assert token.tillpoint == gift_card()
    assert token.header_json["alg"] == "EdDSA"
    assert token.claims_json["kind"] == "gift_card"


def test_voucher_round_trip_carries_deal_and_face_value(issuer_key, verifier):
    token = verifier.verify(issue(issuer_key, voucher()))
    assert token.tillpoint is not None
    assert token.tillpoint.face_value is not None
    assert token.tillpoint.face_value.format() == "£12.50"
    assert token.claims_json["face"] == {"minor": 1250, "text": "£12.50"}


@pytest.mark.parametrize(
    "claims",
    [
        gift_card(),
        gift_card(currency="BHD", expires_at=2**32 - 1, not_before=T0 + 60),
        voucher(),
        voucher(currency="BHD", expires_at=2**32 - 1, face_minor=2**32 - 1),
    ],
    ids=["gift-card", "gift-card-largest", "voucher", "voucher-largest"],
)
def test_qr_text_fits_version_8_m(issuer_key, claims):
    text = issue(issuer_key, claims)
    assert len(text) <= MAX_QR_CHARS
    assert text.startswith("TP1:")


def test_issuer_refuses_an_oversized_token(issuer_key):
    with pytest.raises(TokenTooLargeError, match="over 220"):
        issue(issuer_key, voucher(not_before=T0 + 86400, face_minor=2**32 - 1))


def test_es256_keys_verify_too(verifier):
    hsm_key = IssuerKey.from_private_key(ec.generate_private_key(ec.SECP256R1()))
    trust = TrustList((TrustedKey(hsm_key.kid, hsm_key.public_key),))
    token = Verifier(trust, clock=lambda: NOW).verify(issue(hsm_key, gift_card()))
    assert token.header_json["alg"] == "ES256"


def test_rotation_keeps_old_tokens_valid(issuer_key):
    old_token = issue(issuer_key, gift_card(issued_at=T0 - 86400 * 30))
    new_key = IssuerKey.generate()
    rotated = TrustList(
        (
            TrustedKey(issuer_key.kid, issuer_key.public_key, not_after=NOW - timedelta(days=1)),
            TrustedKey(new_key.kid, new_key.public_key, not_before=NOW - timedelta(days=1)),
        )
    )
    verifier = Verifier(rotated, clock=lambda: NOW)
    assert code_of(verifier, old_token) == "valid"
    assert code_of(verifier, issue(new_key, gift_card())) == "valid"
    # A token the retired key signed after its retirement is not trusted.
    assert code_of(verifier, issue(issuer_key, gift_card(issued_at=T0 - 60))) == "untrusted_key"


def _raw_token(key, payload, **kwargs):
    return wrap(sign1(payload, key.private_key, key.kid, **kwargs))


def _with_header(key, protected):
    payload = gift_card().encode()
    protected_bytes = cbor2.dumps(protected)
    structure = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    signature = key.private_key.sign(structure)
    return wrap(cbor2.dumps(cbor2.CBORTag(18, [protected_bytes, {}, payload, signature])))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda k: "XX1:" + issue(k, gift_card())[4:], "bad_prefix"),
        (lambda k: "", "bad_prefix"),
        (lambda k: "TP1:abc", "bad_base45"),
        (lambda k: "TP1:" + b45encode(b"\x78\x9c" + b"garbage"), "bad_compression"),
        (lambda k: "TP1:" + b45encode(zlib.compress(b"\xff\xff")), "bad_cbor"),
        (lambda k: "TP1:" + b45encode(b"\xd2\x84\x40"), "bad_cbor"),
        (lambda k: "TP1:" + b45encode(cbor2.dumps([1, 2, 3])), "bad_cose"),
        (lambda k: "TP1:" + b45encode(cbor2.dumps(cbor2.CBORTag(17, []))), "bad_cose"),
        (lambda k: _with_header(k, {1: -35, 4: k.kid}), "unsupported_alg"),
        (lambda k: _with_header(k, {1: 0, 4: k.kid}), "unsupported_alg"),
        (lambda k: _with_header(k, {1: "none", 4: k.kid}), "unsupported_alg"),
        (lambda k: _with_header(k, {4: k.kid}), "unsupported_alg"),
        (lambda k: _with_header(k, {1: -7, 4: k.kid}), "bad_signature"),  # EdDSA sig as ES256
        (lambda k: issue(IssuerKey.generate(), gift_card()), "unknown_kid"),
        (lambda k: _raw_token(k, gift_card().encode(), kid_protected=False), "valid"),
        (lambda k: "TP1:" + b45encode(b45decode(issue(k, gift_card())[4:])[1:]), "bad_cose"),
        (lambda k: _raw_token(k, b"\xa0"), "bad_claims"),
        (lambda k: _raw_token(k, cbor2.dumps([1])), "bad_claims"),
        (lambda k: _raw_token(k, cbor2.dumps({**gift_card().to_cwt(), -1: 7})), "bad_claims"),
        (lambda k: _raw_token(k, cbor2.dumps({**gift_card().to_cwt(), 6: "now"})), "bad_claims"),
        (lambda k: _raw_token(k, cbor2.dumps({**gift_card().to_cwt(), -2: "XXQ"})), "bad_claims"),
        (lambda k: issue(k, gift_card(issued_at=T0 + 3600)), "not_yet_valid"),
        (lambda k: issue(k, gift_card(not_before=T0 + 3600)), "not_yet_valid"),
        (lambda k: issue(k, gift_card(expires_at=T0)), "expired"),
    ],
)
def test_each_fault_has_its_code(issuer_key, verifier, make, expected):
    assert code_of(verifier, make(issuer_key)) == expected


def test_lists_and_issuer(issuer_key, trust):
    text = issue(issuer_key, gift_card())
    assert code_of(Verifier(trust, issuer=b"\x09" * 8, clock=lambda: NOW), text) == "wrong_issuer"
    assert code_of(Verifier(trust, issuer=BUSINESS, clock=lambda: NOW), text) == "valid"
    revoked = Verifier(trust, revoked={b"\x00\x00\x00\x01"}, clock=lambda: NOW)
    assert code_of(revoked, text) == "revoked"
    assert code_of(Verifier(trust, blocked={CARD}, clock=lambda: NOW), text) == "blocked"


def test_reissued_token_survives_revocation_of_the_old_copy(issuer_key, trust):
    old = issue(issuer_key, gift_card(token_id=b"\x00\x00\x00\x01"))
    new = issue(issuer_key, gift_card(token_id=b"\x00\x00\x00\x02"))
    verifier = Verifier(trust, revoked={b"\x00\x00\x00\x01"}, clock=lambda: NOW)
    assert (code_of(verifier, old), code_of(verifier, new)) == ("revoked", "valid")


def test_leeway_forgives_a_slow_terminal_clock(issuer_key, trust):
    text = issue(issuer_key, gift_card(issued_at=T0 + 30))
    assert code_of(Verifier(trust, clock=lambda: NOW), text) == "not_yet_valid"
    lenient = Verifier(trust, leeway=timedelta(minutes=2), clock=lambda: NOW)
    assert code_of(lenient, text) == "valid"


def test_decode_reads_without_verifying(issuer_key):
    token = decode(issue(IssuerKey.generate(), voucher()))
    assert token.tillpoint is not None
    assert token.tillpoint.kind is Kind.VOUCHER


def test_compressed_tokens_are_read(issuer_key, verifier):
    text = wrap(sign1(gift_card().encode(), issuer_key.private_key, issuer_key.kid), compress=True)
    assert verifier.verify(text).compressed


def test_every_bit_flip_is_rejected(issuer_key, verifier):
    text = issue(issuer_key, voucher())
    raw = b45decode(text[4:])
    for i in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[i // 8] ^= 1 << (i % 8)
        code = code_of(verifier, "TP1:" + b45encode(bytes(flipped)))
        assert code != "valid", f"bit {i} flipped was accepted"


def test_every_character_substitution_is_rejected(issuer_key, verifier):
    text = issue(issuer_key, gift_card())
    for i in range(4, len(text)):
        replacement = "0" if text[i] != "0" else "1"
        changed = text[:i] + replacement + text[i + 1 :]
        assert code_of(verifier, changed) != "valid", f"character {i} changed was accepted"


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_random_text_gets_a_typed_error(verifier, text):
    assert code_of(verifier, text) != "valid"


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), st.booleans())
def test_random_bytes_get_a_typed_error(verifier, data, compress):
    payload = zlib.compress(data) if compress else data
    assert code_of(verifier, "TP1:" + b45encode(payload)) != "valid"


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_tokens_get_a_typed_error(issuer_key, verifier, data):
    raw = bytearray(b45decode(issue(issuer_key, voucher())[4:]))
    for _ in range(data.draw(st.integers(1, 8))):
        action = data.draw(st.sampled_from(["set", "delete", "insert", "truncate"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if action == "set" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif action == "delete" and raw:
            del raw[at]
        elif action == "insert":
            raw.insert(at, data.draw(st.integers(0, 255)))
        else:
            del raw[at:]
    # A mutation may only be accepted if it did not change what was signed
    # (e.g. it re-encoded a length); anything else is refused with a typed error.
    try:
        token = verifier.verify("TP1:" + b45encode(bytes(raw)))
    except TokenError:
        return
    assert token.tillpoint == voucher()


@settings(max_examples=200)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.binary(max_size=20) | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(st.integers(-5, 8), children, max_size=6)
        ),
        max_leaves=20,
    )
)
def test_hostile_cbor_inside_a_valid_signature_is_a_typed_error(payload):
    # Even a correctly signed token with nonsense claims must be refused cleanly.
    key = IssuerKey.generate()
    trust = TrustList((TrustedKey(key.kid, key.public_key),))
    verifier = Verifier(trust, clock=lambda: NOW)
    code_of(verifier, _raw_token(key, cbor2.dumps(payload)))
