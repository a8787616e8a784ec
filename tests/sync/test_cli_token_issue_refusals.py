"""`tillpoint token issue` refuses, in an issuer's words, what could never work: an id that is
not 8 bytes, an expiry already past, a window in which the token is never valid, an unknown
currency, a face value over what a redemption can take. `--key DIR` signs with the folder's
newest key, so the command stays the same after a rotation."""

import json
import time

import pytest

from sync.cli import main
from tests.sync.test_cli_tokens import keydir, private_key, run  # noqa: F401 - a fixture


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--business", "xyz"], "--business 'xyz' is not an id: an id is 8 bytes"),
        (["--subject", "0102"], "--subject '0102' is not an id: an id is 8 bytes"),
        (["--expires", "2020-01-01T00:00:00Z"], "--expires 2020-01-01T00:00:00Z is already past"),
        (["--days", "-3"], "--days -3: a token is valid for 1 day or more"),
        (["--days", "0"], "--days 0: a token is valid for 1 day or more"),
        (
            ["--not-before", "2030-01-01", "--expires", "2029-01-01"],
            "--not-before 2030-01-01 is not before the expiry (2029-01-01 00:00 UTC): the "
            "token would never be valid",
        ),
        (["--currency", "XYZ"], "--currency: unknown currency 'XYZ': use an ISO 4217 code"),
        (
            ["--kind", "voucher", "--face", "999999999"],
            "--face 999999999: £999,999,999.00 is too large for a voucher: its face value may "
            "be at most £100,000.00",
        ),
    ],
)
def test_what_could_never_work_is_refused_in_an_issuers_words(keydir, capsys, args, said):  # noqa: F811
    code, out, err = run(capsys, "token", "issue", "--key", str(private_key(keydir)), *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"tillpoint: {said}")
    assert "refuse it" not in err
    assert "Shorten" not in err


def test_the_largest_face_value_is_issued(keydir, capsys):  # noqa: F811
    key = str(private_key(keydir))
    code, out, _ = run(
        capsys, "token", "issue", "--key", key, "--kind", "voucher", "--face", "100000"
    )
    assert code == 0
    assert out.startswith("TP1:")


def test_key_as_a_folder_signs_with_its_newest_key(keydir, capsys):  # noqa: F811
    time.sleep(1.1)  # trust.json's dates are to the second
    assert main(["keys", "generate", "--out", str(keydir)]) == 0
    newest = json.loads((keydir / "trust.json").read_text())["keys"][-1]["kid"]
    capsys.readouterr()
    code, token, err = run(capsys, "token", "issue", "--key", str(keydir))
    assert code == 0, err
    assert "the newest key in" in err
    code, out, _ = run(capsys, "token", "inspect", token.strip())
    assert json.loads(out)["header"]["kid"] == newest


def test_key_as_a_folder_without_keys_says_how_to_make_one(tmp_path, capsys):
    code, _, err = run(capsys, "token", "issue", "--key", str(tmp_path))
    assert code == 2
    assert "holds no private key" in err
    assert "tillpoint keys generate --out" in err
