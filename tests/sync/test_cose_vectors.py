"""COSE_Sign1 against the cose-wg examples: every Sign1 case gives its expected result."""

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

from sync.tokens.cose import decode_sign1
from sync.tokens.cwt import decode_claims
from sync.tokens.errors import TokenError, UnsupportedAlgError
from tests.conftest import require_shared, shared_dir

COSE = shared_dir() / "vectors" / "cose"
CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}


def _b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _field(key, name):
    return bytes.fromhex(key[f"{name}_hex"]) if f"{name}_hex" in key else _b64url(key[name])


def public_key(jwk):
    if jwk["kty"] == "OKP":
        cls = ed25519.Ed25519PublicKey if jwk["crv"] == "Ed25519" else ed448.Ed448PublicKey
        return cls.from_public_bytes(_field(jwk, "x"))
    x, y = (int.from_bytes(_field(jwk, n), "big") for n in ("x", "y"))
    return ec.EllipticCurvePublicNumbers(x, y, CURVES[jwk["crv"]]).public_key()


def sign1_cases():
    if not COSE.is_dir():
        return [pytest.param(None, id="vectors-missing")]
    cases = []
    for path in sorted(COSE.rglob("*.json")):
        if "sign0" in json.loads(path.read_text())["input"]:
            cases.append(pytest.param(path, id=str(path.relative_to(COSE))))
    return cases


@pytest.mark.parametrize("path", sign1_cases())
def test_cose_wg_sign1_example(path: Path | None):
    require_shared("vectors/cose")
    assert path is not None
    case = json.loads(path.read_text())
    signer = case["input"]["sign0"]
    aad = bytes.fromhex(signer.get("external", ""))
    data = bytes.fromhex(case["output"]["cbor"])
    expect_pass = not case.get("fail", False)
    outcome: str
    try:
        message = decode_sign1(data)
        message.verify(public_key(signer["key"]), external_aad=aad)
        outcome = "pass"
    except UnsupportedAlgError:
        outcome = "unsupported_alg"
    except TokenError as exc:
        outcome = exc.code
    if signer["alg"] in ("EdDSA", "ES256"):
        assert (outcome == "pass") == expect_pass, outcome
        if expect_pass and "ToBeSign_hex" in case.get("intermediates", {}):
            expected = bytes.fromhex(case["intermediates"]["ToBeSign_hex"])
            assert message.to_be_signed(aad) == expected
    else:
        assert outcome == "unsupported_alg", f"{signer['alg']} must be refused, got {outcome}"


def test_ed25519_signature_matches_the_rfc_example():
    """Ed25519 is deterministic: signing the example's ToBeSign with its key gives its bytes."""
    case = json.loads(
        (require_shared("vectors/cose") / "eddsa-examples/eddsa-sig-01.json").read_text()
    )
    key = ed25519.Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex(case["input"]["sign0"]["key"]["d_hex"])
    )
    message = decode_sign1(bytes.fromhex(case["output"]["cbor"]))
    assert key.sign(message.to_be_signed()) == message.signature


def test_rfc8392_signed_cwt_claims():
    case = json.loads((require_shared("vectors/cose") / "CWT/A_3.json").read_text())
    message = decode_sign1(bytes.fromhex(case["output"]["cbor"]))
    message.verify(public_key(case["input"]["sign0"]["key"]))
    claims = decode_claims(message.payload)
    assert claims[1] == "coap://as.example.com"
    assert claims[2] == "erikw"
    assert claims[4] == 1444064944
