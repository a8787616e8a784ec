"""The real server in this process: `create_app` under uvicorn on 127.0.0.1, on a SQLite file
of the test's own, for a real till (its session, its command line) to talk to over HTTP. It
can be stopped, as a server goes down, and the till then finds nothing on its address; and
started again on the same files and port."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn
from sqlalchemy.orm import Session

from server import models as _models  # noqa: F401 - registers every table
from server.app import create_app
from server.db import Base, make_engine
from server.settings import Settings
from server.wallet.ledger import invariant_violations

__all__ = ["LiveServer"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """Started by `start()`, stopped by `stop()`, which checks that the ledger balances."""

    def __init__(self, tmp_path: Path, port: int | None = None) -> None:
        """On `tmp_path`'s database and keys; `port`: where a server stopped before
        answered, so its tills find this one (a restart)."""
        settings = Settings(
            data_dir=tmp_path / "server",
            argon2_time_cost=1,  # cheap password hashing: tests sign up several accounts
            argon2_memory_kib=64,
            billing_interval_seconds=0,  # nothing runs in the background but the requests
            notifications_interval_seconds=0,
            webhooks_interval_seconds=0,
        )
        self.engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
        Base.metadata.create_all(self.engine)
        self.port = port or _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, engine=self.engine),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="server", daemon=True)
        self._stopped = False

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop answering (the till finds nothing on its address); once is enough."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(30)
        with Session(self.engine) as session:
            assert invariant_violations(session) == [], "the ledger no longer balances"
        self.engine.dispose()
