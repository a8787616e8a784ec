"""`tillpoint token verify --prefix HC1:` on the EU Digital COVID Certificate test data.

Each file's EXPECTEDRESULTS are checked step by step, through the CLI a person uses.
"""

import base64
import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sync.cli import main
from tests.conftest import require_shared, shared_dir

DGC = shared_dir() / "vectors" / "dgc"
STEPS = (
    "EXPECTEDUNPREFIX",
    "EXPECTEDB45DECODE",
    "EXPECTEDCOMPRESSION",
    "EXPECTEDVERIFY",
    "EXPECTEDEXPIRATIONCHECK",
)
# The first error code that means a step failed.
STEP_ERRORS = {
    "EXPECTEDUNPREFIX": {"bad_prefix"},
    "EXPECTEDB45DECODE": {"bad_base45"},
    "EXPECTEDCOMPRESSION": {"bad_compression"},
    "EXPECTEDVERIFY": {"bad_cbor", "bad_cose", "unknown_kid", "bad_signature", "bad_claims"},
    "EXPECTEDEXPIRATIONCHECK": {"expired", "not_yet_valid"},
}


def dgc_cases():
    if not DGC.is_dir():
        return [pytest.param(None, id="vectors-missing")]
    cases = []
    for path in sorted(DGC.rglob("*.json")):
        expected = json.loads(path.read_text()).get("EXPECTEDRESULTS", {})
        if any(step in expected for step in STEPS):
            cases.append(pytest.param(path, id=str(path.relative_to(DGC))))
    return cases


def write_trust_list(case, folder):
    """The signer certificate under the dgc kid: the first 8 bytes of SHA-256 over its DER."""
    der = base64.b64decode(case["TESTCTX"]["CERTIFICATE"])
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    kid = base64.b64encode(hashlib.sha256(der).digest()[:8]).decode()
    path = folder / "trust.json"
    path.write_text(json.dumps({"keys": [{"kid": kid, "key": pem.decode()}]}))
    return path


def run_verify(capsys, args):
    code = main(["token", "verify", *args])
    out = json.loads(capsys.readouterr().out)
    return code, out


@pytest.mark.parametrize("path", dgc_cases())
def test_dgc_expected_results(path, tmp_path, capsys):
    require_shared("vectors/dgc")
    case = json.loads(path.read_text())
    expected = case["EXPECTEDRESULTS"]
    args = [
        case["PREFIX"],
        "--prefix",
        "HC1:",
        "--compression",
        "required",
        "--trust",
        str(write_trust_list(case, tmp_path)),
        "--now",
        case["TESTCTX"]["VALIDATIONCLOCK"],
    ]
    code, out = run_verify(capsys, args)
    error = out.get("error")
    assert code == (0 if out["valid"] else 1)
    if error == "unsupported_alg":
        # PS256 (RSA) signers: refused by policy, and never mistaken for a valid token.
        header = json.loads(_inspect(capsys, case["PREFIX"]))["header"]
        assert header["alg"] == "PS256"
        return
    for step in STEPS:
        if step not in expected:
            continue
        failed_here = error in STEP_ERRORS[step]
        assert failed_here != expected[step], f"{step}: expected {expected[step]}, got {out}"
        if not expected[step]:
            return  # later steps cannot run after a failed one
    if expected.get("EXPECTEDVERIFY") and "EXPECTEDEXPIRATIONCHECK" in expected:
        assert out["valid"] is expected["EXPECTEDEXPIRATIONCHECK"], out


def _inspect(capsys, text):
    assert main(["token", "inspect", text, "--prefix", "HC1:"]) == 0
    return capsys.readouterr().out


def test_ps256_signers_answer_unsupported_alg(tmp_path, capsys):
    case = json.loads((require_shared("vectors/dgc") / "common" / "CO1.json").read_text())
    code, out = run_verify(
        capsys,
        [case["PREFIX"], "--prefix", "HC1:", "--trust", str(write_trust_list(case, tmp_path))],
    )
    assert (code, out["error"]) == (1, "unsupported_alg")


def test_certificate_given_with_key_is_trusted_for_any_kid(tmp_path, capsys):
    case = json.loads((require_shared("vectors/dgc") / "DE" / "1.json").read_text())
    cert = tmp_path / "signer.der"
    cert.write_bytes(base64.b64decode(case["TESTCTX"]["CERTIFICATE"]))
    now = case["TESTCTX"]["VALIDATIONCLOCK"]
    code, out = run_verify(
        capsys, [case["PREFIX"], "--prefix", "HC1:", "--key", str(cert), "--now", now]
    )
    assert code == 0, out
    assert out["header"]["alg"] == "ES256"
    assert "-260" in out["claims"]  # the health certificate claim
