"""`tillpoint keys` and `tillpoint token` as a person runs them."""

import io
import json
import stat
import subprocess
import sys

import pytest

from sync.cli import main


def run(capsys, *argv, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def keydir(tmp_path, capsys):
    code, out, _ = run(capsys, "keys", "generate", "--out", str(tmp_path / "keys"))
    assert code == 0
    assert "kid:" in out
    return tmp_path / "keys"


def private_key(keydir):
    (path,) = keydir.glob("*.private.pem")
    return path


def test_generate_writes_a_private_key_only_its_owner_can_read(keydir):
    mode = stat.S_IMODE(private_key(keydir).stat().st_mode)
    assert mode == 0o600
    trust = json.loads((keydir / "trust.json").read_text())
    assert len(trust["keys"]) == 1
    assert trust["keys"][0]["key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_rotation_adds_to_the_trust_list_and_old_tokens_still_verify(keydir, capsys):
    old_key = private_key(keydir)
    _, old_token, _ = run(capsys, "token", "issue", "--key", str(old_key))
    run(capsys, "keys", "generate", "--out", str(keydir))
    assert len(json.loads((keydir / "trust.json").read_text())["keys"]) == 2
    code, out, _ = run(
        capsys, "token", "verify", old_token.strip(), "--trust", str(keydir / "trust.json")
    )
    assert code == 0, out


def test_issue_then_verify(keydir, capsys):
    code, text, _ = run(
        capsys, "token", "issue", "--key", str(private_key(keydir)), "--kind", "voucher",
        "--face", "12.50", "--currency", "GBP", "--business", "AQIDBAUGBwg",
    )  # fmt: skip
    assert code == 0
    code, out, _ = run(
        capsys, "token", "verify", text.rstrip("\n"), "--trust", str(keydir / "trust.json")
    )
    result = json.loads(out)
    assert code == 0
    assert result["valid"] is True
    assert result["claims"]["iss"] == "AQIDBAUGBwg"
    assert result["claims"]["face"]["text"] == "£12.50"


def test_verify_reads_stdin_and_reports_tampering(keydir, capsys, monkeypatch):
    _, text, _ = run(capsys, "token", "issue", "--key", str(private_key(keydir)))
    tampered = text.rstrip("\n")[:-3] + ("AAA" if not text.rstrip("\n").endswith("AAA") else "BBB")
    code, out, _ = run(
        capsys, "token", "verify", "-", "--trust", str(keydir / "trust.json"),
        stdin=tampered + "\n", monkeypatch=monkeypatch,
    )  # fmt: skip
    result = json.loads(out)
    assert code == 1
    assert result["valid"] is False
    assert result["error"] in {"bad_signature", "bad_base45"}
    assert result["message"]


def test_verify_with_now_reports_expiry(keydir, capsys):
    _, text, _ = run(capsys, "token", "issue", "--key", str(private_key(keydir)), "--days", "30")
    code, out, _ = run(
        capsys, "token", "verify", text.rstrip("\n"), "--trust", str(keydir / "trust.json"),
        "--now", "2099-01-01T00:00:00Z",
    )  # fmt: skip
    assert (code, json.loads(out)["error"]) == (1, "expired")


def test_verify_wrong_issuer(keydir, capsys):
    _, text, _ = run(capsys, "token", "issue", "--key", str(private_key(keydir)))
    code, out, _ = run(
        capsys, "token", "verify", text.rstrip("\n"), "--trust", str(keydir / "trust.json"),
        "--issuer", "0000000000000000",
    )  # fmt: skip
    assert (code, json.loads(out)["error"]) == (1, "wrong_issuer")


def test_inspect_decodes_without_keys(keydir, capsys):
    _, text, _ = run(capsys, "token", "issue", "--key", str(private_key(keydir)))
    code, out, _ = run(capsys, "token", "inspect", text.rstrip("\n"))
    document = json.loads(out)
    assert code == 0
    assert document["header"]["alg"] == "EdDSA"
    assert document["claims"]["kind"] == "gift_card"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["token", "verify", "TP1:X"], "--trust FILE and/or --key FILE"),
        (["token", "verify", "TP1:X", "--trust", "/nonexistent.json"], "cannot read trust list"),
        (["token", "verify", "TP1:X", "--key", "/nonexistent.pem"], "cannot read key"),
        (["token", "verify", "TP1:X", "--key", "pyproject.toml"], "not a public key"),
        (["token", "verify", "TP1:X", "--key", "/nonexistent.pem", "--now", "noon"], "ISO 8601"),
        (["token", "issue", "--key", "/nonexistent.pem"], "cannot read private key"),
    ],
)
def test_usage_errors_exit_2_with_a_plain_message(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_voucher_without_face_is_a_usage_error(keydir, capsys):
    code, _, err = run(
        capsys, "token", "issue", "--key", str(private_key(keydir)), "--kind", "voucher"
    )
    assert code == 2
    assert "--face" in err


def test_bad_face_value_says_why(keydir, capsys):
    code, _, err = run(
        capsys, "token", "issue", "--key", str(private_key(keydir)), "--kind", "voucher",
        "--face", "12.505",
    )  # fmt: skip
    assert code == 2
    assert "too many decimals" in err


def test_the_installed_console_script_runs(keydir):
    """The real entry point, as a shell runs it: garbage in, a typed error and exit 1."""
    result = subprocess.run(
        [sys.executable, "-m", "sync.cli", "token", "verify", "TP1:%%%%", "--trust",
         str(keydir / "trust.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["error"] == "bad_base45"
    usage = subprocess.run(
        [sys.executable, "-m", "sync.cli", "token", "verify", "--bogus"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert usage.returncode == 2
