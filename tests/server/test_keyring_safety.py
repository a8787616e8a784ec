"""The issuer keys never go quietly wrong: no first key is made beside a database whose gift
cards and vouchers were signed by other keys (a restore without the keys folder, a wrong
TILLPOINT_KEYS_DIR); rotations from several processes at once keep every key; a damaged
`keyring.json` or a listed key's missing file stops the start in one line naming the file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.db import make_engine
from server.keys.keyring import Keyring, KeyringDamaged, KeysMissing
from server.migrate import upgrade
from server.settings import normalise_database_url
from sync.cli import main
from tests.server.api import buy_card, buy_voucher, create_deal, open_shop, sign_up
from tests.server.conftest import url_of

NOT_JSON = "{not json"


def tillpoint(*argv: str) -> int:
    """`tillpoint ARGV...` in this process; what it exports to the environment is put back."""
    environment = dict(os.environ)
    try:
        return main(list(argv))
    finally:
        os.environ.clear()
        os.environ.update(environment)


def refusal(capsys: pytest.CaptureFixture[str]) -> str:
    """What the command said: one line on standard error, nothing on standard output."""
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("tillpoint: "), err
    assert err.count("\n") == 1, err
    return err


def sell(client: TestClient) -> None:
    """A gift card and a voucher sold: tokens in the database signed by the app's keys."""
    shop = open_shop(client)
    customer = sign_up(client, "customer")
    assert buy_card(customer, shop, 5000).status_code == 201
    deal = create_deal(shop)
    assert deal.status_code == 201, deal.text
    assert buy_voucher(customer, deal.json()["id"]).status_code == 201


@pytest.fixture
def sold(client) -> None:
    """A card and a voucher in the `engine` database, signed by the `settings` keys."""
    sell(client)


@pytest.fixture
def migrated(database_url, settings) -> str:
    """A database migrated as `tillpoint server migrate` does (the server starts on no
    other), a card and a voucher sold in it signed by the `settings` keys: its URL."""
    upgrade(normalise_database_url(database_url))
    engine = make_engine(database_url)
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            sell(client)
    finally:
        engine.dispose()
    return str(database_url)


@pytest.fixture
def on_the_database(engine, settings, monkeypatch) -> None:
    """An operator's shell set for the `engine` database and the `settings` data folder."""
    monkeypatch.setenv("DATABASE_URL", url_of(engine))
    monkeypatch.setenv("TILLPOINT_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("TILLPOINT_KEYS_DIR", raising=False)


def serve(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`tillpoint server` in a process of its own, run in `folder`, to its end (a server
    that starts is stopped after a while: it should not have)."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "sync.cli", "server", "--port", "0"],
            env={**os.environ, "TILLPOINT_DATA_DIR": str(folder / "data"), **env},
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the server started and served:\n{exc.stderr!r}") from None


# -- no first key beside the tokens of other keys ----------------------------------------


def test_a_server_beside_a_database_of_cards_makes_no_first_key(settings, engine, sold, tmp_path):
    restored = settings.model_copy(update={"data_dir": tmp_path / "restored"})
    with pytest.raises(KeysMissing) as refused:
        create_app(restored, engine=engine)
    keys = tmp_path / "restored" / "keys"
    assert str(refused.value) == (
        f"the keys folder {keys} is not there, yet the database holds 1 gift card and "
        "1 voucher signed by keys that are not in it: restore TILLPOINT_KEYS_DIR from the "
        "backup, or point TILLPOINT_KEYS_DIR at the folder that holds their keyring.json "
        "(no key was made)"
    )
    assert not keys.exists()


@pytest.mark.parametrize("action", ["rotate-keys", "run-jobs", "jobs --once"])
def test_an_action_beside_a_database_of_cards_makes_no_first_key(
    action, sold, on_the_database, tmp_path, monkeypatch, capsys
):
    typo = tmp_path / "keys-typo"
    monkeypatch.setenv("TILLPOINT_KEYS_DIR", str(typo))
    assert tillpoint("server", *action.split()) == 2
    said = refusal(capsys)
    assert f"the keys folder {typo} is not there, yet the database holds 1 gift card" in said
    assert "restore TILLPOINT_KEYS_DIR from the backup" in said
    assert not typo.exists()


def test_the_server_beside_a_database_of_cards_refuses_to_start_in_one_line(migrated, tmp_path):
    empty = tmp_path / "restored-keys"
    empty.mkdir()
    done = serve(tmp_path, {"DATABASE_URL": migrated, "TILLPOINT_KEYS_DIR": str(empty)})
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"tillpoint: the keys folder {empty} is empty, yet the database holds 1 gift card "
        "and 1 voucher signed by keys that are not in it: restore TILLPOINT_KEYS_DIR from "
        "the backup, or point TILLPOINT_KEYS_DIR at the folder that holds their keyring.json "
        "(no key was made)\n"
    )
    assert list(empty.iterdir()) == []


def test_rotate_keys_in_a_folder_of_no_server_is_refused_naming_it(tmp_path, monkeypatch, capsys):
    for name in ("DATABASE_URL", "TILLPOINT_DATA_DIR", "TILLPOINT_KEYS_DIR"):
        monkeypatch.delenv(name, raising=False)
    typo = tmp_path / "typo-dir"
    assert tillpoint("server", "rotate-keys", "--data-dir", str(typo)) == 2
    assert f"there is no database at {typo / 'tillpoint.db'}: pass --data-dir" in refusal(capsys)
    assert not typo.exists()


# -- a damaged keys folder -----------------------------------------------------------------


def test_an_index_that_is_not_json_is_named_with_what_to_do(tmp_path):
    Keyring.open(tmp_path / "keys")
    index = tmp_path / "keys" / "keyring.json"
    index.write_text(NOT_JSON)
    with pytest.raises(KeyringDamaged) as damaged:
        Keyring.open(tmp_path / "keys")
    assert str(damaged.value) == (
        f"the keyring index {index} is damaged (not JSON: Expecting property name enclosed in "
        "double quotes at line 1 column 2): restore it from the backup of the keys folder"
    )


def test_a_listed_key_whose_file_is_missing_stops_the_opening(tmp_path):
    Keyring.open(tmp_path / "keys")
    (private,) = (tmp_path / "keys").glob("*.private.pem")
    private.unlink()
    with pytest.raises(KeyringDamaged) as damaged:
        Keyring.open(tmp_path / "keys")
    assert str(private) in str(damaged.value)
    assert "restore it from the backup of the keys folder" in str(damaged.value)


def test_rotate_keys_on_an_index_that_is_not_json_says_which_file(
    settings, client, on_the_database, capsys
):
    index = settings.effective_keys_dir / "keyring.json"
    index.write_text(NOT_JSON)
    assert tillpoint("server", "rotate-keys") == 2
    assert refusal(capsys) == (
        f"tillpoint: the keyring index {index} is damaged (not JSON: Expecting property name "
        "enclosed in double quotes at line 1 column 2): restore it from the backup of the "
        "keys folder\n"
    )
    assert index.read_text() == NOT_JSON


@pytest.mark.parametrize("damage", ["index not JSON", "key file missing"])
def test_the_server_on_a_damaged_keys_folder_refuses_to_start_in_one_line(
    damage, settings, migrated, tmp_path
):
    keys = settings.effective_keys_dir
    if damage == "index not JSON":
        (keys / "keyring.json").write_text(NOT_JSON)
        named = keys / "keyring.json"
    else:
        (named,) = keys.glob("*.private.pem")
        named.unlink()
    done = serve(tmp_path, {"DATABASE_URL": migrated, "TILLPOINT_KEYS_DIR": str(keys)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("tillpoint: ")
    assert done.stderr.count("\n") == 1, done.stderr
    assert str(named) in done.stderr
    assert "restore it from the backup of the keys folder" in done.stderr


# -- several processes at once -------------------------------------------------------------

PROCESSES = 6
ROTATIONS = 4

# Each says it is ready, then waits for the go file: all of them act at the same moment.
AT_ONCE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from server.keys.keyring import Keyring
    folder, gate = Path(sys.argv[1]), Path(sys.argv[2])
    (gate / f"ready-{{os.getpid()}}").touch()
    while not (gate / "go").exists():
        time.sleep(0.001)
    for _ in range({times}):
        {action}
    """
)


def at_once(folder: Path, action: str, times: int = ROTATIONS) -> None:
    """`action` run `times` over in each of PROCESSES processes, all at once."""
    gate = folder.parent / "gate"
    gate.mkdir()
    script = AT_ONCE.format(times=times, action=action)
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(folder), str(gate)])
        for _ in range(PROCESSES)
    ]
    deadline = time.monotonic() + 60
    while len(list(gate.glob("ready-*"))) < PROCESSES and time.monotonic() < deadline:
        time.sleep(0.01)
    (gate / "go").touch()
    assert [p.wait(timeout=120) for p in processes] == [0] * PROCESSES


def test_rotations_from_several_processes_at_once_keep_every_key(tmp_path):
    folder = tmp_path / "keys"
    first = Keyring.open(folder).current()
    at_once(folder, "Keyring(folder).rotate()")
    on_disk = {p.name.split(".")[0] for p in folder.glob("*.private.pem")}
    assert len(on_disk) == 1 + PROCESSES * ROTATIONS
    keyring = Keyring.open(folder)
    assert {k.kid.hex() for k in keyring.trust_list() if k.kid is not None} == on_disk
    assert first.kid.hex() in on_disk
    assert list(folder.glob("*.tmp")) == []


def test_several_processes_opening_a_new_folder_at_once_make_one_first_key(tmp_path):
    folder = tmp_path / "keys"
    at_once(folder, "Keyring.open(folder)", times=1)  # a server's workers on first start
    assert len(list(folder.glob("*.private.pem"))) == 1
    assert len(Keyring.open(folder).trust_list()) == 1
