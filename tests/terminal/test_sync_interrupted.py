"""Ctrl+C in `tillpoint sync` says what was pushed, what still waits and to run it again, and
Ctrl+C while the command is still loading is not a traceback (audit ops #12)."""

from __future__ import annotations

import _thread
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import sync.cli
from sync.cli import main
from sync.tokens import id_text
from terminal.core.store import Pairing, TerminalStore
from tests.terminal.test_till_offline import BUSINESS

EXIT_INTERRUPTED = 130


class _Server(ThreadingHTTPServer):
    pushes = 0


class _Push(BaseHTTPRequestHandler):
    """Applies the first push; at the second, the person at the keyboard presses Ctrl+C."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.pushes += 1
        if self.server.pushes == 2:
            _thread.interrupt_main()  # Ctrl+C, while this batch is on its way
        results = [{"id": e["id"], "status": "applied", "detail": ""} for e in body["events"]]
        answer = json.dumps({"results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def server() -> Iterator[str]:
    with _Server(("127.0.0.1", 0), _Push) as serving:
        thread = threading.Thread(target=serving.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{serving.server_address[1]}"
        serving.shutdown()


def till_with_edits(path: Path, url: str, count: int) -> None:
    store = TerminalStore(path)
    store.save_pairing(
        Pairing(url, "dev", id_text(BUSINESS), "secret", Ed25519PrivateKey.generate())
    )
    for n in range(count):
        store.record_product_edit(f"product{n:04}", "Scone", 250, base_version=None)
    store.close()


def test_ctrl_c_in_sync_says_what_was_pushed_and_what_waits(tmp_path, server, capsys):
    data = tmp_path / "till.db"
    till_with_edits(data, server, 700)  # two batches: 500, then 200
    assert main(["sync", "--data", str(data)]) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    last = err.splitlines()[-1]
    assert last.startswith("tillpoint: interrupted: 500 events were pushed; ")
    assert "200 events wait in the outbox" in last
    assert "run `tillpoint sync` again" in last
    store = TerminalStore(data)
    assert store.pending_count() == 200  # the second batch is sent again: it is answered once
    store.close()


def test_ctrl_c_while_loading_the_commands_is_not_a_traceback(monkeypatch, capsys):
    def loading() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sync.cli, "build_parser", loading)
    assert main(["sync"]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "tillpoint: interrupted\n"


def test_a_fault_no_command_foresaw_is_said_as_one_with_an_exit_code_of_its_own(
    monkeypatch, capsys
):
    """A crash is not exit 1, which billing-run uses for "some businesses not billed": the
    job runner would take it for a run that worked."""

    def crashing() -> object:
        raise RuntimeError("column invoices.paid_at does not exist")

    monkeypatch.setattr(sync.cli, "build_parser", crashing)
    assert main(["server", "billing-run"]) == sync.cli.EXIT_FAULT == 70
    err = capsys.readouterr().err
    assert "RuntimeError: column invoices.paid_at does not exist" in err  # where, for a fix
    assert err.splitlines()[-1].startswith("tillpoint: this is a fault in Tillpoint")
